"""One log line per request: request id, method, path, status, duration, organization id;
the same in every process of `kohort serve --workers N`."""

import json
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from kohort.config import Settings
from kohort.logs import JSONFormatter, TextFormatter
from tests.factories import Org, bearer
from tests.serve import serving
from tests.shapes import TIMESTAMP


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


def _log_entries(log: Path) -> list[dict[str, Any]]:
    """Every line `kohort serve` wrote, each one a JSON object (else the test fails)."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.concurrency
def test_every_serve_process_logs_like_a_single_one(settings: Settings, tmp_path: Path) -> None:
    """`kohort serve --workers 2`: both worker processes log their request lines, with time,
    request id and pid, and uvicorn's own warnings go through the same formatter."""
    if settings.is_sqlite:
        pytest.skip(
            "several `kohort serve` processes need PostgreSQL "
            "(set KOHORT_TEST_DATABASE_URL to run this test)"
        )
    env = {"KOHORT_LOG_LEVEL": "INFO", "KOHORT_LOG_FORMAT": "json", "KOHORT_WORKER": "off"}
    with serving(tmp_path, workers=2, env=env) as server:

        def fresh_get(_: int) -> str:
            response = httpx.get(f"{server.base_url}/health", timeout=10)
            assert response.status_code == 200
            return response.headers["Request-Id"]

        request_ids: list[str] = []
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(max_workers=16) as pool:
            while len(pids) < 2 and time.monotonic() < deadline:
                request_ids += pool.map(fresh_get, range(32))
                time.sleep(0.5)
                entries = _log_entries(server.log)
                pids = {e["pid"] for e in entries if e.get("request_id") in request_ids}
        for _ in range(4):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(b"NOT HTTP\r\n\r\n")
                assert b"400" in sock.recv(4096)
        time.sleep(0.5)
        entries = _log_entries(server.log)

    assert len(pids) == 2 and server.pid not in pids, pids
    lines = {e["request_id"]: e for e in entries if e["logger"] == "kohort.request"}
    assert set(request_ids) <= set(lines)
    for request_id in request_ids:
        line = lines[request_id]
        assert TIMESTAMP.match(line["time"]), line
        assert (line["level"], line["method"], line["path"], line["status"]) == (
            "info",
            "GET",
            "/health",
            200,
        )
    warnings = [e for e in entries if e["message"] == "Invalid HTTP request received."]
    assert warnings, entries
    for warning in warnings:
        assert (warning["level"], warning["logger"]) == ("warning", "uvicorn.error")
        assert TIMESTAMP.match(warning["time"]) and warning["pid"] in pids, warning
