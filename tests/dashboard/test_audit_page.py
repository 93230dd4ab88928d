"""The Audit log page: changes made through the API (a key) and through the dashboard (a
user) appear with who made them, the action and each change; filters and pages; the other
mode's and the other organization's entries are never shown."""

import html
import re
from datetime import timedelta
from typing import Any

import httpx
import time_machine

from kohort import clock
from kohort.audit import service as audit
from kohort.db import Database
from tests.dashboard.conftest import csrf_of, make_user, sign_in
from tests.factories import Org, bearer
from tests.group_settings.api import get, patched

ROW = re.compile(r"<tr>\s*<td data-label=\"When\">(.*?)</tr>", re.S)


def rows(page: str) -> list[dict[str, Any]]:
    """Each listed entry: who, action, target and changes (field, from, to) as shown."""
    found = []
    body = page.split("<tbody>", 1)[1] if "<tbody>" in page else ""
    for row in ROW.findall(body):
        who = re.search(r'data-label="Who" class="secret">(.*?)<small>(.*?)</small>', row, re.S)
        target = re.search(r'\?target=[^"]*">([^<]*)</a>', row)
        changes = re.findall(
            r'<span class="field">(.*?)</span>: <span class="from">(.*?)</span> → '
            r'<span class="to">(.*?)</span>',
            row,
        )
        assert who, row
        found.append(
            {
                "who": html.unescape(who.group(1)),
                "type": who.group(2),
                "action": re.search(r"<code>(.*?)</code>", row).group(1),  # type: ignore[union-attr]
                "target": target.group(1) if target else None,
                "changes": [tuple(html.unescape(part) for part in c) for c in changes],
            }
        )
    return found


