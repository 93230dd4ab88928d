"""A shop's sender name that cannot be a display name (CR/LF, stored before the API refused
control characters) never stops its e-mails: they go from KOHORT_MAIL_FROM alone, in both
modes, withdrawal links included; messages that failed for it can be sent again."""

import asyncio
import os
import sys
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from kohort.config import Settings
from kohort.db import Database
from kohort.email import repository
from kohort.models import EmailMessage as Outbox
from kohort.models import Organization
from tests.email.conftest import SMTPServer
from tests.email.mail import deliver, flat, outbox, parts, send
from tests.factories import Org, make_organization
from tests.group_settings.api import patched
from tests.order.api import join, new_group

KOHORT = str(Path(sys.executable).with_name("kohort"))
REPO = Path(__file__).resolve().parents[2]
POISON = "Evil\r\nBcc: x@evil.example"
COMPOSE_FAILURE = "cannot compose: ValueError: address parts cannot contain CR or LF"


async def _poison(db: Database, org: Org, **values: str | None) -> None:
    """What a PATCH could store before control characters were refused."""
    async with db.write() as session:
        await session.execute(
            update(Organization).where(Organization.id == org.id).values(**values)
        )


@pytest.fixture
async def other_shop(mail_db: Database) -> Org:
    return await make_organization(mail_db, name="Chez Bob")


def _of(smtp: SMTPServer, *recipients: str) -> list[EmailMessage]:
    return smtp.inbox.to(*recipients)


@pytest.mark.parametrize(
    "poisoned",
    [{"from_email_name": POISON}, {"name": "Chez\nAda", "from_email_name": None}],
    ids=["fromEmailName with CRLF", "name with LF"],
)
@pytest.mark.parametrize("mode", ["test", "live"])
async def test_an_unusable_sender_name_falls_back_to_the_configured_sender(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    smtp: SMTPServer,
    shop: Org,
    poisoned: dict[str, str | None],
    mode: str,
) -> None:
    key = shop.sk_test if mode == "test" else shop.sk_live
    await patched(
        mail_client,
        shop,
        {"maxParticipants": 2, "discountLevels": [{"participantsToUnlock": 2, "value": 5}]},
        key,
    )
    await _poison(mail_db, shop, **poisoned)
    group = await new_group(mail_client, key)
    friend = await join(mail_client, key, group["shareId"])
    await deliver(mail_db, mail_settings)
    await deliver(mail_db, mail_settings)

    rows = await outbox(mail_db, shop.id)
    kinds = {row.kind for row in rows}
    assert {"NEW_GROUP", "JOIN_GROUP", "CASHBACK_AVAILABLE"} <= kinds, kinds
    assert {(row.status, row.last_error) for row in rows} == {("sent", None)}
    received = _of(smtp, group["creatorEmail"], friend["customerEmail"])
    assert len(received) == len(rows)
    for message in received:
        assert str(message["From"]) == mail_settings.mail_from
        assert message["Bcc"] is None
        assert "evil.example" not in str(message["From"]) + str(message["To"])
    cashback = [m for m in received if "/w/" in parts(m)[0]]
    assert len(cashback) == 2, "each member's withdrawal link was sent"
    shown = "Evil Bcc: x@evil.example" if poisoned.get("from_email_name") else "Chez Ada"
    assert shown in flat(parts(received[0])[0])


async def test_a_usable_sender_name_is_still_the_display_name(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    smtp: SMTPServer,
    shop: Org,
) -> None:
    await _poison(mail_db, shop, from_email_name="Léa de Chez Ada")
    group = await new_group(mail_client, shop.sk_test)
    await deliver(mail_db, mail_settings)
    [message] = _of(smtp, group["creatorEmail"])
    assert message["From"].addresses[0].display_name == "Léa de Chez Ada"
    assert message["From"].addresses[0].addr_spec == "no-reply@cashback.example"


async def _cli(settings: Settings, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "KOHORT_DATABASE_URL": settings.database_url,
        "KOHORT_DATA_DIR": str(settings.data_dir),
    }
    process = await asyncio.create_subprocess_exec(
        KOHORT,
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_messages_failed_for_it_are_sent_again_by_retry_failed(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    smtp: SMTPServer,
    shop: Org,
    other_shop: Org,
) -> None:
    groups = [await new_group(mail_client, shop.sk_test) for _ in range(2)]
    other = await new_group(mail_client, other_shop.sk_live)
    await deliver(mail_db, mail_settings)
    poisoned, refused = await outbox(mail_db, shop.id)
    [elsewhere] = await outbox(mail_db, other_shop.id)
    async with mail_db.write() as session:
        for row, error in (
            (poisoned, COMPOSE_FAILURE),
            (refused, "550 5.1.1 No such user"),
            (elsewhere, COMPOSE_FAILURE),
        ):
            await session.execute(
                update(Outbox)
                .where(Outbox.id == row.id)
                .values(status=repository.FAILED, attempts=1, last_error=error)
            )
    smtp.inbox.messages.clear()

    code, output = await _cli(
        mail_settings,
        "email",
        "retry-failed",
        "--organization",
        shop.id,
        "--error-contains",
        "cannot compose",
    )
    assert code == 0, output
    assert "1 failed e-mail(s) will be sent again." in output
    assert await send(mail_db, mail_settings) == 1

    rows = {row.id: row for row in await outbox(mail_db, shop.id)}
    again, still_refused = rows[poisoned.id], rows[refused.id]
    assert (again.id, again.status, again.attempts, again.last_error) == (
        poisoned.id,
        "sent",
        1,
        None,
    )
    assert (still_refused.status, still_refused.last_error) == ("failed", "550 5.1.1 No such user")
    assert [m["To"] for m in smtp.inbox.messages] == [poisoned.recipient]
    assert poisoned.recipient in {group["creatorEmail"] for group in groups}
    [untouched] = await outbox(mail_db, other_shop.id)
    assert untouched.status == "failed"

    code, output = await _cli(mail_settings, "email", "retry-failed")
    assert code == 0, output
    assert "2 failed e-mail(s) will be sent again." in output
    assert await send(mail_db, mail_settings) == 2
    assert {r.status for r in await outbox(mail_db, other_shop.id)} == {"sent"}
    assert other["creatorEmail"] in {str(m["To"]) for m in smtp.inbox.messages}
