"""Driving the e-mail pipeline the way the worker does: fan out the new events, then send."""

from email.message import EmailMessage

from sqlalchemy import select

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.email.jobs import send_due
from kohort.event.jobs import fan_out
from kohort.models import EmailMessage as Outbox

BATCH = 50


async def plan(db: Database) -> None:
    while await fan_out(db, now=clock.now(), limit=BATCH) == BATCH:
        pass


async def send(db: Database, settings: Settings) -> int:
    total = 0
    while True:
        handled = await send_due(db, settings, now=clock.now(), limit=BATCH)
        total += handled
        if handled < BATCH:
            return total


async def deliver(db: Database, settings: Settings) -> None:
    await plan(db)
    await send(db, settings)


async def outbox(db: Database, organization_id: str) -> list[Outbox]:
    async with db.read() as session:
        stmt = (
            select(Outbox)
            .where(Outbox.organization_id == organization_id)
            .order_by(Outbox.created_at, Outbox.id)
        )
        return list((await session.execute(stmt)).scalars())


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative", message.get_content_type()
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def flat(text: str) -> str:
    """`text` with every run of whitespace (no-break spaces included) as one space."""
    return " ".join(text.split())
