"""Reviews in the dashboard: the risk level and reasons of an order on its page, in the orders
list and in its group's members; the Reviews page (the mode's orders under review, nearest
deadline first, paged, counted in the navigation); approving and rejecting from the order's
page and from the queue (then what the API says), a decided review refused with the API's
message and nothing changed, a viewer who reads but cannot decide, another organization's
order not found."""

import html as markup
import re
import secrets
from typing import Any

import httpx

from kohort.db import Database
from tests.dashboard.conftest import csrf_of, make_user, sign_in
from tests.factories import Org, make_organization
from tests.group_settings.api import levels, patched
from tests.order.api import START, all_events, frozen_at, get_json, place_order

ANA = {"customerFirstName": "Ana", "customerLastName": "Silva"}


def base(org: Org) -> str:
    return f"/dashboard/o/{org.id}"


def text_of(page: httpx.Response) -> str:
    """The text of the page's main part, tags removed and spaces collapsed."""
    main = page.text.split('<main id="main" tabindex="-1">', 1)[-1]
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", main)).split())


def queued(page: httpx.Response) -> list[str]:
    """The ids of the orders the Reviews page lists, in the order shown."""
    assert page.status_code in (200, 400), page.text
    return re.findall(r'<li data-order="([^"]+)">', page.text)


def pending_in_nav(page: httpx.Response) -> int:
    found = re.search(r'data-pending="(\d+)"', page.text)
    return int(found.group(1)) if found else 0


async def shop(db: Database) -> Org:
    """A shop with the defaults of a new organization: HIGH and HIGHEST are reviewed."""
    return await make_organization(db, name="Careful Shop", risk_policy=None)


def mailbox() -> str:
    return f"ana-{secrets.token_hex(4)}@example.com"


async def held(
    client: httpx.AsyncClient, org: Org, *, code: str | None = None, amount: int = 4000
) -> tuple[str, dict[str, Any]]:
    """An order held for review: one with the name of the group's creator (SAME_NAME,
    HIGHEST). The group's code (a new group unless `code`) and the held order."""
    if code is None:
        creator = await place_order(client, org.sk_test, customerEmail=mailbox(), **ANA)
        code = creator["paymentGroup"]["shareId"]
    order = await place_order(
        client, org.sk_test, code=code, customerEmail=mailbox(), amount=amount, **ANA
    )
    assert (order["riskLevel"], order["reviewStatus"]) == ("HIGHEST", "PENDING"), order
    return code, order


async def signed_in_as(browser: httpx.AsyncClient, db: Database, org: Org, role: str) -> str:
    """Signs in a new member with `role`; the CSRF token of its pages."""
    assert (await sign_in(browser, await make_user(db, org, role=role))).status_code == 303
    return csrf_of((await browser.get(f"{base(org)}/reviews")).text)


async def decide(
    browser: httpx.AsyncClient,
    org: Org,
    order_id: str,
    csrf: str,
    decision: str,
    back: str | None = None,
) -> httpx.Response:
    form = {"csrf": csrf, "decision": decision, **({"back": back} if back else {})}
    return await browser.post(f"{base(org)}/orders/{order_id}/review", data=form)


