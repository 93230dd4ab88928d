"""The Groups pages: the list of the mode's groups with its filters, sorts and pages; a group's
page (members, level reached, levels snapshot, time left, metadata, timeline); cancel and
expire through the API's service, refusals shown on the page; the test clock in test mode
only; a viewer reads but cannot act; another organization's group is not found."""

import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from kohort.dashboard_user import repository as users
from kohort.db import Database
from kohort.worker import Worker
from tests.dashboard.conftest import csrf_of, make_user, sign_in
from tests.factories import Org, bearer
from tests.factories.groups import seed_due_groups
from tests.order.api import START, fetch, frozen_at, join, new_group, wire

AM = " AM"
"""What babel writes before AM (a narrow no-break space) once `Cells` folds the spaces."""


class Cells(HTMLParser):
    """The text of each row of the tables of one class, of the `dt`/`dd` pairs of the
    summary, and of each item of the timeline."""

    def __init__(self, table: str) -> None:
        super().__init__()
        self.table, self.depth = table, 0
        self.rows: list[list[str]] = []
        self.facts: dict[str, str] = {}
        self.events: list[str] = []
        self.cell: list[str] | None = None
        self.term: str | None = None
        self.tag: str | None = None
        self.in_timeline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table" and self.table in classes:
            self.depth = 1
        elif tag == "tr" and self.depth and self.tag != "thead":
            self.rows.append([])
        elif tag == "thead":
            self.tag = "thead"
        elif tag == "td" and self.depth:
            self.cell = []
        elif tag in ("dt", "dd"):
            self.cell, self.tag = [], tag
        elif tag == "ol" and "timeline" in classes:
            self.in_timeline = True
        elif tag == "li" and self.in_timeline:
            self.cell, self.tag = [], "li"

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth = 0
        elif tag == "thead":
            self.tag = None
        elif tag == "td" and self.cell is not None and self.depth:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag in ("dt", "dd", "li") and self.cell is not None and self.tag == tag:
            text = " ".join("".join(self.cell).split())
            if tag == "dt":
                self.term = text
            elif tag == "dd" and self.term is not None:
                self.facts.setdefault(self.term, text)
            else:
                self.events.append(text)
            self.cell, self.tag = None, None
        elif tag == "ol":
            self.in_timeline = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def parsed(html: str, table: str = "groups") -> Cells:
    cells = Cells(table)
    cells.feed(html)
    return cells


def codes(html: str) -> list[str]:
    """The share codes of the list, in the order shown."""
    return [row[0].split()[0] for row in parsed(html).rows]


async def signed_in_as(
    browser: httpx.AsyncClient, db: Database, org: Org, role: str = "owner"
) -> str:
    email = await make_user(db, org, role)
    assert (await sign_in(browser, email)).status_code == 303
    return email


async def user_id(db: Database, email: str) -> str:
    async with db.read() as session:
        user = await users.get_user_by_email(session, email)
    assert user is not None
    return user.id


async def get_page(browser: httpx.AsyncClient, url: str, expect: int = 200, **params: Any) -> str:
    response = await browser.get(url, params=params) if params else await browser.get(url)
    assert response.status_code == expect, response.text
    return response.text


async def post(browser: httpx.AsyncClient, url: str, csrf: str, **data: str) -> httpx.Response:
    return await browser.post(url, data={"csrf": csrf, **data})


async def live_mode(browser: httpx.AsyncClient, org: Org) -> None:
    page = await get_page(browser, f"/dashboard/o/{org.id}/groups")
    switched = await post(
        browser, f"/dashboard/o/{org.id}/mode", csrf_of(page), mode="live", next="/dashboard"
    )
    assert switched.status_code == 303