async def api_log(client: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    answer = await client.get("/audit-log", headers=bearer(key), params={"take": 100})
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


async def test_api_and_dashboard_changes_appear_with_their_actor_and_changes(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    before = await get(client, org)
    await patched(client, org, {"maxParticipants": before["maxParticipants"] + 3})
    hook = await client.post(
        "/webhooks",
        json={"url": "https://93.184.215.14/hooks", "events": ["*"]},
        headers=bearer(org.sk_test),
    )
    assert hook.status_code == 201, hook.text
    keys = (await client.get("/api-keys", headers=bearer(org.sk_test))).json()["data"]
    [publishable] = [k for k in keys if k["type"] == "PUBLISHABLE" and not k["livemode"]]
    rolled = await client.post(f"/api-keys/{publishable['id']}/roll", headers=bearer(org.sk_test))
    assert rolled.status_code == 200, rolled.text
    owner = await make_user(db, org)
    await sign_in(browser, owner)
    team = await browser.get(f"/dashboard/o/{org.id}/team")
    invited = await browser.post(
        f"/dashboard/o/{org.id}/team/invitations",
        data={"csrf": csrf_of(team.text), "email": "new.member@shop.example", "role": "admin"},
    )
    assert invited.status_code == 303

    page = await browser.get(f"/dashboard/o/{org.id}/audit-log")
    assert page.status_code == 200, page.text
    shown = rows(page.text)
    [key_label] = {e["actorLabel"] for e in await api_log(client, org.sk_test)}
    assert key_label.startswith("sk_test_…")
    assert [(e["action"], e["who"], e["type"]) for e in shown] == [
        ("invitation.created", owner, "User"),
        ("api_key.rolled", key_label, "API key"),
        ("webhook_endpoint.created", key_label, "API key"),
        ("payment_group_settings.updated", key_label, "API key"),
    ]
    invitation, roll, webhook, settings = shown
    assert invitation["changes"] == [
        ("email", "—", "new.member@shop.example"),
        ("role", "—", "admin"),
    ]
    assert webhook["target"] == hook.json()["id"]
    assert ("url", "—", "https://93.184.215.14/hooks") in webhook["changes"]
    assert ("events", "—", '["*"]') in webhook["changes"]
    assert roll["target"] == publishable["id"]
    assert settings["changes"] == [
        (
            "maxParticipants",
            str(before["maxParticipants"]),
            str(before["maxParticipants"] + 3),
        )
    ]
    api = {e["action"]: e for e in await api_log(client, org.sk_test)}
    assert set(api) == {e["action"] for e in shown} - {"invitation.created"}
    for entry in shown[1:]:
        changes = api[entry["action"]]["changes"]
        assert [name for name, _, _ in entry["changes"]] == sorted(changes)

    csrf = csrf_of(page.text)
    await browser.post(f"/dashboard/o/{org.id}/mode", data={"csrf": csrf, "mode": "live"})
    live = rows((await browser.get(f"/dashboard/o/{org.id}/audit-log")).text)
    assert [e["action"] for e in live] == ["invitation.created"]
    assert [e["action"] for e in await api_log(client, org.sk_live)] == ["invitation.created"]


async def test_the_filters_by_area_actor_and_object(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    first = await client.post(
        "/webhooks",
        json={"url": "https://93.184.215.14/a", "events": ["*"]},
        headers=bearer(org.sk_test),
    )
    second = await client.post(
        "/webhooks",
        json={"url": "https://93.184.215.14/b", "events": ["*"]},
        headers=bearer(org.sk_test),
    )
    await patched(client, org, {"maxParticipants": 12})
    owner = await make_user(db, org)
    await sign_in(browser, owner)
    team = await browser.get(f"/dashboard/o/{org.id}/team")
    await browser.post(
        f"/dashboard/o/{org.id}/team/invitations",
        data={"csrf": csrf_of(team.text), "email": "x@shop.example", "role": "viewer"},
    )
    url = f"/dashboard/o/{org.id}/audit-log"

    async def actions(**params: str) -> list[str]:
        page = await browser.get(url, params=params)
        assert page.status_code == 200, page.text
        return [e["action"] for e in rows(page.text)]

    assert await actions(area="webhook_endpoint") == ["webhook_endpoint.created"] * 2
    assert await actions(area="team") == ["invitation.created"]
    assert await actions(area="payment_group_settings") == ["payment_group_settings.updated"]
    assert await actions(area="payout") == []
    assert await actions(actor="user") == ["invitation.created"]
    assert await actions(actor="api_key", area="team") == []
    assert len(await actions(actor="api_key")) == 3
    target = await browser.get(url, params={"target": first.json()["id"]})
    assert [e["target"] for e in rows(target.text)] == [first.json()["id"]]
    assert second.json()["id"] not in target.text
    assert await actions(sort="createdAt", dir="asc") == [
        "webhook_endpoint.created",
        "webhook_endpoint.created",
        "payment_group_settings.updated",
        "invitation.created",
    ]
    bad = await browser.get(url, params={"area": "nope", "actor": "robot", "page": "-4"})
    assert bad.status_code == 200
    assert "This filter is not one of the list" in bad.text
    assert len(rows(bad.text)) == 4
    assert await actions(target="null,actorType:user") == []


async def test_the_log_pages_and_a_viewer_reads_it(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    start = clock.now() - timedelta(hours=2)
    for n in range(27):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            async with db.write() as session:
                await audit.record(
                    session,
                    actor=audit.Actor(type=audit.SYSTEM, id=None, label=None),
                    organization_id=org.id,
                    livemode=False,
                    action="payout.retried",
                    target_type="payout",
                    target_id=f"po_{n:02d}",
                    changes={"status": {"from": "FAILED", "to": "PENDING"}},
                )
    await sign_in(browser, await make_user(db, org, role="viewer"))
    url = f"/dashboard/o/{org.id}/audit-log"
    first = await browser.get(url)
    shown = rows(first.text)
    assert [e["target"] for e in shown] == [f"po_{n:02d}" for n in range(26, 1, -1)]
    assert shown[0]["who"] == "System" and shown[0]["changes"] == [("status", "FAILED", "PENDING")]
    assert (
        'rel="next"' in first.text
        and '<form method="post" action="/dashboard/o' not in (first.text.split("<main", 1)[1])
    )
    second = await browser.get(url, params={"page": "2"})
    assert [e["target"] for e in rows(second.text)] == ["po_01", "po_00"]
    past = await browser.get(url, params={"page": "999999"})
    assert [e["target"] for e in rows(past.text)] == ["po_01", "po_00"]


async def test_another_organizations_entries_are_never_shown(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    hook = await client.post(
        "/webhooks",
        json={"url": "https://93.184.215.14/other", "events": ["*"]},
        headers=bearer(other_org.sk_test),
    )
    assert hook.status_code == 201
    await sign_in(browser, await make_user(db, org))
    page = await browser.get(f"/dashboard/o/{org.id}/audit-log")
    assert rows(page.text) == []
    assert "No change matches." in page.text
    by_id = await browser.get(
        f"/dashboard/o/{org.id}/audit-log", params={"target": hook.json()["id"]}
    )
    assert rows(by_id.text) == []
    assert (await browser.get(f"/dashboard/o/{other_org.id}/audit-log")).status_code == 404
