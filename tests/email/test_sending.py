"""The outbox: retries on transient SMTP failures, none on permanent ones, nothing lost or
sent twice when the server is down, leases of dead workers, the .eml fallback, replays."""

from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import time_machine
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.email import repository
from kohort.email.jobs import LEASE, MAX_ATTEMPTS, RETRY_DELAYS, STALE_REMINDER
from kohort.email.service import (
    GROUP_REMINDER,
    plan_messages,
    verify_withdrawal_token,
    withdrawal_token,
)
from kohort.event.service import append_event
from kohort.group.jobs import remind
from kohort.models import Event, WithdrawalToken
from kohort.secret_key import secret_key
from tests.email.conftest import SMTPServer, free_port
from tests.email.mail import deliver, outbox, parts, plan, send
from tests.factories import Org
from tests.order.api import join, new_group, place_order


async def test_smtp_down_then_up_loses_nothing_and_sends_nothing_twice(
    mail_client: httpx.AsyncClient, mail_db: Database, mail_settings: Settings, shop: Org
) -> None:
    down = SMTPServer(free_port())
    settings = mail_settings.model_copy(update={"smtp_port": down.port})
    await deliver(mail_db, settings)
    for _ in range(3):
        await new_group(mail_client, shop.sk_test)
    await plan(mail_db)
    await send(mail_db, settings)
    rows = await outbox(mail_db, shop.id)
    assert [(r.status, r.attempts) for r in rows] == [("pending", 1)] * 3
    assert all(r.last_error and "Connect" in r.last_error for r in rows)
    assert await send(mail_db, settings) == 0

    down.start()
    try:
        with time_machine.travel(clock.now() + RETRY_DELAYS[0] + timedelta(seconds=1)):
            assert await send(mail_db, settings) == 3
            assert await send(mail_db, settings) == 0
        with time_machine.travel(clock.now() + timedelta(days=5)):
            assert await send(mail_db, settings) == 0
    finally:
        down.stop()
    rows = await outbox(mail_db, shop.id)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 2)] * 3
    ids = [m["Message-ID"] for m in down.inbox.messages]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert {i.strip("<>").partition("@")[0] for i in ids} == {r.id for r in rows}


