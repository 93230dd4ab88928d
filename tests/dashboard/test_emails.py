"""The E-mails pages: every shopper e-mail previewed in every language from the real
templates and rendering (nothing written to the outbox), its HTML in a frame only the
dashboard may show; the outbox of the organization and mode, filtered and paged; a failed
message sent again as `kohort email retry-failed` does, recorded in the audit log."""

import html
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kohort import clock
from kohort.config import Settings
from kohort.dashboard.emails import sample_facts, sample_links
from kohort.db import Database
from kohort.email import jobs, repository
from kohort.email.rendering import LOCALES, render
from kohort.email.service import CASHBACK_AVAILABLE, KINDS, NEW_GROUP, USER_INVITATION
from kohort.group_settings import service as group_settings
from kohort.ids import new_id
from kohort.main import create_app
from kohort.models import AuditEntry, EmailMessage
from kohort.organization import repository as organizations
from tests.conftest import fresh_database_url, migrated_database
from tests.dashboard.conftest import ORIGIN, csrf_of, make_user, sign_in
from tests.email.conftest import SMTPServer, free_port
from tests.factories import Org, make_organization
from tests.group_settings.api import levels, patched


async def outbox_count(db: Database, org: Org) -> int:
    async with db.read() as session:
        stmt = select(func.count()).where(EmailMessage.organization_id == org.id)
        return int((await session.execute(stmt)).scalar_one())


async def expected_subject(
    db: Database, settings: Settings, org: Org, kind: str, locale: str
) -> str:
    """The subject the real rendering gives for the page's sample facts (test mode)."""
    now = clock.now()
    async with db.read() as session:
        shop = await organizations.get_by_id(session, org.id)
        found = await group_settings.get_settings(session, organization_id=org.id, livemode=False)
    assert shop is not None
    facts = {
        **sample_facts(kind, found, code="KHT-test-1A2B3C4D", now=now),
        **sample_links(settings, now),
    }
    context = jobs.shopper_context(
        settings, data=facts, shop=shop, locale=locale, livemode=False, now=now
    )
    return render(kind, locale, context).subject


def subject_of(page: str) -> str:
    found = re.search(r'<p class="email-subject"[^>]*>([^<]*)</p>', page)
    assert found, page
    return html.unescape(found.group(1))


