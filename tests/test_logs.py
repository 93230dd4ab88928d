"""One log line per request: request id, method, path, status, duration, organization id."""

import json
import logging

import httpx
import pytest

from kohort.logs import JSONFormatter, TextFormatter
from tests.factories import Org, bearer


async def test_each_request_logs_one_line_without_the_key(
    client: httpx.AsyncClient, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="kohort.request"):
        response = await client.get("/customers?take=5", headers=bearer(org.sk_test))
    records = [r for r in caplog.records if r.name == "kohort.request"]
    assert len(records) == 1
    record = records[0]
    assert record.__dict__["request_id"] == response.headers["Request-Id"]
    assert record.__dict__["method"] == "GET"
    assert record.__dict__["path"] == "/customers"
    assert record.__dict__["status"] == 200
    assert record.__dict__["organization_id"] == org.id
    assert isinstance(record.__dict__["duration_ms"], float)
    for formatter in (JSONFormatter(), TextFormatter()):
        line = formatter.format(record)
        assert org.sk_test not in line
        assert "\n" not in line
    entry = json.loads(JSONFormatter().format(record))
    assert entry["request_id"] == response.headers["Request-Id"]
    assert entry["status"] == 200
    assert entry["organization_id"] == org.id
    assert entry["level"] == "info"


async def test_a_refused_request_is_logged_without_an_organization(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    key = "sk_test_" + "x" * 40
    with caplog.at_level(logging.INFO, logger="kohort.request"):
        response = await client.get("/customers", headers=bearer(key))
    assert response.status_code == 401
    records = [r for r in caplog.records if r.name == "kohort.request"]
    assert [r.__dict__["status"] for r in records] == [401]
    assert records[0].__dict__["organization_id"] is None
    assert key not in JSONFormatter().format(records[0])
