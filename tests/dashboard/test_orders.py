"""The Orders and Customers pages: the API's lists with their filters, sorts and pages; an
order's page (amounts, group, cashback, payout, refunds, metadata, join error); cancelling and
refunding through the page, then what the API says; the refusals of the services on the page
with nothing changed; customers blocked, unblocked, edited, deleted and restored; a viewer's
limits; another organization's or mode's ids are not found; bad input is never a 500."""

import html as markup
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from kohort.db import Database
from kohort.ids import new_id
from kohort.models import Payout, Refund
from tests.dashboard.conftest import csrf_of, make_user, sign_in
from tests.factories import Org, bearer, make_customer
from tests.order.api import create_order, frozen_at, get_json, join, place_order
from tests.order.test_cancel import completed_group

DASH = "\u2013"


def base(org: Org) -> str:
    return f"/dashboard/o/{org.id}"


def listed(page: httpx.Response, org: Org, kind: str = "orders") -> list[str]:
    """The ids the list links to, in the order shown."""
    assert page.status_code == 200, page.text
    pattern = rf'<td data-label="[^"]*"><a href="{re.escape(base(org))}/{kind}/([^"?/]+)"'
    return re.findall(pattern, page.text)


def text_of(page: httpx.Response) -> str:
    """The page's text, tags removed and spaces collapsed (for exact sentences)."""
    main = page.text.split('<main id="main" tabindex="-1">', 1)[-1]
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", main)).split())


def table_text(page: httpx.Response) -> str:
    """The text of the page's first table body."""
    body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def figure(page: httpx.Response, key: str) -> str:
    found = re.search(
        rf'data-figure="{key}"><dt>[^<]*</dt><dd><span class="value">([^<]*)</span>', page.text
    )
    assert found, key
    return markup.unescape(found.group(1))


async def owner(browser: httpx.AsyncClient, db: Database, org: Org, role: str = "owner") -> str:
    """Signs `browser` in as a new member of `org` with `role`; the CSRF token of its pages."""
    response = await sign_in(browser, await make_user(db, org, role=role))
    assert response.status_code == 303, response.text
    page = await browser.get(f"{base(org)}/orders")
    return csrf_of(page.text)


