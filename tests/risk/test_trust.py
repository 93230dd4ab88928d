"""Risk on every join, the policy's outcomes, reviews and their deadline (docs/api.md,
"Trust"), through POST /orders and /checkout-sessions on the real engines."""

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from kohort import clock
from kohort.db import Database
from kohort.group import jobs
from kohort.order.review import resolve_due_reviews
from kohort.risk import repository as risk_repository
from kohort.webhook.schemas import EVENT_TYPES
from kohort.worker import Worker
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import (
    START,
    all_events,
    buyer,
    fetch,
    frozen_at,
    get_json,
    place_order,
    wire,
)
from tests.risk.api import codes, default_shop, review, set_policy
from tests.shapes import assert_error


@pytest.fixture
async def shop(db: Database) -> Org:
    return await default_shop(db)


def ana(**overrides: Any) -> dict[str, Any]:
    return {"customerFirstName": "Ana", "customerLastName": "Silva", **overrides}


def stranger(n: str, **overrides: Any) -> dict[str, Any]:
    """A buyer who resembles nobody: their own name, mailbox and domain."""
    return {
        "customerEmail": f"{n}-{overrides.pop('tag', 'x')}@{n}-mail.example",
        "customerFirstName": n.title(),
        "customerLastName": f"{n.title()}son",
        **overrides,
    }


async def test_a_new_shop_reviews_high_and_highest(client: httpx.AsyncClient, shop: Org) -> None:
    for key, livemode in ((shop.sk_test, False), (shop.sk_live, True)):
        body = await get_json(client, key, f"/organizations/{shop.id}/risk-policy")
        assert body["livemode"] is livemode
        assert body["actions"] == {
            "LOW": "allow",
            "MEDIUM": "allow",
            "HIGH": "review",
            "HIGHEST": "review",
        }
        assert (body["reviewDays"], body["reviewDefault"]) == (14, "release")


async def test_a_clean_join_is_low_and_allowed(client: httpx.AsyncClient, shop: Org) -> None:
    creator = await place_order(client, shop.sk_test, **stranger("olga"))
    assert (creator["riskLevel"], creator["riskReasons"], creator["reviewStatus"]) == (
        "LOW",
        [],
        None,
    )
    code = creator["paymentGroup"]["shareId"]
    friend = await place_order(client, shop.sk_test, code=code, **stranger("piet"))
    assert friend["joinError"] is None
    assert (friend["riskLevel"], friend["reviewStatus"], friend["reviewDueAt"]) == (
        "LOW",
        None,
        None,
    )


async def test_the_creators_second_mailbox_is_held_for_review(
    client: httpx.AsyncClient, shop: Org
) -> None:
    with frozen_at(START):
        creator = await place_order(client, shop.sk_test, **ana(customerEmail="anasilva@gmail.com"))
        code = creator["paymentGroup"]["shareId"]
        before = len(await all_events(client, shop.sk_test))
        second = await place_order(
            client,
            shop.sk_test,
            code=code,
            customerEmail="Ana.Silva+promo@googlemail.com",
            customerFirstName="Bea",
            customerLastName="Costa",
        )
    assert second["joinError"] is None
    assert second["riskLevel"] == "HIGHEST"
    assert codes(second)[:2] == ["CREATOR_SELF_JOIN", "SAME_MAILBOX"]
    mailbox = second["riskReasons"][1]
    assert mailbox["detail"] == "Ana.Silva+promo@googlemail.com = anasilva@gmail.com"
    assert second["reviewStatus"] == "PENDING"
    assert second["reviewDueAt"] == wire(START + timedelta(days=14))
    assert second["paymentGroup"]["participantsCount"] == 2
    events = (await all_events(client, shop.sk_test))[before:]
    assert [e["type"] for e in events if not e["type"].startswith("customer.")] == [
        "order.created",
        "order.review_required",
        "payment_group.joined",
        "payment_group.level_unlocked",
    ]


@pytest.mark.parametrize("route", ["/orders", "/checkout-sessions"])
async def test_refuse_opens_the_orders_own_group(
    client: httpx.AsyncClient, shop: Org, route: str
) -> None:
    await set_policy(client, shop, shop.sk_test, actions={"HIGHEST": "refuse"})
    creator = await place_order(client, shop.sk_test, **ana())
    code = creator["paymentGroup"]["shareId"]
    body = buyer(paymentGroupShareId=code, **ana())
    if route == "/checkout-sessions":
        body = {**body, "amountTotal": body.pop("amount")}
    response = await client.post(route, json=body, headers=bearer(shop.sk_test))
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["joinError"]["code"] == "RISK_REFUSED"
    assert "SAME_NAME" in answer["joinError"]["message"]
    assert answer["paymentGroupShareId"] != code
    assert answer["riskLevel"] == "HIGHEST"
    # An order that opens a group has nothing to refuse: its cashback is held instead.
    assert answer["reviewStatus"] == "PENDING"
    assert (await fetch(client, shop.sk_test, code))["participantsCount"] == 1


