"""`/metrics`: Prometheus text, counting changes once they are committed."""

from datetime import UTC, datetime, timedelta

import httpx
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from kohort.db import Database
from kohort.worker import Worker
from tests.factories import Org, bearer
from tests.order.api import buyer, new_group, post_order


async def scrape(client: httpx.AsyncClient) -> dict[str, float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


def grew(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


async def test_groups_opened_and_expired_are_counted_once_committed(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    before = await scrape(client)
    group = await new_group(client, org.sk_test)
    refused = await post_order(client, org.sk_test, buyer(amount=0))
    assert refused.status_code == 400
    expired = await client.post(f"/groups/{group['id']}/expire", headers=bearer(org.sk_test))
    assert expired.status_code == 200
    again = await client.post(f"/groups/{group['id']}/expire", headers=bearer(org.sk_test))
    assert again.status_code == 400
    after = await scrape(client)

    assert grew(before, after, "kohort_groups_opened_total") == 1
    assert grew(before, after, "kohort_groups_expired_total") == 1


async def test_the_worker_counts_what_it_ends_and_reports_its_lag(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    start = datetime.now(UTC)
    with time_machine.travel(start - timedelta(hours=1), tick=False):
        await new_group(client, org.sk_test)
    before = await scrape(client)
    await Worker(db=db).sweep()
    after = await scrape(client)

    assert grew(before, after, "kohort_groups_expired_total") >= 1
    assert after["kohort_worker_sweep_lag_seconds"] >= 50 * 60, "the group fell due 50 min ago"
    assert grew(before, after, "kohort_worker_batch_seconds_count{kind=end}") == 1