async def api_order(client: httpx.AsyncClient, org: Org, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await get_json(client, org.sk_test, f"/orders/{order_id}")
    return found


async def refund_rows(db: Database, order_id: str) -> int:
    async with db.read() as session:
        stmt = select(func.count()).select_from(Refund).where(Refund.order_id == order_id)
        return (await session.execute(stmt)).scalar_one()


async def test_the_orders_list_filters_sorts_and_pages(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    with frozen_at(datetime.now(UTC) - timedelta(minutes=5)) as clock:
        first = await place_order(
            client, org.sk_test, amount=5000, customerEmail="ana.first@example.com"
        )
        clock.shift(1)
        joined = await join(
            client,
            org.sk_test,
            first["paymentGroup"]["shareId"],
            amount=3000,
            clientReferenceId="SHOP-1002",
        )
        clock.shift(1)
        lonely = await create_order(client, org.sk_test, amount=8000)
        clock.shift(1)
        await client.post(f"/orders/{lonely['id']}/cancel", headers=bearer(org.sk_test))
    await create_order(client, org.sk_live, amount=9900)
    await owner(browser, db, org)
    url = f"{base(org)}/orders"

    page = await browser.get(url)
    assert listed(page, org) == [lonely["id"], joined["id"], first["id"]]
    assert f"1{DASH}3 of 3" in page.text
    text = table_text(page)
    assert "SHOP-1002" in text and "€30.00" in text and "ana.first@example.com" in text
    assert f'href="{base(org)}/groups/{first["paymentGroupId"]}"' in page.text
    assert text.count("created it") == 2 and text.count("joined it") == 1
    assert text.count("Canceled") == 1 and text.count("Waiting for the group") == 2

    assert listed(await browser.get(url, params={"status": "CANCELED"}), org) == [lonely["id"]]
    assert listed(await browser.get(url, params={"status": "CREATED"}), org) == [
        joined["id"],
        first["id"],
    ]
    assert listed(await browser.get(url, params={"q": "ANA.first"}), org) == [first["id"]]
    assert listed(await browser.get(url, params={"q": "shop-1002"}), org) == [joined["id"]]
    assert listed(await browser.get(url, params={"q": lonely["id"]}), org) == [lonely["id"]]
    upper = lonely["id"][4:].upper()
    assert listed(await browser.get(url, params={"q": upper}), org) == [lonely["id"]]
    both = await browser.get(url, params={"q": "example.com", "status": "CANCELED"})
    assert listed(both, org) == [lonely["id"]]
    assert listed(await browser.get(url, params={"q": "nobody,at:all"}), org) == []

    ascending = await browser.get(url, params={"sort": "amount", "dir": "asc"})
    assert listed(ascending, org) == [joined["id"], first["id"], lonely["id"]]
    assert 'aria-sort="ascending"' in ascending.text
    descending = await browser.get(url, params={"sort": "amount", "dir": "desc"})
    assert listed(descending, org) == [lonely["id"], first["id"], joined["id"]]
    oldest = await browser.get(url, params={"sort": "createdAt", "dir": "asc"})
    assert listed(oldest, org) == [first["id"], joined["id"], lonely["id"]]
    unknown = await browser.get(url, params={"sort": "nonsense", "dir": "sideways"})
    assert listed(unknown, org) == [lonely["id"], joined["id"], first["id"]]

    bad = await browser.get(url, params={"status": "LOST"})
    assert bad.status_code == 400
    assert "This filter cannot be applied." in text_of(bad)
    assert "status must be one of" in text_of(bad)


async def test_the_orders_list_has_pages(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    made = []
    with frozen_at(datetime.now(UTC) - timedelta(minutes=5)) as clock:
        for _ in range(27):
            made.append((await create_order(client, org.sk_test))["id"])
            clock.shift(1)
    await owner(browser, db, org)
    url = f"{base(org)}/orders"
    first = await browser.get(url)
    assert listed(first, org) == made[::-1][:25]
    assert f"1{DASH}25 of 27" in first.text and "Page 1 of 2" in first.text
    assert 'rel="next"' in first.text
    second = await browser.get(url, params={"page": "2"})
    assert listed(second, org) == made[::-1][25:]
    assert f"26{DASH}27 of 27" in second.text and 'rel="prev"' in second.text
    for wrong in ("999999999", "-3", "abc"):
        answer = await browser.get(url, params={"page": wrong})
        assert answer.status_code == 200
    assert listed(await browser.get(url, params={"page": "999999999"}), org) == made[:2][::-1]


async def test_an_order_page_shows_the_order_its_group_cashback_and_payout(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    group, (creator, member, _) = await completed_group(client, org, db)
    await owner(browser, db, org)
    page = await browser.get(f"{base(org)}/orders/{creator['id']}")
    assert page.status_code == 200, page.text
    assert figure(page, "amount") == "€100.00"
    assert figure(page, "amountRefunded") == "€0.00"
    assert figure(page, "left") == "€100.00"
    assert figure(page, "amountCashback") == "€10.00"
    assert figure(page, "applicationFeeAmount") == "€0.00"
    text = text_of(page)
    assert f"Order {creator['id']} Cashback due" in text
    assert f"Group {group['shareId']} · Completed · this order created it · 3 of 10 members" in text
    assert "Cashback €10.00 · Cashback due · level 2 (10%)" in text
    assert "Payout None" in text
    assert "No refund." in text
    assert f'href="{base(org)}/customers/{creator["customerId"]}"' in page.text
    assert f'href="{base(org)}/groups/{group["id"]}"' in page.text
    assert f'action="{base(org)}/orders/{creator["id"]}/cancel"' in page.text
    assert f'action="{base(org)}/orders/{creator["id"]}/refunds"' in page.text
    assert 'data-confirm="Cancel this order?"' in page.text

    joined = text_of(await browser.get(f"{base(org)}/orders/{member['id']}"))
    assert "this order joined it" in joined and "Cashback €3.00 · Cashback due" in joined

    now = datetime.now(UTC)
    async with db.write() as session:
        session.add(
            Payout(
                id=new_id("po"),
                organization_id=org.id,
                livemode=False,
                order_id=member["id"],
                method="test",
                amount=300,
                currency="EUR",
                status="pending",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
    paid = await browser.get(f"{base(org)}/orders/{member['id']}")
    assert "Payout Pending · test · €3.00 · See the payouts" in text_of(paid)
    assert f'href="{base(org)}/payouts"' in paid.text
    assert "/cancel" not in paid.text and "/refunds" not in paid.text
    assert "the order can no longer be changed here" in text_of(paid)
    csrf = csrf_of(paid.text)
    refused = await browser.post(f"{base(org)}/orders/{member['id']}/cancel", data={"csrf": csrf})
    assert refused.status_code == 400
    assert (
        f"The cashback of order {member['id']} is already being paid or sent; it cannot be "
        "canceled." in text_of(refused)
    )
    assert (await api_order(client, org, member["id"]))["status"] == "CASHBACK_AVAILABLE"
    listing = await browser.get(f"{base(org)}/orders", params={"q": member["id"]})
    assert "Pending" in table_text(listing)
    url = f"{base(org)}/orders"
    assert listed(await browser.get(url, params={"payout": "pending"}), org) == [member["id"]]
    assert listed(await browser.get(url, params={"payout": "failed"}), org) == []
    without = listed(await browser.get(url, params={"payout": "none"}), org)
    assert member["id"] not in without and creator["id"] in without and len(without) == 2
    wrong = await browser.get(url, params={"payout": "soon"})
    assert wrong.status_code == 400 and "This filter cannot be applied." in text_of(wrong)


async def test_an_order_page_shows_metadata_references_and_the_join_error(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    order = await create_order(
        client,
        org.sk_test,
        amount=4250,
        clientReferenceId="SHOP-77",
        paymentReference="pi_abc123",
        paymentGroupShareId="NO-SUCH-CODE",
        metadata={"cart": "c-42"},
    )
    assert order["joinError"] is not None
    await owner(browser, db, org)
    page = await browser.get(f"{base(org)}/orders/{order['id']}")
    text = text_of(page)
    assert "Order SHOP-77 Waiting for the group" in text
    assert f"Order id {order['id']} Shop's reference SHOP-77 Payment reference pi_abc123" in text
    assert f"Code not joined {order['joinError']['code']}: {order['joinError']['message']}" in text
    assert "Metadata cart c-42" in text
    assert f"Customer {order['customerEmail']} · Ada Lovelace" in text


async def test_cancelling_through_the_page_is_what_the_api_then_says(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    order = await create_order(client, org.sk_test)
    csrf = await owner(browser, db, org)
    url = f"{base(org)}/orders/{order['id']}"
    done = await browser.post(f"{url}/cancel", data={"csrf": csrf})
    assert done.status_code == 303
    assert done.headers["location"] == f"{url}?done=canceled"
    stored = await api_order(client, org, order["id"])
    assert stored["status"] == "CANCELED" and stored["canceledAt"] is not None
    page = await browser.get(done.headers["location"])
    assert "The order is canceled." in text_of(page)
    assert "Order" in text_of(page) and "Canceled" in text_of(page)
    assert "/cancel" not in page.text and "/refunds" not in page.text

    again = await browser.post(f"{url}/cancel", data={"csrf": csrf})
    assert again.status_code == 400
    assert "This order is already canceled." in text_of(again)
    assert f"Order {order['id']} is already canceled." in text_of(again)
    assert await api_order(client, org, order["id"]) == stored


async def test_refunds_through_the_page_then_the_amounts(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    order = await create_order(client, org.sk_test, amount=10000)
    csrf = await owner(browser, db, org)
    url = f"{base(org)}/orders/{order['id']}"
    done = await browser.post(
        f"{url}/refunds", data={"csrf": csrf, "amount": "12.50", "reason": "A broken cup"}
    )
    assert done.status_code == 303 and done.headers["location"] == f"{url}?done=refunded"
    stored = await api_order(client, org, order["id"])
    assert stored["amountRefunded"] == 1250 and stored["status"] == "CREATED"
    api_refunds = await get_json(client, org.sk_test, f"/orders/{order['id']}/refunds")
    assert [(r["amount"], r["reason"]) for r in api_refunds["data"]] == [(1250, "A broken cup")]
    assert api_refunds["data"][0]["createdBy"].startswith("usr_")
    page = await browser.get(done.headers["location"])
    assert "The refund is recorded." in text_of(page)
    assert figure(page, "amountRefunded") == "€12.50"
    assert figure(page, "left") == "€87.50"
    assert f"{api_refunds['data'][0]['id']} €12.50 A broken cup" in text_of(page)
    assert "At most €87.50; all of it cancels the order." in text_of(page)

    over = await browser.post(f"{url}/refunds", data={"csrf": csrf, "amount": "87.51"})
    assert over.status_code == 400
    error = re.search(r'role="alert" id="refund-error">(.*?)</span>', over.text)
    assert error, over.text
    assert (
        markup.unescape(re.sub(r"<[^>]+>", " ", error.group(1))).split()
        == (
            "This is more than what is left to refund. The refund of 8751 cents exceeds the 8750 "
            f"cents left to refund on order {order['id']} (10000 paid, 1250 already refunded)."
        ).split()
    )
    assert 'value="87.51"' in over.text and 'aria-invalid="true"' in over.text
    assert f'name="next" value="{url}"' in over.text
    assert await api_order(client, org, order["id"]) == stored
    assert await refund_rows(db, order["id"]) == 1

    for wrong in ("abc", "-1", "0", "1.234", "", "1e3", "NaN", "9" * 50):
        refused = await browser.post(f"{url}/refunds", data={"csrf": csrf, "amount": wrong})
        assert refused.status_code == 400, wrong
        assert "Enter an amount such as 12.50." in text_of(refused), wrong
    too_long = await browser.post(
        f"{url}/refunds", data={"csrf": csrf, "amount": "1", "reason": "x" * 501}
    )
    assert too_long.status_code == 400 and 'id="reason-error"' in too_long.text
    assert await api_order(client, org, order["id"]) == stored
    assert await refund_rows(db, order["id"]) == 1

    rest = await browser.post(f"{url}/refunds", data={"csrf": csrf, "amount": "87,50"})
    assert rest.status_code == 303
    final = await api_order(client, org, order["id"])
    assert final["status"] == "CANCELED" and final["amountRefunded"] == 10000


async def test_customers_are_listed_filtered_sorted_and_found(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    with frozen_at(datetime.now(UTC) - timedelta(minutes=5)) as clock:
        zoe = await make_customer(
            client, org.sk_test, emailAddress="zoe@example.com", firstName="Zoé", lastName="Abel"
        )
        clock.shift(1)
        bob = await make_customer(
            client, org.sk_test, emailAddress="bob@example.com", firstName="Bob", lastName="Zed"
        )
        clock.shift(1)
        gone = await make_customer(client, org.sk_test, emailAddress="gone@example.com")
    await client.patch(f"/customers/{bob['id']}/block", headers=bearer(org.sk_test))
    await client.delete(f"/customers/{gone['id']}", headers=bearer(org.sk_test))
    await make_customer(client, org.sk_live, emailAddress="live@example.com")
    await owner(browser, db, org)
    url = f"{base(org)}/customers"

    page = await browser.get(url)
    assert listed(page, org, "customers") == [bob["id"], zoe["id"]]
    rows = table_text(page)
    assert "bob@example.com Bob Zed Blocked" in rows and "zoe@example.com Zoé Abel No" in rows
    yes = await browser.get(url, params={"blocked": "yes"})
    assert listed(yes, org, "customers") == [bob["id"]]
    no = await browser.get(url, params={"blocked": "no"})
    assert listed(no, org, "customers") == [zoe["id"]]
    assert listed(await browser.get(url, params={"q": "zoé"}), org, "customers") == [zoe["id"]]
    assert listed(await browser.get(url, params={"q": "ZED"}), org, "customers") == [bob["id"]]
    assert listed(await browser.get(url, params={"q": "bob@ex"}), org, "customers") == [bob["id"]]
    by_email = await browser.get(url, params={"sort": "emailAddress", "dir": "asc"})
    assert listed(by_email, org, "customers") == [bob["id"], zoe["id"]]
    by_name = await browser.get(url, params={"sort": "lastName", "dir": "asc"})
    assert listed(by_name, org, "customers") == [zoe["id"], bob["id"]]
    wrong = await browser.get(url, params={"blocked": "maybe"})
    assert wrong.status_code == 400 and "This filter cannot be applied." in text_of(wrong)
    assert listed(await browser.get(url, params={"page": "77"}), org, "customers") == [
        bob["id"],
        zoe["id"],
    ]


async def test_a_customer_is_blocked_unblocked_edited_deleted_and_restored(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    theirs = await create_order(client, org.sk_test, amount=2000, customerEmail="kim@example.com")
    await create_order(client, org.sk_test, amount=3000)
    customer_id = theirs["customerId"]
    csrf = await owner(browser, db, org)
    url = f"{base(org)}/customers/{customer_id}"
    api = f"/customers/{customer_id}"

    page = await browser.get(url)
    assert listed(page, org) == [theirs["id"]]
    assert "kim@example.com" in text_of(page) and "€20.00" in text_of(page)
    assert f'action="{url}/block" data-confirm=' in page.text
    assert f'action="{url}/delete" data-confirm=' in page.text

    blocked = await browser.post(f"{url}/block", data={"csrf": csrf})
    assert blocked.status_code == 303 and blocked.headers["location"] == f"{url}?done=blocked"
    stored = await get_json(client, org.sk_test, api)
    assert stored["isBlocked"] is True and stored["blockedBy"].startswith("usr_")
    shown = await browser.get(blocked.headers["location"])
    assert "The customer is blocked" in text_of(shown) and f'action="{url}/unblock"' in shown.text
    refused = await client.post(
        "/orders",
        json={"amount": 1000, "customerId": customer_id},
        headers=bearer(org.sk_test),
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "CUSTOMER_BLOCKED"
    assert (await browser.post(f"{url}/unblock", data={"csrf": csrf})).status_code == 303
    assert (await get_json(client, org.sk_test, api))["isBlocked"] is False

    edited = await browser.post(
        f"{url}/edit",
        data={
            "csrf": csrf,
            "emailAddress": "kim@example.com",
            "firstName": "Kim",
            "lastName": "Lee",
            "phoneNumber": "+33 6 12 34 56 78",
            "locale": "en_GB",
        },
    )
    assert edited.status_code == 303
    stored = await get_json(client, org.sk_test, api)
    assert (stored["firstName"], stored["lastName"], stored["phoneNumber"], stored["locale"]) == (
        "Kim",
        "Lee",
        "+33612345678",
        "en_GB",
    )
    bad_phone = await browser.post(
        f"{url}/edit",
        data={
            "csrf": csrf,
            "emailAddress": "kim@example.com",
            "phoneNumber": "12",
            "locale": "fr_FR",
        },
    )
    assert bad_phone.status_code == 400
    assert "phoneNumber is not a valid phone number." in text_of(bad_phone)
    assert 'value="12"' in bad_phone.text
    other = await make_customer(client, org.sk_test)
    taken = await browser.post(
        f"{url}/edit",
        data={"csrf": csrf, "emailAddress": other["emailAddress"], "locale": "fr_FR"},
    )
    assert taken.status_code == 400 and "Another customer has this e-mail." in text_of(taken)
    assert await get_json(client, org.sk_test, api) == stored

    deleted = await browser.post(f"{url}/delete", data={"csrf": csrf})
    assert deleted.status_code == 303
    assert (await get_json(client, org.sk_test, api))["deletedAt"] is not None
    shown = await browser.get(url)
    assert f'action="{url}/restore"' in shown.text and f'action="{url}/block"' not in shown.text
    assert customer_id not in (await browser.get(f"{base(org)}/customers")).text
    assert (await browser.post(f"{url}/block", data={"csrf": csrf})).status_code == 404
    assert (await browser.post(f"{url}/restore", data={"csrf": csrf})).status_code == 303
    assert (await get_json(client, org.sk_test, api))["deletedAt"] is None


async def test_a_viewer_sees_no_forms_and_cannot_post(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    order = await create_order(client, org.sk_test)
    csrf = await owner(browser, db, org, role="viewer")
    order_url = f"{base(org)}/orders/{order['id']}"
    customer_url = f"{base(org)}/customers/{order['customerId']}"
    for url in (order_url, customer_url):
        page = await browser.get(url)
        assert page.status_code == 200
        assert f'action="{base(org)}/orders/' not in page.text
        assert f'action="{base(org)}/customers/' not in page.text
    posts = [
        (f"{order_url}/cancel", {}),
        (f"{order_url}/refunds", {"amount": "1"}),
        *[(f"{customer_url}/{action}", {}) for action in ("block", "delete", "unblock")],
        (f"{customer_url}/edit", {"emailAddress": "x@example.com", "locale": "fr_FR"}),
    ]
    for url, data in posts:
        answer = await browser.post(url, data={"csrf": csrf, **data})
        assert answer.status_code == 403, url
    stored = await api_order(client, org, order["id"])
    assert stored["status"] == "CREATED" and stored["amountRefunded"] == 0
    customer = await get_json(client, org.sk_test, f"/customers/{order['customerId']}")
    assert customer["isBlocked"] is False and customer["deletedAt"] is None


async def test_without_the_csrf_token_nothing_changes(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    order = await create_order(client, org.sk_test)
    await owner(browser, db, org)
    answer = await browser.post(f"{base(org)}/orders/{order['id']}/cancel", data={})
    assert answer.status_code == 403
    assert (await api_order(client, org, order["id"]))["status"] == "CREATED"


async def test_another_organization_or_mode_is_not_found(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    foreign = await create_order(client, other_org.sk_test)
    live = await create_order(client, org.sk_live)
    csrf = await owner(browser, db, org)
    for order, customer in (
        (foreign["id"], foreign["customerId"]),
        (live["id"], live["customerId"]),
    ):
        assert (await browser.get(f"{base(org)}/orders/{order}")).status_code == 404
        assert (await browser.get(f"{base(org)}/customers/{customer}")).status_code == 404
        for action in ("cancel", "refunds"):
            answer = await browser.post(
                f"{base(org)}/orders/{order}/{action}", data={"csrf": csrf, "amount": "1"}
            )
            assert answer.status_code == 404
        for action in ("block", "delete", "restore", "edit"):
            answer = await browser.post(
                f"{base(org)}/customers/{customer}/{action}", data={"csrf": csrf}
            )
            assert answer.status_code == 404
    assert (await browser.get(f"/dashboard/o/{other_org.id}/orders")).status_code == 404
    assert (await browser.get(f"/dashboard/o/{other_org.id}/customers")).status_code == 404
    assert (await get_json(client, other_org.sk_test, f"/orders/{foreign['id']}"))[
        "status"
    ] == "CREATED"
    listed_ids = listed(await browser.get(f"{base(org)}/orders"), org)
    assert live["id"] not in listed_ids and foreign["id"] not in listed_ids


async def test_garbage_is_never_a_server_error(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    order = await create_order(client, org.sk_test)
    csrf = await owner(browser, db, org)
    for path in (
        f"{base(org)}/orders/ord_{'x' * 500}",
        f"{base(org)}/orders/%00%FF",
        f"{base(org)}/customers/cus_'; DROP TABLE customers; --",
        f"{base(org)}/orders?q=%25_%5C&status=&sort=amount&dir=&page=0",
        f"{base(org)}/orders?q={'é' * 5000}",
        f"{base(org)}/customers?q=%00&blocked=&sort=isBlocked",
        f"{base(org)}/orders/{order['id']}?page=-1&sort=amount",
    ):
        answer = await browser.get(path)
        assert answer.status_code in (200, 400, 404), (path, answer.status_code)
    for path in ("orders/%00/cancel", "orders/%00/refunds", "customers/%00/block"):
        answer = await browser.post(f"{base(org)}/{path}", data={"csrf": csrf, "amount": "1"})
        assert answer.status_code == 404, path
    nul = await browser.get(f"{base(org)}/orders", params={"q": "a\x00b", "status": "\x00"})
    assert nul.status_code == 404, "a NUL in the query string is the 404 page, as in a path"
    weird = await browser.post(
        f"{base(org)}/orders/{order['id']}/refunds",
        data={"csrf": csrf, "amount": "1\x00", "reason": "\x07"},
    )
    assert weird.status_code == 400
    control = await browser.post(
        f"{base(org)}/orders/{order['id']}/refunds",
        data={"csrf": csrf, "amount": "1", "reason": "bell\x07"},
    )
    assert control.status_code == 400 and 'id="reason-error"' in control.text
    assert (await api_order(client, org, order["id"]))["amountRefunded"] == 0


async def test_the_order_page_speaks_french(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    order = await create_order(client, org.sk_test, amount=10000)
    csrf = await owner(browser, db, org)
    french = {"Accept-Language": "fr-FR"}
    url = f"{base(org)}/orders/{order['id']}"
    page = await browser.get(url, headers=french)
    assert figure(page, "left") == "100,00\xa0€"
    assert "Reste à rembourser" in text_of(page) and "En attente du groupe" in text_of(page)
    over = await browser.post(
        f"{url}/refunds", data={"csrf": csrf, "amount": "100,01"}, headers=french
    )
    assert over.status_code == 400
    assert "C\u2019est plus que ce qui reste à rembourser." in text_of(over)
    listing = await browser.get(f"{base(org)}/orders", headers=french)
    assert "Filtrer les commandes" in listing.text and "100,00 €" in table_text(listing)