async def test_allow_lets_a_high_risk_join_through(client: httpx.AsyncClient, shop: Org) -> None:
    await set_policy(client, shop, shop.sk_test, actions={"HIGH": "allow"})
    creator = await place_order(client, shop.sk_test, **stranger("rosa"))
    code = creator["paymentGroup"]["shareId"]
    await place_order(
        client, shop.sk_test, code=code, **stranger("saul", customerPhoneNumber="+33612345678")
    )
    friend = await place_order(
        client, shop.sk_test, code=code, **stranger("tomas", customerPhoneNumber="06 12 34 56 78")
    )
    assert friend["riskLevel"] == "HIGH"
    assert "SAME_PHONE" in codes(friend)
    assert friend["reviewStatus"] is None


async def test_the_optional_fields_feed_the_signals(client: httpx.AsyncClient, shop: Org) -> None:
    creator = await place_order(
        client,
        shop.sk_test,
        **stranger("tina", customerIp="203.0.113.7", paymentFingerprint="fp_card_0001"),
    )
    assert creator["customerIp"] == "203.0.113.7"
    code = creator["paymentGroup"]["shareId"]
    friend = await place_order(
        client,
        shop.sk_test,
        code=code,
        **stranger("ugo", customerIp="203.0.113.7", paymentFingerprint="fp_card_0001"),
    )
    assert friend["riskLevel"] == "HIGHEST"
    assert {"SAME_PAYMENT_FINGERPRINT", "SAME_IP", "CREATOR_SELF_JOIN"} <= set(codes(friend))
    third = await place_order(client, shop.sk_test, **stranger("vera", customerIp="203.0.113.7"))
    assert "BURST" in codes(third)
    assert third["riskLevel"] == "HIGH" and third["reviewStatus"] == "PENDING"


async def test_a_join_counts_the_recent_orders_from_its_address(
    client: httpx.AsyncClient, shop: Org, db: Database
) -> None:
    ip = "198.51.100.23"
    creator = await place_order(client, shop.sk_test, **stranger("wim", customerIp=ip))
    code = creator["paymentGroup"]["shareId"]
    second = await place_order(client, shop.sk_test, code=code, **stranger("xia", customerIp=ip))
    assert second["paymentGroupShareId"] == code
    assert "SAME_IP" in codes(second) and "BURST" not in codes(second)
    third = await place_order(client, shop.sk_test, code=code, **stranger("yan", customerIp=ip))
    assert "BURST" in codes(third), codes(third)
    burst = next(r for r in third["riskReasons"] if r["code"] == "BURST")
    assert burst["detail"].startswith(f"3 orders from {ip}"), burst
    # the members and the address's count are read together; a group with no member left
    # (none is OPEN) still gets the count
    async with db.read() as session:
        alone = SimpleNamespace(id="grp_without_members", customer_id="cus_nobody")
        members, recent = await risk_repository.members_and_orders_from_ip(
            session,
            alone,
            organization_id=shop.id,
            livemode=False,
            ip=ip,
            since=clock.now() - timedelta(minutes=10),
        )
    assert (members, recent) == ([], 3)


async def test_a_disposable_domain_is_reviewed_when_it_opens(
    client: httpx.AsyncClient, shop: Org
) -> None:
    order = await place_order(client, shop.sk_test, customerEmail="x9@mailinator.com")
    assert codes(order) == ["DISPOSABLE_EMAIL"]
    assert order["reviewStatus"] == "PENDING"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"customerIp": "300.1.1.1"}, "customerIp"),
        ({"paymentFingerprint": ""}, "paymentFingerprint"),
        ({"deviceFingerprint": "x" * 256}, "deviceFingerprint"),
    ],
)
async def test_bad_risk_fields_are_refused(
    client: httpx.AsyncClient, shop: Org, body: dict[str, Any], param: str
) -> None:
    response = await client.post("/orders", json=buyer(**body), headers=bearer(shop.sk_test))
    assert_error(response, 400, "VALIDATION_ERROR", param=param)