async def test_a_permanent_refusal_fails_at_once_and_is_not_retried(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    smtp: SMTPServer,
    shop: Org,
) -> None:
    await deliver(mail_db, mail_settings)
    group = await new_group(mail_client, shop.sk_test)
    smtp.inbox.refuse[group["creatorEmail"]] = "550 5.1.1 No such user"
    await deliver(mail_db, mail_settings)
    [row] = await outbox(mail_db, shop.id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error is not None and row.last_error.startswith("550")
    with time_machine.travel(clock.now() + timedelta(days=3)):
        assert await send(mail_db, mail_settings) == 0
    assert smtp.inbox.to(group["creatorEmail"]) == []


async def test_a_temporary_refusal_is_retried_later(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    smtp: SMTPServer,
    shop: Org,
) -> None:
    await deliver(mail_db, mail_settings)
    group = await new_group(mail_client, shop.sk_test)
    smtp.inbox.data_replies.append("451 4.3.0 Try again later")
    start = clock.now()
    with time_machine.travel(start, tick=False):
        await deliver(mail_db, mail_settings)
    [row] = await outbox(mail_db, shop.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == start + RETRY_DELAYS[0]
    assert row.last_error is not None and row.last_error.startswith("451")
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert await send(mail_db, mail_settings) == 0
    with time_machine.travel(start + RETRY_DELAYS[0], tick=False):
        assert await send(mail_db, mail_settings) == 1
    [row] = await outbox(mail_db, shop.id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(smtp.inbox.to(group["creatorEmail"])) == 1


async def test_transient_failures_give_up_after_the_last_delay(
    mail_client: httpx.AsyncClient, mail_db: Database, mail_settings: Settings, shop: Org
) -> None:
    settings = mail_settings.model_copy(update={"smtp_port": free_port()})
    await deliver(mail_db, settings)
    await new_group(mail_client, shop.sk_test)
    await plan(mail_db)
    moment = clock.now()
    for delay in (timedelta(0), *RETRY_DELAYS):
        moment += delay
        with time_machine.travel(moment, tick=False):
            assert await send(mail_db, settings) == 1
    [row] = await outbox(mail_db, shop.id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert sum(RETRY_DELAYS, timedelta()) > timedelta(days=1, hours=18)


async def test_a_dead_workers_lease_runs_out_and_the_message_is_sent_once(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    smtp: SMTPServer,
    shop: Org,
) -> None:
    await deliver(mail_db, mail_settings)
    group = await new_group(mail_client, shop.sk_test)
    await plan(mail_db)
    start = clock.now()
    async with mail_db.write() as session:
        [leased] = await repository.claim_due(
            session, now=start, lease_until=start + LEASE, limit=10
        )
    with time_machine.travel(start + LEASE - timedelta(seconds=1), tick=False):
        assert await send(mail_db, mail_settings) == 0
    with time_machine.travel(start + LEASE, tick=False):
        assert await send(mail_db, mail_settings) == 1
    [row] = await outbox(mail_db, shop.id)
    assert (row.id, row.status, row.attempts) == (leased.id, "sent", 2)
    assert len(smtp.inbox.to(group["creatorEmail"])) == 1


async def test_without_smtp_each_message_is_written_as_an_eml_file(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    tmp_path: Path,
    shop: Org,
) -> None:
    settings = mail_settings.model_copy(update={"smtp_host": None, "data_dir": tmp_path})
    await deliver(mail_db, settings)
    creator = await place_order(mail_client, shop.sk_test, locale="de_DE")
    await join(mail_client, shop.sk_test, creator["paymentGroup"]["shareId"], locale="nl_NL")
    await deliver(mail_db, settings)
    rows = await outbox(mail_db, shop.id)
    assert {(r.kind, r.locale, r.status) for r in rows} == {
        ("NEW_GROUP", "de_DE", "sent"),
        ("JOIN_GROUP", "nl_NL", "sent"),
        ("NEW_LEVEL_UNLOCKED", "de_DE", "sent"),
    }
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert sorted(f.stem for f in files) == sorted(r.id for r in rows)
    subjects = set()
    for file in files:
        message = message_from_bytes(file.read_bytes(), policy=policy.default)
        text, html = parts(message)  # type: ignore[arg-type]
        assert "<html" in html and text.strip()
        subjects.add(str(message["Subject"]))
    code = creator["paymentGroup"]["shareId"]
    assert f"Ihre Gruppe {code} ist eröffnet: Teilen Sie sie und erhalten Sie Cashback" in subjects
    assert f"Je doet mee in de groep {code}" in subjects


async def test_a_replayed_fan_out_plans_no_second_message(
    mail_client: httpx.AsyncClient, mail_db: Database, mail_settings: Settings, shop: Org
) -> None:
    await deliver(mail_db, mail_settings)
    creator = await place_order(mail_client, shop.sk_test)
    await join(mail_client, shop.sk_test, creator["paymentGroup"]["shareId"])
    await plan(mail_db)
    before = {(r.event_id, r.recipient, r.kind) for r in await outbox(mail_db, shop.id)}
    assert len(before) == 3
    async with mail_db.write() as session:
        await session.execute(
            update(Event).where(Event.organization_id == shop.id).values(dispatched_at=None)
        )
    await plan(mail_db)
    async with mail_db.write() as session:
        events = await _events(session, shop.id)
        await plan_messages(session, events, now=clock.now())
    after = [(r.event_id, r.recipient, r.kind) for r in await outbox(mail_db, shop.id)]
    assert sorted(after) == sorted(before)


async def _events(session: AsyncSession, organization_id: str) -> list[Event]:
    stmt = select(Event).where(Event.organization_id == organization_id).order_by(Event.seq)
    return list((await session.execute(stmt)).scalars())


async def test_cashback_sent_is_mailed_and_a_withdrawal_token_is_single_use_and_expires(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    smtp: SMTPServer,
    shop: Org,
) -> None:
    await deliver(mail_db, mail_settings)
    creator = await place_order(mail_client, shop.sk_test, amount=8000, locale="en_US")
    await join(mail_client, shop.sk_test, creator["paymentGroup"]["shareId"])
    async with mail_db.write() as session:
        await append_event(
            session,
            type="order.cashback_sent",
            organization_id=shop.id,
            livemode=False,
            data={**creator, "amountCashback": 400, "status": "CASHBACK_SENT"},
        )
    await deliver(mail_db, mail_settings)
    [sent] = [
        m
        for m in smtp.inbox.to(creator["customerEmail"])
        if str(m["Subject"]) == "Your cashback of €4.00 is on its way"
    ]
    text, html = parts(sent)
    assert "€4.00" in text and "€80.00" in html

    async with mail_db.write() as session:
        now = clock.now()
        key = secret_key(mail_settings)
        token, expires_at = await withdrawal_token(
            session, order_id=creator["id"], key=key, now=now, valid_days=90
        )
        again = await withdrawal_token(
            session, order_id=creator["id"], key=key, now=now + timedelta(days=1), valid_days=90
        )
        assert again == (token, expires_at) and expires_at == now + timedelta(days=90)
        assert await verify_withdrawal_token(session, creator["id"], token, now)
        assert not await verify_withdrawal_token(session, creator["id"], token, expires_at)
        await session.execute(
            update(WithdrawalToken)
            .where(WithdrawalToken.order_id == creator["id"])
            .values(used_at=now)
        )
        assert not await verify_withdrawal_token(session, creator["id"], token, now)
        assert not await verify_withdrawal_token(session, "ord_unknown", token, now)


async def test_an_outcome_is_not_recorded_over_a_lease_taken_over(
    mail_client: httpx.AsyncClient, mail_db: Database, mail_settings: Settings, shop: Org
) -> None:
    await deliver(mail_db, mail_settings)
    await new_group(mail_client, shop.sk_test)
    await new_group(mail_client, shop.sk_test)
    await plan(mail_db)
    start = clock.now()
    async with mail_db.write() as session:
        first = await repository.claim_due(session, now=start, lease_until=start + LEASE, limit=10)
    later = start + LEASE
    async with mail_db.write() as session:
        again = await repository.claim_due(session, now=later, lease_until=later + LEASE, limit=1)
    sent = {"status": repository.SENT, "sent_at": later, "last_error": None}
    async with mail_db.write() as session:
        stale = [(m.id, 1) for m in first]
        assert await repository.finish_attempts(session, stale, values=sent) == {
            m.id for m in first if m.id != again[0].id
        }
        assert await repository.finish_attempts(session, [(again[0].id, 2)], values=sent) == {
            again[0].id
        }
    rows = await outbox(mail_db, shop.id)
    assert sorted((r.status, r.attempts) for r in rows) == [("sent", 1), ("sent", 2)]


async def test_a_reminder_to_a_group_joined_before_it_is_sent_is_skipped(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    smtp: SMTPServer,
    shop: Org,
) -> None:
    """A reminder says "you are still alone": when a friend joins between the reminder's
    planning and its sending (a backlog, SMTP retries), it is recorded as skipped, not sent;
    the other group's reminder still goes out."""
    await deliver(mail_db, mail_settings)
    joined = await new_group(mail_client, shop.sk_test)
    lonely = await new_group(mail_client, shop.sk_test)
    await deliver(mail_db, mail_settings)
    with time_machine.travel(datetime.fromisoformat(joined["midExpireAt"]) + timedelta(seconds=1)):
        for group in (joined, lonely):
            assert await remind(mail_db, group["id"], now=clock.now())
        await plan(mail_db)
        reminders = [r for r in await outbox(mail_db, shop.id) if r.kind == GROUP_REMINDER]
        assert [r.status for r in reminders] == ["pending", "pending"]
        friend = await join(mail_client, shop.sk_test, joined["shareId"])
        await send(mail_db, mail_settings)
    rows = {r.recipient: r for r in await outbox(mail_db, shop.id) if r.kind == GROUP_REMINDER}
    assert rows[joined["creatorEmail"]].status == "skipped"
    assert rows[joined["creatorEmail"]].last_error == STALE_REMINDER
    assert rows[lonely["creatorEmail"]].status == "sent"
    assert len(smtp.inbox.to(lonely["creatorEmail"])) == 2  # welcome, then the reminder
    assert len(smtp.inbox.to(joined["creatorEmail"])) == 1  # the welcome only
    assert friend["joinError"] is None


async def test_a_reminder_to_a_group_joined_before_it_is_planned_is_not_planned(
    mail_client: httpx.AsyncClient, mail_db: Database, mail_settings: Settings, shop: Org
) -> None:
    await deliver(mail_db, mail_settings)
    group = await new_group(mail_client, shop.sk_test)
    with time_machine.travel(datetime.fromisoformat(group["midExpireAt"]) + timedelta(seconds=1)):
        assert await remind(mail_db, group["id"], now=clock.now())
        await join(mail_client, shop.sk_test, group["shareId"])
        await plan(mail_db)
    kinds = [r.kind for r in await outbox(mail_db, shop.id) if r.recipient == group["creatorEmail"]]
    assert "NEW_GROUP" in kinds and GROUP_REMINDER not in kinds