async def test_every_kind_previews_in_every_language_from_the_real_templates(
    browser: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    await sign_in(browser, await make_user(db, org, role="viewer"))
    index = await browser.get(f"/dashboard/o/{org.id}/emails")
    assert index.status_code == 200, index.text
    base = f"/dashboard/o/{org.id}/emails/preview"
    for kind in KINDS:
        for locale in LOCALES:
            path = f"{base}/{kind.lower()}/{locale}"
            assert f'href="{path}"' in index.text
            page = await browser.get(path)
            assert page.status_code == 200, (kind, locale, page.text)
            assert subject_of(page.text) == await expected_subject(db, settings, org, kind, locale)
            assert f'<iframe class="email-frame" sandbox src="{path}/html"' in page.text
    assert await outbox_count(db, org) == 0


async def test_a_preview_states_the_organizations_name_code_and_levels(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await patched(
        client, org, {"discountType": "PERCENTAGE", "discountLevels": levels((2, 10), (4, 25))}
    )
    await sign_in(browser, await make_user(db, org))
    base = f"/dashboard/o/{org.id}/emails/preview"
    page = await browser.get(f"{base}/new_group/fr_FR")
    assert "KHT-test-1A2B3C4D" in subject_of(page.text)
    text = " ".join(html.unescape(page.text).replace("\u202f", " ").replace("\xa0", " ").split())
    assert "2 participants : 8,00 €" in text and "4 participants : 20,00 €" in text
    assert "Test Shop" in text
    raw = await browser.get(f"{base}/new_group/fr_FR/html")
    assert raw.status_code == 200
    assert '<html lang="fr">' in raw.text and "Test Shop" in raw.text
    assert "20,00" in raw.text and "<script" not in raw.text
    assert raw.headers["x-frame-options"] == "SAMEORIGIN"
    policy = raw.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "default-src 'none'" in policy
    assert "script-src" not in policy
    for other in (page, await browser.get(f"{base}/new_group/fr_FR/html/x")):
        assert other.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in other.headers["content-security-policy"]

    live = await browser.get(f"{base}/join_group/en_US")
    assert "You joined the group KHT-test-1A2B3C4D" in subject_of(live.text)
    reminders = {
        subject_of((await browser.get(f"{base}/group_reminder/en_US?moment={m}")).text)
        for m in ("MIDWAY_SENT", "DAY3_SENT", "DAY2_BEFORE_END_SENT")
    }
    assert len(reminders) == 3
    await browser.post(
        f"/dashboard/o/{org.id}/mode", data={"csrf": csrf_of(page.text), "mode": "live"}
    )
    live = await browser.get(f"{base}/join_group/en_US")
    assert "You joined the group KHT-1A2B3C4D" in subject_of(live.text)
    assert await outbox_count(db, org) == 0


@pytest.mark.parametrize(
    "path",
    [
        "emails/preview/nope/fr_FR",
        "emails/preview/new_group/pt_BR",
        "emails/preview/NEW_GROUP/fr_FR",
        "emails/preview/user_invitation/fr_FR",
        "emails/preview/new_group/xx/html",
        "emails/outbox/msg_unknown",
    ],
)
async def test_an_unknown_kind_locale_or_message_is_the_404_page(
    browser: httpx.AsyncClient, db: Database, org: Org, path: str
) -> None:
    await sign_in(browser, await make_user(db, org))
    page = await browser.get(f"/dashboard/o/{org.id}/{path}")
    assert page.status_code == 404
    assert "<!doctype html>" in page.text


async def seed(db: Database, org: Org, *, livemode: bool = False, **values: Any) -> EmailMessage:
    """One outbox row, as the planner writes them (test mode, a NEW_GROUP, failed)."""
    now = clock.now()
    row = {
        "id": new_id("msg"),
        "organization_id": org.id,
        "livemode": livemode,
        "event_id": new_id("evt"),
        "kind": NEW_GROUP,
        "recipient": f"shopper-{secrets.token_hex(3)}@example.com",
        "locale": "fr_FR",
        "data": {},
        "status": repository.FAILED,
        "attempts": 9,
        "next_attempt_at": now,
        "last_error": "550 5.1.1 No such user",
        "sent_at": None,
        "created_at": now,
        **values,
    }
    async with db.write() as session:
        await repository.add_messages(session, [row])
    async with db.read() as session:
        found = await session.get(EmailMessage, row["id"])
    assert found is not None
    return found


async def reload(db: Database, message_id: str) -> EmailMessage:
    async with db.read() as session:
        found = await session.get(EmailMessage, message_id, populate_existing=True)
    assert found is not None
    return found


def listed_ids(page: str) -> list[str]:
    return re.findall(r'/outbox/(msg_[A-Za-z0-9]+)">', page)


async def test_the_outbox_lists_this_modes_messages_newest_first_with_filters(
    browser: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    start = clock.now() - timedelta(hours=1)
    failed = await seed(db, org, created_at=start, recipient="ana@example.com")
    sent = await seed(
        db,
        org,
        status=repository.SENT,
        attempts=1,
        last_error=None,
        sent_at=start + timedelta(minutes=2),
        created_at=start + timedelta(minutes=1),
        kind="JOIN_GROUP",
    )
    pending = await seed(
        db, org, status=repository.PENDING, attempts=0, created_at=start + timedelta(minutes=2)
    )
    live = await seed(db, org, livemode=True)
    elsewhere = await seed(db, other_org)
    await sign_in(browser, await make_user(db, org, role="viewer"))
    url = f"/dashboard/o/{org.id}/emails/outbox"

    page = await browser.get(url)
    assert page.status_code == 200, page.text
    assert listed_ids(page.text) == [pending.id, sent.id, failed.id]
    assert live.id not in page.text and elsewhere.id not in page.text
    assert "550 5.1.1 No such user" in page.text
    assert listed_ids((await browser.get(url, params={"status": "failed"})).text) == [failed.id]
    assert listed_ids((await browser.get(url, params={"kind": "JOIN_GROUP"})).text) == [sent.id]
    by_recipient = await browser.get(url, params={"recipient": "ANA@example"})
    assert listed_ids(by_recipient.text) == [failed.id]
    oldest_first = await browser.get(url, params={"sort": "createdAt", "dir": "asc"})
    assert listed_ids(oldest_first.text) == [failed.id, sent.id, pending.id]
    bad = await browser.get(url, params={"status": "lost", "page": "99999999999", "sort": "x"})
    assert bad.status_code == 200
    assert "This filter is not one of the list" in bad.text
    assert listed_ids(bad.text) == [pending.id, sent.id, failed.id]
    assert (
        "Send again" not in page.text
        and 'method="post" action="/dashboard/o/' not in (page.text.split("<main", 1)[1])
    )

    detail = await browser.get(f"{url}/{failed.id}")
    assert detail.status_code == 200
    assert failed.recipient in detail.text and "550 5.1.1 No such user" in detail.text
    assert (await browser.get(f"{url}/{live.id}")).status_code == 404
    assert (await browser.get(f"{url}/{elsewhere.id}")).status_code == 404


async def test_the_outbox_pages(browser: httpx.AsyncClient, db: Database, org: Org) -> None:
    start = clock.now() - timedelta(days=1)
    ids = [
        (await seed(db, org, created_at=start + timedelta(minutes=n), kind="CASHBACK_SENT")).id
        for n in range(27)
    ]
    await sign_in(browser, await make_user(db, org))
    url = f"/dashboard/o/{org.id}/emails/outbox"
    first = await browser.get(url, params={"kind": "CASHBACK_SENT"})
    assert listed_ids(first.text) == ids[::-1][:25]
    assert "1–25 of 27"  # noqa: RUF001 in first.text
    second = await browser.get(url, params={"kind": "CASHBACK_SENT", "page": "2"})
    assert listed_ids(second.text) == ids[1::-1]


async def test_a_failed_message_is_sent_again_and_recorded(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    failed = await seed(db, org)
    owner = await make_user(db, org, role="admin")
    await sign_in(browser, owner)
    url = f"/dashboard/o/{org.id}/emails/outbox"
    page = await browser.get(url, params={"status": "failed"})
    assert f'action="{url}/{failed.id}/resend"' in page.text
    before = clock.now()
    answer = await browser.post(
        f"{url}/{failed.id}/resend",
        data={"csrf": csrf_of(page.text), "next": f"{url}?status=failed"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{url}?status=failed&done=resent"
    row = await reload(db, failed.id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, failed.last_error)
    assert before <= row.next_attempt_at <= clock.now()
    async with db.read() as session:
        stmt = select(AuditEntry).where(AuditEntry.target_id == failed.id)
        [entry] = (await session.execute(stmt)).scalars()
    assert (entry.action, entry.actor_type, entry.actor_label) == (
        "email_message.resent",
        "user",
        owner,
    )
    assert (entry.organization_id, entry.livemode) == (org.id, False)
    assert entry.changes == {
        "status": {"from": "failed", "to": "pending"},
        "attempts": {"from": 9, "to": 0},
    }
    shown = await browser.get(answer.headers["location"])
    assert "The e-mail will be sent again in a moment." in shown.text

    again = await browser.post(
        f"{url}/{failed.id}/resend", data={"csrf": csrf_of(page.text), "next": "https://evil/"}
    )
    assert again.headers["location"] == f"{url}?error=not_failed"
    refused = await browser.get(again.headers["location"])
    assert "Only a failed e-mail can be sent again." in refused.text
    assert (await reload(db, failed.id)).status == "pending"
    async with db.read() as session:
        stmt = select(func.count()).where(AuditEntry.target_id == failed.id)
        assert (await session.execute(stmt)).scalar_one() == 1


async def test_a_viewer_sees_no_resend_and_its_post_is_refused(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    failed = await seed(db, org)
    await sign_in(browser, await make_user(db, org, role="viewer"))
    url = f"/dashboard/o/{org.id}/emails/outbox"
    listed = await browser.get(url)
    page = await browser.get(f"{url}/{failed.id}")
    assert "/resend" not in listed.text and "/resend" not in page.text
    answer = await browser.post(f"{url}/{failed.id}/resend", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 403
    assert (await reload(db, failed.id)).status == "failed"


async def test_another_organizations_outbox_and_messages_are_not_found(
    browser: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    failed = await seed(db, org)
    elsewhere = await seed(db, other_org)
    await sign_in(browser, await make_user(db, org))
    url = f"/dashboard/o/{org.id}/emails/outbox"
    csrf = csrf_of((await browser.get(url)).text)
    other = f"/dashboard/o/{other_org.id}/emails"
    for path in (other, f"{other}/outbox", f"{other}/preview/new_group/fr_FR"):
        assert (await browser.get(path)).status_code == 404
    refused = await browser.post(f"{other}/outbox/{elsewhere.id}/resend", data={"csrf": csrf})
    assert refused.status_code == 404
    crossed = await browser.post(f"{url}/{elsewhere.id}/resend", data={"csrf": csrf})
    assert crossed.status_code == 404
    no_csrf = await browser.post(f"{url}/{failed.id}/resend", data={})
    assert no_csrf.status_code == 403
    assert (await reload(db, elsewhere.id)).status == "failed"
    assert (await reload(db, failed.id)).status == "failed"


async def test_messages_with_a_personal_link_never_show_their_content(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    invitation = await seed(
        db,
        org,
        livemode=True,
        kind=USER_INVITATION,
        locale="en_US",
        data={"organization": "Test Shop", "role": "viewer", "days": 7, "tokenId": "tok_secret1"},
    )
    cashback = await seed(
        db,
        org,
        livemode=True,
        kind=CASHBACK_AVAILABLE,
        data={"orderId": "ord_1", "code": "KHT-1", "amount": 100, "cashback": 10},
    )
    joined = await seed(
        db,
        org,
        livemode=True,
        kind="JOIN_GROUP",
        locale="en_US",
        data={
            "code": "KHT-AB12CD34",
            "participants": 1,
            "amount": 5000,
            "currency": "EUR",
            "expiresAt": clock.now().isoformat(),
            "levels": [],
            "level": None,
            "nextLevel": None,
        },
    )
    await sign_in(browser, await make_user(db, org))
    first = await browser.get(f"/dashboard/o/{org.id}/emails/outbox")
    await browser.post(
        f"/dashboard/o/{org.id}/mode", data={"csrf": csrf_of(first.text), "mode": "live"}
    )
    url = f"/dashboard/o/{org.id}/emails/outbox"
    listed = await browser.get(url)
    assert invitation.recipient in listed.text and "Team invitation" in listed.text
    for message in (invitation, cashback):
        detail = await browser.get(f"{url}/{message.id}")
        assert detail.status_code == 200
        assert "its content is not shown" in detail.text
        assert "tok_secret1" not in detail.text and "?token=" not in detail.text
        assert "/invitations/" not in detail.text
    detail = await browser.get(f"{url}/{joined.id}")
    assert "You joined the group KHT-AB12CD34" in html.unescape(detail.text)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail_settings(tmp_path_factory: pytest.TempPathFactory, smtp: SMTPServer) -> Settings:
    """A database of its own: the sender claims every due message of the database."""
    folder: Path = tmp_path_factory.mktemp("dashboard_mail")
    return Settings(
        database_url=fresh_database_url(folder, "_dashboard_emails"),
        data_dir=folder,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_timeout_seconds=5,
        mail_from="Kohort <no-reply@cashback.example>",
    )


@pytest.fixture(scope="module")
async def mail_db(mail_settings: Settings) -> AsyncIterator[Database]:
    async with migrated_database(mail_settings) as database:
        yield database


async def test_a_resent_message_is_sent_by_the_worker(
    mail_settings: Settings, mail_db: Database, smtp: SMTPServer
) -> None:
    shop = await make_organization(mail_db, name="Chez Ada")
    async with mail_db.read() as session:
        found = await group_settings.get_settings(session, organization_id=shop.id, livemode=False)
    facts = sample_facts(NEW_GROUP, found, code="KHT-test-00C0FFEE", now=clock.now())
    failed = await seed(mail_db, shop, data=facts, recipient="ada@example.com")
    app = create_app(mail_settings, database=mail_db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN}
    ) as browser:
        await sign_in(browser, await make_user(mail_db, shop))
        url = f"/dashboard/o/{shop.id}/emails/outbox"
        page = await browser.get(f"{url}/{failed.id}")
        assert "Votre groupe KHT-test-00C0FFEE est ouvert" in html.unescape(page.text)
        answer = await browser.post(f"{url}/{failed.id}/resend", data={"csrf": csrf_of(page.text)})
        assert answer.status_code == 303
    assert await jobs.send_due(mail_db, mail_settings, now=clock.now(), limit=10) == 1
    [received] = smtp.inbox.to("ada@example.com")
    assert "KHT-test-00C0FFEE" in str(received["Subject"])
    row = await reload(mail_db, failed.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