async def test_the_list_filters_by_status_and_by_code_or_email_and_sorts(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    key = org.sk_test
    with frozen_at(START) as clock:
        alone = await new_group(client, key, customerEmail="Alice.Creator@example.com")
        clock.shift(60)
        joined = await new_group(client, key, customerEmail="bob@example.com")
        await join(client, key, joined["shareId"], customerEmail="Friend.Of.Bob@example.com")
        clock.shift(60)
        canceled = await new_group(client, key)
        assert (
            await client.post(f"/groups/{canceled['id']}/cancel", headers=bearer(key))
        ).status_code == 200
        live = await new_group(client, org.sk_live)
        foreign = await new_group(client, other_org.sk_test)
        await signed_in_as(browser, db, org, "viewer")
        url = f"/dashboard/o/{org.id}/groups"

        page = await get_page(browser, url)
        assert codes(page) == [canceled["shareId"], joined["shareId"], alone["shareId"]]
        assert live["shareId"] not in page and foreign["shareId"] not in page
        rows = parsed(page).rows
        assert rows[1] == [
            f"{joined['shareId']} bob@example.com",
            "Open",
            "2/15",
            "Level 1 · 5%",
            f"Mar 4, 2031, 6:07:07{AM}",
            f"Mar 4, 2031, 6:17:07{AM}",
        ]
        assert rows[0][1:4] == ["Canceled", "1/15", "—"]
        assert f'href="{url}/{joined["id"]}"' in page
        assert "Times in Europe/Paris." in page

        assert codes(await get_page(browser, url, status="OPEN")) == [
            joined["shareId"],
            alone["shareId"],
        ]
        assert codes(await get_page(browser, url, status="CANCELED")) == [canceled["shareId"]]
        assert codes(await get_page(browser, url, status="COMPLETED")) == []
        assert codes(await get_page(browser, url, q="alice.CREATOR")) == [alone["shareId"]]
        assert codes(await get_page(browser, url, q="friend.of")) == [joined["shareId"]]
        code_part = canceled["shareId"][-5:].lower()
        assert codes(await get_page(browser, url, q=code_part)) == [canceled["shareId"]]
        both = await get_page(browser, url, q="example.com", status="OPEN")
        assert codes(both) == [joined["shareId"], alone["shareId"]]
        assert 'value="example.com"' in both and '<option value="OPEN" selected>' in both
        assert "No group matches these filters." in await get_page(browser, url, q="nobody%_")

        by_expiry = await get_page(browser, url, sort="expiresAt", dir="asc")
        assert codes(by_expiry) == [alone["shareId"], joined["shareId"], canceled["shareId"]]
        assert 'aria-sort="ascending"' in by_expiry
        by_members = await get_page(browser, url, sort="participantsCount", dir="desc")
        assert codes(by_members)[0] == joined["shareId"]

        bad_status = await get_page(browser, url, 400, status="LOST")
        assert "This status does not exist: every group is shown." in bad_status
        assert len(codes(bad_status)) == 3
        assert "Page not found" in await get_page(browser, url, 404, q="\x00")
        odd = await get_page(browser, url, sort="id;drop", dir="sideways", page="-3")
        assert codes(odd) == [canceled["shareId"], joined["shareId"], alone["shareId"]]


async def test_the_list_is_paginated(browser: httpx.AsyncClient, db: Database, org: Org) -> None:
    await seed_due_groups(db, organization_id=org.id, count=30, members=(1, 1))
    await signed_in_as(browser, db, org, "viewer")
    url = f"/dashboard/o/{org.id}/groups"
    first = await get_page(browser, url)
    assert len(codes(first)) == 25
    assert "1\u201325 of 30" in first and 'rel="next"' in first and "Page 1 of 2" in first
    second = await get_page(browser, url, page="2")
    assert len(codes(second)) == 5 and "26\u201330 of 30" in second
    assert set(codes(first)).isdisjoint(codes(second))
    assert codes(await get_page(browser, url, page="99999999999")) == codes(second)
    assert codes(await get_page(browser, url, page="two")) == codes(first)


async def test_a_group_page_shows_members_levels_time_left_metadata_and_timeline(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    key = org.sk_test
    with frozen_at(START) as clock:
        group = await new_group(client, key, customerEmail="ada@example.com", amount=10000)
        clock.shift(30)
        friend = await join(
            client, key, group["shareId"], customerEmail="grace@example.com", amount=5000
        )
        patched = await client.patch(
            f"/groups/{group['id']}", json={"metadata": {"campaign": "spring"}}, headers=bearer(key)
        )
        assert patched.status_code == 200, patched.text
        clock.shift(120)
        await signed_in_as(browser, db, org, "viewer")
        page = await get_page(browser, f"/dashboard/o/{org.id}/groups/{group['id']}")

    found = parsed(page, "members")
    assert found.facts == {
        "Share code": group["shareId"],
        "Creator": "ada@example.com",
        "Members": "2/15",
        "Level reached": "Level 1 · 5%",
        "Next level": "Level 2 · 10%, at 5 members",
        "Time left": "7 minutes",
        "Created": f"Mar 4, 2031, 6:06:07{AM}",
        "Ends": f"Mar 4, 2031, 6:16:07{AM}",
        "Minimum purchase": "€0.00",
        "Identifier": group["id"],
        "campaign": "spring",
    }
    assert found.rows == [
        [
            "ada@example.com (creator)",
            "€100.00",
            "—",
            "Registered",
            "Low",
            f"Mar 4, 2031, 6:06:07{AM}",
        ],
        [
            "grace@example.com",
            "€50.00",
            "—",
            "Registered",
            "Highest",
            f"Mar 4, 2031, 6:06:37{AM}",
        ],
    ]
    assert f'href="/dashboard/o/{org.id}/orders/{friend["id"]}"' in page
    assert parsed(page, "levels").rows == [
        ["1 (reached)", "2", "5%"],
        ["2", "5", "10%"],
        ["3", "10", "15%"],
    ]
    assert parsed(page).events == [
        f"Mar 4, 2031, 6:06:37{AM} A level was unlocked · members: 2 payment_group.level_unlocked",
        f"Mar 4, 2031, 6:06:37{AM} A member joined · members: 2 payment_group.joined",
        f"Mar 4, 2031, 6:06:37{AM} Order registered · grace@example.com order.created",
        f"Mar 4, 2031, 6:06:07{AM} Group opened · members: 1 payment_group.created",
        f"Mar 4, 2031, 6:06:07{AM} Order registered · ada@example.com order.created",
    ]
    assert "Actions" not in page, "a viewer sees no action"

    by_code = await get_page(browser, f"/dashboard/o/{org.id}/groups/{group['shareId'].lower()}")
    assert parsed(by_code, "members").rows == found.rows

    french = await browser.get(
        f"/dashboard/o/{org.id}/groups/{group['id']}", headers={"Accept-Language": "fr-FR"}
    )
    facts = parsed(french.text).facts
    assert facts["Niveau atteint"] == "Niveau 1 · 5 %"
    assert facts["Fin"] == "4 mars 2031, 06:16:07"
    assert "Niveaux de ce groupe" in french.text and "Chronologie" in french.text


async def test_cancel_and_expire_end_a_lonely_group_and_a_refusal_is_shown(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    key = org.sk_test
    to_cancel = await new_group(client, key)
    to_expire = await new_group(client, key)
    crowded = await new_group(client, key)
    await join(client, key, crowded["shareId"])
    email = await signed_in_as(browser, db, org, "admin")
    base = f"/dashboard/o/{org.id}/groups"
    page = await get_page(browser, f"{base}/{to_cancel['id']}")
    assert f'action="{base}/{to_cancel["id"]}/cancel" data-confirm=' in page
    csrf = csrf_of(page)

    done = await post(browser, f"{base}/{to_cancel['id']}/cancel", csrf)
    assert done.status_code == 303
    assert done.headers["location"] == f"{base}/{to_cancel['id']}?done=canceled"
    after = await get_page(browser, done.headers["location"])
    assert "Group canceled." in after and "Cancel the group" not in after
    assert "Group canceled · members: 1 payment_group.canceled" in parsed(after).events[0]
    api = await fetch(client, key, to_cancel["id"])
    assert api["status"] == "CANCELED" and api["canceledAt"] is not None
    assert api["updatedBy"] == await user_id(db, email)

    again = await post(browser, f"{base}/{to_cancel['id']}/cancel", csrf)
    assert again.headers["location"] == (
        f"{base}/{to_cancel['id']}?error=COMPLETED_EXPIRED_CANCELED"
    )
    refused = await get_page(browser, again.headers["location"])
    assert "This group has already ended: it can no longer be changed." in refused
    assert (await fetch(client, key, to_cancel["id"]))["updatedAt"] == api["updatedAt"]

    by_code = await post(browser, f"{base}/{to_expire['shareId']}/expire", csrf)
    assert by_code.headers["location"] == f"{base}/{to_expire['id']}?done=expired"
    expired = await fetch(client, key, to_expire["id"])
    assert expired["status"] == "EXPIRED" and expired["expiresAt"] == to_expire["expiresAt"]
    assert "Group expired." in await get_page(browser, by_code.headers["location"])

    for action in ("cancel", "expire"):
        kept = await post(browser, f"{base}/{crowded['id']}/{action}", csrf)
        assert kept.headers["location"] == f"{base}/{crowded['id']}?error=GROUP_HAS_PARTICIPANTS"
    assert "it can only complete" in await get_page(browser, kept.headers["location"])
    assert (await fetch(client, key, crowded["id"]))["status"] == "OPEN"

    forged = await browser.post(f"{base}/{crowded['id']}/cancel", data={"csrf": "forged"})
    assert forged.status_code == 403


async def test_the_test_clock_moves_a_test_group_to_its_end(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    key = org.sk_test
    with frozen_at(START):
        group = await new_group(client, key, customerEmail="ada@example.com", amount=10000)
        await join(client, key, group["shareId"], customerEmail="grace@example.com", amount=5000)
        lonely = await new_group(client, key)
        await signed_in_as(browser, db, org, "owner")
        base = f"/dashboard/o/{org.id}/groups"
        page = await get_page(browser, f"{base}/{group['id']}")
        assert "Test clock" in page and 'name="amount"' in page
        csrf = csrf_of(page)

        for bad in (
            {"amount": "0", "unit": "hours"},
            {"amount": "x", "unit": "days"},
            {"amount": "201", "unit": "days"},
            {"amount": "9" * 40, "unit": "days"},
            {"amount": "2", "unit": "weeks"},
        ):
            refused = await post(browser, f"{base}/{group['id']}/advance", csrf, **bad)
            assert refused.headers["location"] == f"{base}/{group['id']}?error=VALIDATION_ERROR"
        assert (await fetch(client, key, group["id"]))["expiresAt"] == group["expiresAt"]
        assert "by 1 hour to 200 days" in await get_page(browser, refused.headers["location"])

        moved = await post(browser, f"{base}/{group['id']}/advance", csrf, amount="2", unit="hours")
        assert moved.headers["location"] == f"{base}/{group['id']}?done=advanced"
        after = await fetch(client, key, group["id"])
        assert after["expiresAt"] == wire(START + timedelta(minutes=10) - timedelta(hours=2))
        assert after["createdAt"] == group["createdAt"]
        due = await get_page(browser, moved.headers["location"])
        assert "The group\u2019s clock moved forward." in due
        assert parsed(due).facts["Time left"] == "None: the worker ends the group within seconds."

        to_end = await post(browser, f"{base}/{lonely['id']}/advance", csrf, to="end")
        assert to_end.headers["location"] == f"{base}/{lonely['id']}?done=advanced"
        assert (await fetch(client, key, lonely["id"]))["expiresAt"] == wire(START)

        await Worker(db=db).sweep()
        ended = await get_page(browser, f"{base}/{group['id']}")
    assert (await fetch(client, key, group["id"]))["status"] == "COMPLETED"
    assert (await fetch(client, key, lonely["id"]))["status"] == "EXPIRED"
    assert "Test clock" not in ended and "Cancel the group" not in ended
    assert [row[2:4] for row in parsed(ended, "members").rows] == [
        ["€5.00", "Cashback available"],
        ["€2.50", "Cashback available"],
    ]
    assert (
        parsed(ended)
        .events[0]
        .endswith("Cashback available · grace@example.com order.cashback_available")
    )
    assert any(
        e.endswith("Group completed · members: 2 payment_group.succeeded")
        for e in parsed(ended).events
    )


async def test_the_test_clock_is_absent_and_refused_in_live_mode(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    group = await new_group(client, org.sk_live)
    await signed_in_as(browser, db, org, "owner")
    await live_mode(browser, org)
    base = f"/dashboard/o/{org.id}/groups"
    page = await get_page(browser, f"{base}/{group['id']}")
    assert "Cancel the group" in page
    assert "Test clock" not in page and "/advance" not in page
    for data in ({"amount": "1", "unit": "days"}, {"to": "end"}):
        refused = await post(browser, f"{base}/{group['id']}/advance", csrf_of(page), **data)
        assert refused.status_code == 403
    assert (await fetch(client, org.sk_live, group["id"]))["expiresAt"] == group["expiresAt"]
    assert codes(await get_page(browser, base)) == [group["shareId"]]


async def test_a_viewer_sees_no_action_and_its_posts_are_refused(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    group = await new_group(client, org.sk_test)
    await signed_in_as(browser, db, org, "viewer")
    base = f"/dashboard/o/{org.id}/groups"
    page = await get_page(browser, f"{base}/{group['id']}")
    assert re.findall(r'<form [^>]*action="([^"]+)"', page) == [
        "/dashboard/switch",
        f"/dashboard/o/{org.id}/mode",
        "/dashboard/sign-out",
        "/dashboard/language",
    ]
    for action, data in (("cancel", {}), ("expire", {}), ("advance", {"to": "end"})):
        refused = await post(browser, f"{base}/{group['id']}/{action}", csrf_of(page), **data)
        assert refused.status_code == 403
    after = await fetch(client, org.sk_test, group["id"])
    assert after["status"] == "OPEN" and after["expiresAt"] == group["expiresAt"]


@pytest.mark.parametrize(
    "wrong",
    ["pg_00000000000000", "KHT-NOPE", "%2e%2e", "x" * 3000, "%00", "' OR 1=1 --"],
)
async def test_unknown_group_ids_are_not_found(
    browser: httpx.AsyncClient, db: Database, org: Org, wrong: str
) -> None:
    await signed_in_as(browser, db, org, "owner")
    base = f"/dashboard/o/{org.id}/groups"
    csrf = csrf_of(await get_page(browser, base))
    await get_page(browser, f"{base}/{wrong}", 404)
    refused = await post(browser, f"{base}/{wrong}/cancel", csrf)
    assert refused.status_code == 404


async def test_another_organizations_or_modes_group_is_not_found(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    foreign = await new_group(client, other_org.sk_test)
    live = await new_group(client, org.sk_live)
    await signed_in_as(browser, db, org, "owner")
    base = f"/dashboard/o/{org.id}/groups"
    csrf = csrf_of(await get_page(browser, base))
    for group in (foreign, live):
        page = await get_page(browser, f"{base}/{group['id']}", 404)
        assert "There is no such page, or it is not yours to see." in page
        refused = await post(browser, f"{base}/{group['id']}/cancel", csrf)
        assert refused.status_code == 404
    assert (await fetch(client, other_org.sk_test, foreign["id"]))["status"] == "OPEN"
    await get_page(browser, f"/dashboard/o/{other_org.id}/groups", 404)