async def _held_group(
    client: httpx.AsyncClient, shop: Org, size: int = 2
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A group of `size` that completes as the held order joins last: (creator, held)."""
    await patched(
        client, shop, {"maxParticipants": size, "discountLevels": levels((2, 10))}, shop.sk_test
    )
    creator = await place_order(client, shop.sk_test, amount=10_000, **ana())
    code = creator["paymentGroup"]["shareId"]
    for n in range(size - 2):
        await place_order(client, shop.sk_test, code=code, **stranger(f"m{n}abc"))
    held = await place_order(client, shop.sk_test, code=code, amount=5000, **ana())
    assert held["reviewStatus"] == "PENDING"
    return creator, held


async def _order(client: httpx.AsyncClient, key: str, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await get_json(client, key, f"/orders/{order_id}")
    return found


async def test_a_held_cashback_waits_then_approval_releases_it(
    client: httpx.AsyncClient, shop: Org
) -> None:
    creator, held = await _held_group(client, shop)
    assert held["paymentGroup"]["status"] == "COMPLETED"
    creator = await _order(client, shop.sk_test, creator["id"])
    held = await _order(client, shop.sk_test, held["id"])
    assert (creator["status"], creator["amountCashback"]) == ("CASHBACK_AVAILABLE", 1000)
    assert (held["status"], held["amountCashback"]) == ("CASHBACK_ON_HOLD", 500)
    events = await all_events(client, shop.sk_test)
    available = [e["data"]["id"] for e in events if e["type"] == "order.cashback_available"]
    assert held["id"] not in available and creator["id"] in available

    before = len(events)
    response = await review(client, shop.sk_test, held["id"], "approve")
    assert response.status_code == 200, response.text
    approved = response.json()
    assert (approved["status"], approved["reviewStatus"]) == ("CASHBACK_AVAILABLE", "APPROVED")
    assert approved["reviewedBy"].startswith("key_") and approved["reviewedAt"] is not None
    types = [e["type"] for e in (await all_events(client, shop.sk_test))[before:]]
    assert types == ["order.review_resolved", "order.cashback_available"]

    again = await review(client, shop.sk_test, held["id"], "reject")
    assert_error(again, 400, "REVIEW_NOT_PENDING", param="id")
    assert "already approved" in again.json()["error"]["message"]
    assert_error(
        await review(client, shop.sk_test, creator["id"], "approve"), 400, "REVIEW_NOT_PENDING"
    )


async def test_rejection_in_an_open_group_takes_the_order_out(
    client: httpx.AsyncClient, shop: Org
) -> None:
    creator = await place_order(client, shop.sk_test, **ana())
    code = creator["paymentGroup"]["shareId"]
    held = await place_order(client, shop.sk_test, code=code, **ana())
    assert (await fetch(client, shop.sk_test, code))["participantsCount"] == 2
    response = await review(client, shop.sk_test, held["id"], "reject")
    assert response.status_code == 200, response.text
    rejected = response.json()
    assert (rejected["status"], rejected["reviewStatus"]) == ("CASHBACK_REJECTED", "REJECTED")
    group = await fetch(client, shop.sk_test, code)
    assert (group["status"], group["participantsCount"]) == ("OPEN", 1)


async def test_rejection_after_completion_voids_only_that_cashback(
    client: httpx.AsyncClient, shop: Org
) -> None:
    creator, held = await _held_group(client, shop, size=3)
    response = await review(client, shop.sk_test, held["id"], "reject")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CASHBACK_REJECTED"
    kept = await _order(client, shop.sk_test, creator["id"])
    assert (kept["status"], kept["amountCashback"]) == ("CASHBACK_AVAILABLE", 1000)
    group = await fetch(client, shop.sk_test, held["paymentGroupShareId"])
    assert (group["status"], group["participantsCount"]) == ("COMPLETED", 3)


@pytest.mark.parametrize(
    ("default", "outcome", "status"),
    [
        ("release", "APPROVED", "CASHBACK_AVAILABLE"),
        ("reject", "REJECTED", "CASHBACK_REJECTED"),
    ],
)
async def test_the_deadline_applies_the_default(
    client: httpx.AsyncClient, db: Database, shop: Org, default: str, outcome: str, status: str
) -> None:
    with frozen_at(START) as traveller:
        await set_policy(client, shop, shop.sk_test, reviewDays=3, reviewDefault=default)
        _, held = await _held_group(client, shop)
        assert held["reviewDueAt"] == wire(START + timedelta(days=3))
        traveller.shift(timedelta(days=3) - timedelta(seconds=1))
        await resolve_due_reviews(db, now=clock.now(), limit=1000)
        assert (await _order(client, shop.sk_test, held["id"]))["reviewStatus"] == "PENDING"
        traveller.shift(timedelta(seconds=1))
        assert await resolve_due_reviews(db, now=clock.now(), limit=1000) >= 1
        decided = await _order(client, shop.sk_test, held["id"])
        assert (decided["reviewStatus"], decided["status"]) == (outcome, status)
        assert decided["reviewedBy"] == "system"
        assert await resolve_due_reviews(db, now=clock.now(), limit=1000) == 0


async def test_a_review_decided_while_the_group_is_open_follows_it_to_the_end(
    client: httpx.AsyncClient, db: Database, shop: Org
) -> None:
    with frozen_at(START) as traveller:
        creator = await place_order(client, shop.sk_test, **ana())
        code = creator["paymentGroup"]["shareId"]
        held = await place_order(client, shop.sk_test, code=code, **ana())
        response = await review(client, shop.sk_test, held["id"], "approve")
        assert response.json()["status"] == "CREATED"
        traveller.shift(timedelta(minutes=11))
        while await jobs.end_due_groups(db, now=clock.now(), limit=1000):
            pass
        assert (await _order(client, shop.sk_test, held["id"]))["status"] == "CASHBACK_AVAILABLE"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"actions": {"HIGH": "maybe"}}, "actions.HIGH"),
        ({"reviewDays": 0}, "reviewDays"),
        ({"reviewDays": 91}, "reviewDays"),
        ({"reviewDefault": "keep"}, "reviewDefault"),
        ({"actions": None}, "actions"),
    ],
)
async def test_bad_policies_are_refused_and_change_nothing(
    client: httpx.AsyncClient, shop: Org, body: dict[str, Any], param: str
) -> None:
    url = f"/organizations/{shop.id}/risk-policy"
    before = await get_json(client, shop.sk_test, url)
    response = await client.patch(url, json=body, headers=bearer(shop.sk_test))
    assert_error(response, 400, "VALIDATION_ERROR", param=param)
    assert await get_json(client, shop.sk_test, url) == before


async def test_a_review_needs_a_decision(client: httpx.AsyncClient, shop: Org) -> None:
    order = await place_order(client, shop.sk_test, customerEmail="y@mailinator.com")
    for body in ({}, {"decision": "maybe"}):
        response = await client.post(
            f"/orders/{order['id']}/review", json=body, headers=bearer(shop.sk_test)
        )
        assert_error(response, 400, "VALIDATION_ERROR", param="decision")
    assert_error(
        await review(client, shop.sk_test, "ord_00000000000000", "approve"), 404, "NOT_FOUND"
    )


async def test_the_workers_sweep_decides_the_reviews_past_their_deadline(
    client: httpx.AsyncClient, db: Database, shop: Org
) -> None:
    with frozen_at(START) as traveller:
        await set_policy(client, shop, shop.sk_test, reviewDays=1)
        _, held = await _held_group(client, shop)
        traveller.shift(timedelta(days=1, seconds=1))
        swept = await Worker(db=db).sweep()
    assert swept.reviewed >= 1
    decided = await _order(client, shop.sk_test, held["id"])
    assert (decided["status"], decided["reviewedBy"]) == ("CASHBACK_AVAILABLE", "system")


@pytest.mark.parametrize("route", ["/orders", "/checkout-sessions"])
async def test_review_and_allow_through_both_routes(
    client: httpx.AsyncClient, shop: Org, route: str
) -> None:
    creator = await place_order(client, shop.sk_test, **ana())
    code = creator["paymentGroup"]["shareId"]

    async def post(**overrides: Any) -> dict[str, Any]:
        body = buyer(paymentGroupShareId=code, **ana(), **overrides)
        if route == "/checkout-sessions":
            body = {**body, "amountTotal": body.pop("amount")}
        response = await client.post(route, json=body, headers=bearer(shop.sk_test))
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        assert answer["joinError"] is None and answer["paymentGroupShareId"] == code
        return answer

    held = await post()
    assert (held["riskLevel"], held["reviewStatus"]) == ("HIGHEST", "PENDING")
    await set_policy(client, shop, shop.sk_test, actions={"HIGHEST": "allow"})
    allowed = await post()
    assert (allowed["riskLevel"], allowed["reviewStatus"]) == ("HIGHEST", None)


def test_webhooks_can_subscribe_to_the_trust_events() -> None:
    types = {"order.review_required", "order.review_resolved", "budget.threshold_reached"}
    assert types <= set(EVENT_TYPES)


async def test_orders_are_listed_by_review_and_risk(client: httpx.AsyncClient, shop: Org) -> None:
    _, held = await _held_group(client, shop)
    page = await get_json(
        client,
        shop.sk_test,
        "/orders",
        search="reviewStatus:PENDING,riskLevel:HIGHEST",
        orderBy="reviewDueAt:asc",
        take=100,
    )
    assert held["id"] in [order["id"] for order in page["data"]]
    assert {order["reviewStatus"] for order in page["data"]} == {"PENDING"}
    response = await client.get(
        "/orders", params={"search": "riskLevel:SEVERE"}, headers=bearer(shop.sk_test)
    )
    assert_error(response, 400, "VALIDATION_ERROR")
