"""Twenty simultaneous submits of one withdrawal form against `kohort serve` (two processes
on PostgreSQL): one payout, one `order.cashback_processing`, and every other submit is told
the link was used."""

import asyncio
from collections import Counter

import httpx
import pytest

from tests.serve import Server
from tests.withdrawal.flow import VALID_IBAN, events_of, opened_form, order_of, payouts_of
from tests.withdrawal.served import live_order_with_link

pytestmark = pytest.mark.concurrency

SUBMITS = 20


async def test_twenty_simultaneous_submits_make_one_payout(server: Server) -> None:
    key = server.keys["sk_live"]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        order, url = await live_order_with_link(client, server)
        csrf = await opened_form(client, url)
        form = {"csrf": csrf, "holder": "Ada Lovelace", "iban": VALID_IBAN}

        responses = await asyncio.gather(*(client.post(url, data=form) for _ in range(SUBMITS)))

        assert Counter(r.status_code for r in responses) == {200: 1, 410: SUBMITS - 1}
        assert all(
            "Ce lien a déjà été utilisé" in r.text for r in responses if r.status_code == 410
        )
        [payout] = await payouts_of(client, key, str(order["id"]))
        assert payout["status"] == "pending" and payout["method"] == "sepa_transfer"
        assert len(await events_of(client, key, "order.cashback_processing", str(order["id"]))) == 1
        assert (await order_of(client, key, str(order["id"])))["status"] == "CASHBACK_PROCESSING"