async def api_order(client: httpx.AsyncClient, org: Org, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await get_json(client, org.sk_test, f"/orders/{order_id}")
    return found


async def test_the_queue_lists_the_modes_pending_reviews_nearest_deadline_first(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database
) -> None:
    org = await shop(db)
    with frozen_at(START) as clock:
        code, first = await held(client, org, amount=4000)
        clock.shift(60)
        _, second = await held(client, org, code=code, amount=2500)
        clock.shift(60)
        allowed = await place_order(client, org.sk_test, code=code)
        assert allowed["reviewStatus"] is None
        live = await place_order(client, org.sk_live, customerEmail=mailbox(), **ANA)
        await place_order(
            client,
            org.sk_live,
            code=live["paymentGroup"]["shareId"],
            customerEmail=mailbox(),
            **ANA,
        )
        await signed_in_as(browser, db, org, "owner")
        page = await browser.get(f"{base(org)}/reviews")

    assert page.status_code == 200, page.text
    assert queued(page) == [first["id"], second["id"]]
    assert pending_in_nav(page) == 2
    assert f'href="{base(org)}/reviews" aria-current="page"' in page.text
    text = text_of(page)
    count = '<span class="badge count" data-pending="2">2<span class="visually-hidden"> pending'
    assert f' aria-current="page">Reviews {count}' in page.text
    assert first["customerEmail"] in text and "Ana Silva" in text
    assert "€40.00" in text and "€25.00" in text
    assert f'href="{base(org)}/groups/{first["paymentGroupId"]}"' in page.text
    assert text.count("Highest") == 2
    assert "Same first and last name as a member SAME_NAME · Ana Silva" in text
    assert "Mar 18, 2031, 5:06:07" in text, "the deadline: 14 days after the order"
    assert text.count("Waiting for the group") == 2
    assert page.text.count('name="decision" value="approve"') == 2
    assert page.text.count('name="decision" value="reject"') == 2

    latest_first = await browser.get(f"{base(org)}/reviews", params={"dir": "desc"})
    assert queued(latest_first) == [second["id"], first["id"]]
    by_amount = await browser.get(f"{base(org)}/reviews", params={"sort": "amount"})
    assert queued(by_amount) == [second["id"], first["id"]]


async def test_the_queue_is_paged_and_says_when_it_is_empty(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database
) -> None:
    org = await shop(db)
    await patched(
        client, org, {"maxParticipants": 30, "discountLevels": levels((2, 5))}, org.sk_test
    )
    await signed_in_as(browser, db, org, "owner")
    empty = await browser.get(f"{base(org)}/reviews")
    assert queued(empty) == []
    assert "No order is waiting for a review." in text_of(empty)
    assert pending_in_nav(empty) == 0

    code, _ = await held(client, org)
    for _ in range(25):
        await held(client, org, code=code)
    first = await browser.get(f"{base(org)}/reviews")
    assert len(queued(first)) == 25
    assert "1\u201325 of 26" in text_of(first)
    assert pending_in_nav(first) == 26
    second = await browser.get(f"{base(org)}/reviews", params={"page": "2"})
    assert len(queued(second)) == 1
    assert set(queued(second)).isdisjoint(queued(first))


async def test_the_order_page_shows_the_risk_and_approving_releases_the_review(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database
) -> None:
    org = await shop(db)
    with frozen_at(START):
        _, order = await held(client, org)
        csrf = await signed_in_as(browser, db, org, "admin")
        url = f"{base(org)}/orders/{order['id']}"
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        text = text_of(page)
        assert "Risk: Highest" in text
        assert "Same first and last name as a member SAME_NAME · Ana Silva" in text
        assert "Under review: decide by Mar 18, 2031, 5:06:07" in text
        assert "Undecided by then, its cashback is released." in text
        assert page.text.count(f'action="{url}/review"') == 2

        answer = await decide(browser, org, order["id"], csrf, "approve")
        assert answer.status_code == 303
        assert answer.headers["location"] == f"{url}?done=approved"
        after = await browser.get(answer.headers["location"])

    assert "Approved: the order keeps its cashback." in text_of(after)
    read = await api_order(client, org, order["id"])
    assert (read["reviewStatus"], read["status"]) == ("APPROVED", "CREATED")
    assert read["reviewedBy"].startswith("usr_")
    shown = text_of(after)
    assert re.search(
        r"Approved on Mar 4, 2031, 5:06:07\S* AM UTC by [0-9a-f]{8}@shop\.example", shown
    )
    assert f'action="{url}/review"' not in after.text
    assert pending_in_nav(after) == 0
    assert "order.review_resolved" in [e["type"] for e in await all_events(client, org.sk_test)]


async def test_rejecting_from_the_queue_goes_back_to_it_and_the_order_leaves_its_group(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database
) -> None:
    org = await shop(db)
    code, order = await held(client, org)
    _, other = await held(client, org, code=code)
    csrf = await signed_in_as(browser, db, org, "owner")
    back = f"{base(org)}/reviews?sort=reviewDueAt&dir=asc"

    answer = await decide(browser, org, order["id"], csrf, "reject", back)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{back}&done=rejected&order={order['id']}"
    page = await browser.get(answer.headers["location"])
    assert f"Order {order['id']} rejected: its cashback is voided." in text_of(page)
    assert queued(page) == [other["id"]]
    assert pending_in_nav(page) == 1

    read = await api_order(client, org, order["id"])
    assert (read["reviewStatus"], read["status"]) == ("REJECTED", "CASHBACK_REJECTED")
    group = await get_json(client, org.sk_test, f"/groups/{code}")
    assert group["participantsCount"] == 2, "the creator and the other held order"
    listed = await browser.get(f"{base(org)}/orders", params={"status": "CASHBACK_REJECTED"})
    assert order["id"] in listed.text and "Cashback rejected" in text_of(listed)


async def test_a_decided_review_is_refused_with_the_apis_message(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database
) -> None:
    org = await shop(db)
    _, order = await held(client, org)
    csrf = await signed_in_as(browser, db, org, "owner")
    assert (await decide(browser, org, order["id"], csrf, "approve")).status_code == 303

    again = await decide(browser, org, order["id"], csrf, "reject")
    assert again.status_code == 400
    text = text_of(again)
    assert "This order is not waiting for a review: nothing was changed." in text
    assert f"Order {order['id']} was already approved." in text
    from_queue = await decide(browser, org, order["id"], csrf, "reject", f"{base(org)}/reviews")
    assert from_queue.status_code == 400
    assert f"Order {order['id']} was already approved." in text_of(from_queue)
    assert 'id="review-error"' in from_queue.text

    unknown = await decide(browser, org, order["id"], csrf, "maybe")
    assert unknown.status_code == 400
    assert "decision: Input should be 'approve' or 'reject'." in text_of(unknown)
    allowed = await place_order(client, org.sk_test, customerEmail=mailbox())
    never = await decide(browser, org, allowed["id"], csrf, "approve")
    assert never.status_code == 400
    assert f"Order {allowed['id']} is not under review." in text_of(never)
    read = await api_order(client, org, order["id"])
    assert (read["reviewStatus"], read["status"]) == ("APPROVED", "CREATED")


async def test_a_held_cashback_is_released_when_approved_after_the_group_completed(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database
) -> None:
    org = await shop(db)
    await patched(
        client, org, {"maxParticipants": 2, "discountLevels": levels((2, 10))}, org.sk_test
    )
    code, order = await held(client, org)
    read = await api_order(client, org, order["id"])
    assert (read["status"], read["amountCashback"]) == ("CASHBACK_ON_HOLD", 400)
    csrf = await signed_in_as(browser, db, org, "owner")
    page = await browser.get(f"{base(org)}/reviews")
    assert "€4.00 cashback held" in text_of(page)
    group = await browser.get(f"{base(org)}/groups/{code}")
    assert "Cashback held for review" in text_of(group)
    assert "Highest Under review" in text_of(group)

    assert (await decide(browser, org, order["id"], csrf, "approve")).status_code == 303
    assert (await api_order(client, org, order["id"]))["status"] == "CASHBACK_AVAILABLE"
    group = await browser.get(f"{base(org)}/groups/{code}")
    assert "Highest Approved" in text_of(group)


async def test_a_viewer_reads_the_queue_but_cannot_decide(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database
) -> None:
    org = await shop(db)
    _, order = await held(client, org)
    csrf = await signed_in_as(browser, db, org, "viewer")
    page = await browser.get(f"{base(org)}/reviews")
    assert queued(page) == [order["id"]]
    assert 'name="decision"' not in page.text
    order_page = await browser.get(f"{base(org)}/orders/{order['id']}")
    assert "Risk: Highest" in text_of(order_page) and 'name="decision"' not in order_page.text

    refused = await decide(browser, org, order["id"], csrf, "approve")
    assert refused.status_code == 403
    assert (await api_order(client, org, order["id"]))["reviewStatus"] == "PENDING"


async def test_other_organizations_and_modes_and_forged_posts_are_refused(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, other_org: Org
) -> None:
    org = await shop(db)
    _, order = await held(client, org)
    csrf = await signed_in_as(browser, db, org, "owner")
    theirs = await browser.get(f"{base(other_org)}/reviews")
    assert theirs.status_code == 404
    no_token = await browser.post(
        f"{base(org)}/orders/{order['id']}/review", data={"decision": "approve"}
    )
    assert no_token.status_code == 403
    elsewhere = await decide(browser, org, order["id"], csrf, "approve", "https://evil.example/")
    assert elsewhere.headers["location"].startswith(f"{base(org)}/orders/{order['id']}")
    await browser.post(f"{base(org)}/mode", data={"csrf": csrf, "mode": "live"})
    in_live = await decide(browser, org, f"{order['id']}", csrf, "reject")
    assert in_live.status_code == 404
    assert queued(await browser.get(f"{base(org)}/reviews")) == []
    assert (await api_order(client, org, order["id"]))["reviewStatus"] == "APPROVED"


async def test_the_orders_list_shows_and_filters_the_risk(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database
) -> None:
    org = await shop(db)
    code, order = await held(client, org)
    await signed_in_as(browser, db, org, "viewer")
    url = f"{base(org)}/orders"
    page = await browser.get(url)
    assert page.status_code == 200, page.text
    assert re.search(r'data-risk="HIGHEST">Highest</span><small data-review="PENDING">', page.text)
    assert page.text.count('data-risk="LOW"') == 1, "the creator, alone when it opened"
    highest = await browser.get(url, params={"risk": "HIGHEST"})
    assert re.findall(rf'href="{url}/(ord_[^"]+)"', highest.text) == [order["id"]]
    bad = await browser.get(url, params={"risk": "SEVERE"})
    assert bad.status_code == 400
    assert "riskLevel must be one of LOW, MEDIUM, HIGH, HIGHEST" in text_of(bad)
    group = await browser.get(f"{base(org)}/groups/{code}")
    assert "Low Highest Under review" not in text_of(group)
    assert re.findall(r'data-risk="([A-Z]+)"', group.text) == ["LOW", "HIGHEST"]
