"""Signing in and out, sessions, CSRF and Origin, roles, organizations, the mode switch,
invitations, password resets, TOTP, through the real app."""

from datetime import timedelta

import httpx
import pyotp
import time_machine
from sqlalchemy import select, update

from kohort import clock
from kohort.config import Settings
from kohort.dashboard_user import throttling, tokens
from kohort.db import Database
from kohort.models import AuditEntry, DashboardSession, EmailMessage, Membership
from tests.dashboard.conftest import csrf_of, make_user, sign_in
from tests.factories import Org


async def test_sign_in_then_out_revokes_the_session(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    email = await make_user(db, org)
    signed = await sign_in(browser, email)
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "kohort_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = await browser.get("/dashboard")
    assert home.headers["location"] == f"/dashboard/o/{org.id}/overview"
    team = await browser.get(f"/dashboard/o/{org.id}/team")
    assert team.status_code == 200 and email in team.text
    assert "script-src 'self'" in team.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in team.headers["content-security-policy"]
    assert team.headers["cache-control"] == "no-store"
    token = browser.cookies["kohort_session"]
    out = await browser.post("/dashboard/sign-out", data={"csrf": csrf_of(team.text)})
    assert out.status_code == 303
    browser.cookies.set("kohort_session", token)
    again = await browser.get(f"/dashboard/o/{org.id}/team")
    assert again.status_code == 303 and again.headers["location"].startswith("/dashboard/sign-in")


async def test_a_wrong_password_is_refused(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    email = await make_user(db, org)
    refused = await sign_in(browser, email, "not the password")
    assert refused.status_code == 401 and "Wrong e-mail or password." in refused.text
    assert "kohort_session" not in browser.cookies


async def test_failures_block_the_account_then_the_right_password_waits(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    email = await make_user(db, org)
    for _ in range(throttling.ACCOUNT_FREE_FAILURES + 1):
        await sign_in(browser, email, "wrong password!")
    blocked = await sign_in(browser, email)
    assert blocked.status_code == 429
    with time_machine.travel(clock.now() + timedelta(minutes=2), tick=False):
        assert (await sign_in(browser, email)).status_code == 303


async def test_failures_from_one_address_block_that_address(
    app: object, db: Database, org: Org
) -> None:
    transport = httpx.ASGITransport(app=app, client=("10.9.9.9", 1))  # type: ignore[arg-type]
    headers = {"Origin": "http://kohort.test"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://kohort.test", headers=headers
    ) as client:
        for index in range(throttling.ADDRESS_FREE_FAILURES + 1):
            await sign_in(client, f"nobody{index}@shop.example", "wrong password!")
        email = await make_user(db, org)
        assert (await sign_in(client, email)).status_code == 429


async def test_idle_and_absolute_expiry_end_the_session(
    browser: httpx.AsyncClient, db: Database, org: Org, settings: Settings
) -> None:
    email = await make_user(db, org)
    await sign_in(browser, email)
    assert (await browser.get("/dashboard")).headers["location"].endswith("/overview")
    async with db.write() as session:
        await session.execute(
            update(DashboardSession)
            .where(
                DashboardSession.user_id.in_(
                    select(Membership.user_id).where(Membership.organization_id == org.id)
                )
            )
            .values(
                last_seen_at=clock.now()
                - timedelta(minutes=settings.dashboard_session_idle_minutes + 1)
            )
        )
    assert (await browser.get("/dashboard")).headers["location"].startswith("/dashboard/sign-in")
    await sign_in(browser, email)
    later = clock.now() + timedelta(hours=settings.dashboard_session_absolute_hours, minutes=1)
    with time_machine.travel(later, tick=False):
        async with db.write() as session:
            await session.execute(update(DashboardSession).values(last_seen_at=clock.now()))
        assert (
            (await browser.get("/dashboard")).headers["location"].startswith("/dashboard/sign-in")
        )


async def test_a_post_without_or_with_a_wrong_csrf_token_changes_nothing(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    email = await make_user(db, org)
    await sign_in(browser, email)
    url = f"/dashboard/o/{org.id}/team/invitations"
    for data in (
        {"email": "x@shop.example", "role": "admin"},
        {"csrf": "wrong", "email": "x@shop.example", "role": "admin"},
    ):
        refused = await browser.post(url, data=data)
        assert refused.status_code == 403 and "Request refused" in refused.text
    async with db.read() as session:
        assert not (
            await session.execute(
                select(EmailMessage).where(EmailMessage.organization_id == org.id)
            )
        ).first()


async def test_a_post_from_another_origin_is_refused(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    email = await make_user(db, org)
    await sign_in(browser, email)
    team = await browser.get(f"/dashboard/o/{org.id}/team")
    refused = await browser.post(
        f"/dashboard/o/{org.id}/mode",
        data={"csrf": csrf_of(team.text), "mode": "live"},
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    no_origin = httpx.Headers({"Origin": "null"})
    assert (await browser.post("/dashboard/sign-in", data={}, headers=no_origin)).status_code == 403


async def test_viewers_and_admins_cannot_change_the_team(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    owner = await make_user(db, org)
    for role in ("viewer", "admin"):
        email = await make_user(db, org, role)
        await sign_in(browser, email)
        team = await browser.get(f"/dashboard/o/{org.id}/team")
        assert (
            team.status_code == 200
            and owner in team.text
            and "Send the invitation" not in team.text
        )
        refused = await browser.post(
            f"/dashboard/o/{org.id}/team/invitations",
            data={"csrf": csrf_of(team.text), "email": "x@shop.example", "role": "owner"},
        )
        assert refused.status_code == 403 and "does not allow" in refused.text
        await browser.post("/dashboard/sign-out", data={"csrf": csrf_of(team.text)})


async def test_another_organizations_pages_are_not_found(
    browser: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    await make_user(db, other_org)
    email = await make_user(db, org)
    await sign_in(browser, email)
    theirs = await browser.get(f"/dashboard/o/{other_org.id}/team")
    unknown = await browser.get("/dashboard/o/org_00000000000000/team")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.text.replace(other_org.id, "").count("Page not found") == 1


async def test_the_mode_switch_is_kept_and_shown(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    email = await make_user(db, org, "viewer")
    await sign_in(browser, email)
    team = await browser.get(f"/dashboard/o/{org.id}/team")
    assert "Test mode: you are looking at test data." in team.text
    switched = await browser.post(
        f"/dashboard/o/{org.id}/mode",
        data={"csrf": csrf_of(team.text), "mode": "live", "next": f"/dashboard/o/{org.id}/team"},
    )
    assert switched.status_code == 303
    live = await browser.get(f"/dashboard/o/{org.id}/team")
    assert "Live mode" in live.text and "looking at test data" not in live.text


async def _link(db: Database, settings: Settings, recipient: str, kind: str) -> str:
    async with db.read() as session:
        message = (
            (
                await session.execute(
                    select(EmailMessage)
                    .where(EmailMessage.recipient == recipient)
                    .order_by(EmailMessage.created_at.desc())
                )
            )
            .scalars()
            .first()
        )
    assert message is not None
    return tokens.link(settings, kind, str(message.data["tokenId"])).removeprefix(settings.base_url)


async def test_an_invitation_is_accepted_once_and_recorded(
    browser: httpx.AsyncClient, app: object, db: Database, org: Org, settings: Settings
) -> None:
    owner = await make_user(db, org)
    await sign_in(browser, owner)
    team = await browser.get(f"/dashboard/o/{org.id}/team")
    invited = "new.member@shop.example".replace("new", org.id[-6:])
    sent = await browser.post(
        f"/dashboard/o/{org.id}/team/invitations",
        data={"csrf": csrf_of(team.text), "email": invited, "role": "admin"},
    )
    assert sent.headers["location"].endswith("done=invited")
    link = await _link(db, settings, invited, "invitation")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://kohort.test", headers={"Origin": "http://kohort.test"}
    ) as guest:
        page = await guest.get(link)
        assert page.status_code == 200
        accepted = await guest.post(
            link,
            data={
                "csrf": csrf_of(page.text),
                "password": "a new password",
                "confirm": "a new password",
            },
        )
        assert accepted.headers["location"] == f"/dashboard/o/{org.id}/team"
        assert (await guest.get(link)).status_code == 410
        again = await guest.post(
            link, data={"csrf": csrf_of(page.text), "password": "x" * 12, "confirm": "x" * 12}
        )
        assert again.status_code == 410
    async with db.read() as session:
        actions = set(
            (
                await session.execute(
                    select(AuditEntry.action).where(AuditEntry.organization_id == org.id)
                )
            ).scalars()
        )
    assert {"invitation.created", "membership.created"} <= actions


async def test_the_last_owner_cannot_be_demoted(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    owner = await make_user(db, org)
    await sign_in(browser, owner)
    team = await browser.get(f"/dashboard/o/{org.id}/team")
    async with db.read() as session:
        membership = (
            await session.execute(select(Membership.id).where(Membership.organization_id == org.id))
        ).scalar_one()
    refused = await browser.post(
        f"/dashboard/o/{org.id}/team/members/{membership}/role",
        data={"csrf": csrf_of(team.text), "role": "viewer"},
    )
    assert refused.headers["location"].endswith("error=LAST_OWNER")


async def test_a_password_reset_works_once(
    browser: httpx.AsyncClient, db: Database, org: Org, settings: Settings
) -> None:
    email = await make_user(db, org)
    page = await browser.get("/dashboard/reset")
    for address in (email, "nobody@shop.example"):
        asked = await browser.post(
            "/dashboard/reset", data={"csrf": csrf_of(page.text), "email": address}
        )
        assert asked.headers["location"] == "/dashboard/reset?sent=1"
    link = await _link(db, settings, email, "password_reset")
    form = await browser.get(link)
    done = await browser.post(
        link,
        data={
            "csrf": csrf_of(form.text),
            "password": "brand new secret",
            "confirm": "brand new secret",
        },
    )
    assert done.headers["location"] == "/dashboard/sign-in?notice=password_reset"
    assert (await browser.get(link)).status_code == 410
    assert (await sign_in(browser, email)).status_code == 401
    assert (await sign_in(browser, email, "brand new secret")).status_code == 303


async def test_totp_enrolment_then_sign_in_with_a_code(
    browser: httpx.AsyncClient, app: object, db: Database, org: Org
) -> None:
    email = await make_user(db, org)
    await sign_in(browser, email)
    account = await browser.get("/dashboard/account")
    await browser.post(
        "/dashboard/account/totp", data={"csrf": csrf_of(account.text), "action": "start"}
    )
    account = await browser.get("/dashboard/account")
    assert 'src="data:image/svg+xml' in account.text
    secret = account.text.split('<code class="secret">')[1].split("<")[0]
    confirmed = await browser.post(
        "/dashboard/account/totp",
        data={"csrf": csrf_of(account.text), "action": "confirm", "code": pyotp.TOTP(secret).now()},
    )
    assert "done=totp_on" in confirmed.headers["location"]
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://kohort.test", headers={"Origin": "http://kohort.test"}
    ) as other:
        signed = await sign_in(other, email)
        assert signed.headers["location"].startswith("/dashboard/sign-in/code")
        assert (await other.get("/dashboard")).status_code == 303
        assert (await other.get("/dashboard")).headers["location"] == "/dashboard/sign-in"
        code_page = await other.get("/dashboard/sign-in/code")
        wrong = await other.post(
            "/dashboard/sign-in/code", data={"csrf": csrf_of(code_page.text), "code": "000000"}
        )
        assert wrong.status_code == 401
        right = await other.post(
            "/dashboard/sign-in/code",
            data={"csrf": csrf_of(code_page.text), "code": pyotp.TOTP(secret).now()},
        )
        assert right.status_code == 303
        assert (await other.get("/dashboard")).headers["location"].endswith("/overview")


async def test_french_is_chosen_from_the_browser(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/dashboard/sign-in", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert "Connexion au tableau de bord" in page.text and 'lang="fr-FR"' in page.text
