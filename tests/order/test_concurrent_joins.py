"""200 buyers race for the 14 free seats of one group, over real HTTP (DOMAIN.md §5, §6).

The service runs as `kohort serve` in a subprocess: two worker processes on PostgreSQL (when
KOHORT_TEST_DATABASE_URL is set), one process on SQLite. Every order must be registered (201,
never a 5xx); exactly 15 of them end up in the group, which completes exactly once; every
other order opens a group of its own and says in `joinError` why it could not join."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import fresh_database_url
from tests.factories import bearer

PROJECT = Path(__file__).resolve().parents[2]
BUYERS = 200
MAX_PARTICIPANTS = 15
LEVELS = [(2, 5), (5, 10), (10, 15)]
TOP_PERCENT = 15
CREATOR_AMOUNT = 10_000
REFUSALS = {"COMPLETED_EXPIRED_CANCELED", "MAX_PARTICIPANTS_REACHED"}
START_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 60


@dataclass(frozen=True)
class Server:
    base_url: str
    organization_id: str
    key: str
    engine: str
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(database_url: str, port: int, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KOHORT_DATABASE_URL": database_url,
        "KOHORT_PORT": str(port),
        "KOHORT_LOG_LEVEL": "WARNING",
        "KOHORT_DATA_DIR": str(data_dir),
        "COLUMNS": "200",
    }


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kohort.cli", *args],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"kohort {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (uvicorn stops its workers); if it hangs, kill its whole process
    group (its own session, so nothing but the server and its workers)."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"kohort serve exited with {process.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if client.get("/health/ready").status_code == 200:
                    return
            time.sleep(0.2)
    pytest.fail(f"kohort serve was not ready within {START_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    database_url = fresh_database_url(tmp_path, "_conc")
    engine = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    workers = 1 if engine == "sqlite" else 2
    port = _free_port()
    env = _env(database_url, port, tmp_path)
    _cli(env, "migrate")
    created = json.loads(_cli(env, "org", "create", "--name", "Concurrent Shop", "--json"))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kohort.cli", "serve", "--workers", str(workers)],
            env=env,
            cwd=PROJECT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_ready(process, base_url, log)
        yield Server(
            base_url=base_url,
            organization_id=created["organizationId"],
            key=created["keys"]["sk_test"],
            engine=f"{engine} x{workers}",
            log=log,
        )
    finally:
        _stop(process)


def _cashback(amount: int) -> int:
    exact = Decimal(amount) * TOP_PERCENT / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _buyer(code: str, index: int) -> dict[str, Any]:
    return {
        "amount": 2_000 + 37 * index,
        "customerEmail": f"buyer-{index:03d}@example.com",
        "customerFirstName": "Buyer",
        "customerLastName": f"N{index:03d}",
        "paymentGroupShareId": code,
        "clientReferenceId": f"conc-{index:03d}",
    }


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def _events(client: httpx.AsyncClient, event_type: str) -> dict[str, Any]:
    page: dict[str, Any] = _ok(
        await client.get("/events", params={"search": f"type:{event_type}", "take": 100})
    )
    return page


@pytest.mark.slow
@pytest.mark.concurrency
async def test_two_hundred_concurrent_joins_fill_the_group_exactly_once(server: Server) -> None:
    limits = httpx.Limits(max_connections=BUYERS, max_keepalive_connections=BUYERS)
    async with httpx.AsyncClient(
        base_url=server.base_url,
        headers=bearer(server.key),
        limits=limits,
        timeout=REQUEST_TIMEOUT_S,
    ) as client:
        _ok(
            await client.patch(
                f"/organizations/{server.organization_id}/payment-group-settings",
                json={
                    "discountType": "PERCENTAGE",
                    "discountLevels": [{"participantsToUnlock": n, "value": v} for n, v in LEVELS],
                    "maxParticipants": MAX_PARTICIPANTS,
                    "minutesDuration": 24 * 60,
                    "minPurchaseValue": 0,
                },
            )
        )
        creator = _ok(
            await client.post(
                "/orders",
                params={"expand[]": "paymentGroup"},
                json={
                    "amount": CREATOR_AMOUNT,
                    "customerEmail": "creator@example.com",
                    "customerFirstName": "Creator",
                    "customerLastName": "One",
                },
            ),
            201,
        )
        group_id = creator["paymentGroupId"]
        code = creator["paymentGroup"]["shareId"]
        assert code.startswith("KHT-test-")

        started = time.monotonic()
        responses = await asyncio.gather(
            *(client.post("/orders", json=_buyer(code, i)) for i in range(BUYERS)),
            return_exceptions=True,
        )
        burst = time.monotonic() - started

        failures = [
            r if isinstance(r, BaseException) else f"{r.status_code} {r.text}"
            for r in responses
            if isinstance(r, BaseException) or r.status_code != 201
        ]
        statuses = Counter(
            type(r).__name__ if isinstance(r, BaseException) else r.status_code for r in responses
        )
        assert not failures, (
            f"{server.engine}: answers {dict(statuses)}; first: {failures[:3]}\n"
            f"server log (tail):\n{server.log.read_text()[-4000:]}"
        )
        orders = [r.json() for r in responses if isinstance(r, httpx.Response)]

        joined = [o for o in orders if o["paymentGroupId"] == group_id]
        refused = [o for o in orders if o["paymentGroupId"] != group_id]
        split = Counter(o["joinError"]["code"] for o in refused if o["joinError"])
        print(
            f"\n[{server.engine}] {BUYERS} concurrent joins in {burst:.2f} s: "
            f"{len(joined)} joined, {len(refused)} refused {dict(split)}"
        )

        assert len(joined) == MAX_PARTICIPANTS - 1
        assert all(o["joinError"] is None for o in joined)
        assert len(refused) == BUYERS - (MAX_PARTICIPANTS - 1)
        for order in refused:
            assert order["joinError"] is not None, order
            assert order["joinError"]["code"] in REFUSALS, order["joinError"]
            assert order["paymentGroupShareId"] != code
        assert sum(split.values()) == len(refused)
        assert len({o["paymentGroupId"] for o in refused}) == len(refused), "one group each"

        group = _ok(await client.get(f"/groups/{code}"))
        assert group["id"] == group_id
        assert group["participantsCount"] == MAX_PARTICIPANTS
        assert group["status"] == "COMPLETED"
        assert group["completedAt"] is not None

        participants = _ok(await client.get(f"/groups/{code}/participants"))
        assert participants["count"] == MAX_PARTICIPANTS
        members = participants["data"]
        assert len(members) == MAX_PARTICIPANTS
        assert members[0]["id"] == creator["id"]
        assert {m["id"] for m in members} == {creator["id"]} | {o["id"] for o in joined}
        for member in members:
            assert member["status"] == "CASHBACK_AVAILABLE", member
            assert member["amountCashback"] == _cashback(member["amount"]), member

        lonely = _ok(
            await client.get("/groups", params={"search": "participantsCount:1", "take": 1})
        )
        assert lonely["count"] == len(refused)
        all_groups = _ok(await client.get("/groups", params={"take": 1}))
        assert all_groups["count"] == len(refused) + 1

        succeeded = await _events(client, "payment_group.succeeded")
        assert succeeded["count"] == 1
        assert succeeded["data"][0]["data"]["id"] == group_id
        assert succeeded["data"][0]["data"]["participantsCount"] == MAX_PARTICIPANTS

        cashback = await _events(client, "order.cashback_available")
        assert cashback["count"] == MAX_PARTICIPANTS
        assert {e["data"]["id"] for e in cashback["data"]} == {m["id"] for m in members}
        assert all(e["data"]["paymentGroupId"] == group_id for e in cashback["data"])

        joined_events = await _events(client, "payment_group.joined")
        assert joined_events["count"] == MAX_PARTICIPANTS - 1
        unlocked = await _events(client, "payment_group.level_unlocked")
        assert sorted(e["data"]["participantsCount"] for e in unlocked["data"]) == [
            n for n, _ in LEVELS
        ]
        created = await _events(client, "payment_group.created")
        assert created["count"] == len(refused) + 1

    assert "Traceback" not in server.log.read_text(), server.log.read_text()[-4000:]
