"""Operations endpoints (API.md §3) and `kohort serve` refusing a database behind head."""

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kohort import migrations
from kohort.config import Settings
from kohort.db import create_database
from kohort.main import create_app
from tests.conftest import fresh_database_url

KOHORT = str(Path(sys.executable).with_name("kohort"))
"""The `kohort` command installed in the virtualenv running the tests (as `make run` runs it)."""

PROJECT = Path(__file__).resolve().parents[2]


async def test_health_is_ok(client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_at_head(client) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "head"}


async def _ready_on(database_url: str) -> httpx.Response:
    settings = Settings(database_url=database_url)
    database = create_database(settings, pooled=False)
    try:
        app = create_app(settings, database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kohort.test") as client:
            return await client.get("/health/ready")
    finally:
        await database.dispose()


@pytest.fixture
async def behind_url(tmp_path: Path) -> AsyncIterator[str]:
    """A database migrated to 0001 only, behind the code's head."""
    url = fresh_database_url(tmp_path, "_behind")
    database = create_database(Settings(database_url=url), pooled=False)
    try:
        await migrations.upgrade(database.engine, "0001")
        assert await migrations.current_revision(database.engine) == "0001"
    finally:
        await database.dispose()
    yield url


async def test_not_ready_behind_head(behind_url: str) -> None:
    response = await _ready_on(behind_url)
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "database": "ok", "migrations": "behind"}
    assert response.headers["Request-Id"].startswith("req_")


async def test_not_ready_on_an_empty_database(tmp_path: Path) -> None:
    response = await _ready_on(fresh_database_url(tmp_path, "_empty"))
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "database": "ok", "migrations": "behind"}


async def test_not_ready_when_the_database_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    response = await _ready_on(
        f"postgresql+psycopg://nobody@127.0.0.1:{closed_port}/nothing?connect_timeout=2"
    )
    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "database": "unreachable",
        "migrations": "unknown",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _serve(database_url: str, port: int, data_dir: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "KOHORT_DATABASE_URL": database_url,
        "KOHORT_PORT": str(port),
        "KOHORT_DATA_DIR": str(data_dir),
        "COLUMNS": "200",
    }
    return await asyncio.create_subprocess_exec(
        KOHORT,
        "serve",
        cwd=PROJECT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)


@pytest.mark.slow
async def test_serve_refuses_a_database_behind_head(behind_url: str, tmp_path: Path) -> None:
    port = _free_port()
    process = await _serve(behind_url, port, tmp_path)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        _stop(process)
    text = " ".join(output.decode().split())
    assert process.returncode not in (0, None), text
    assert "kohort migrate" in text
    assert "0001" in text
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "serve must not have listened"


@pytest.mark.slow
async def test_serve_starts_on_a_database_at_head(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "_serve")
    database = create_database(Settings(database_url=url), pooled=False)
    try:
        await migrations.upgrade(database.engine)
    finally:
        await database.dispose()
    port = _free_port()
    process = await _serve(url, port, tmp_path)
    try:
        ready = None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(120):
                if process.returncode is not None:
                    break
                with contextlib.suppress(httpx.TransportError):
                    ready = await client.get("/health/ready")
                    break
                await asyncio.sleep(0.25)
        assert ready is not None, "kohort serve did not answer"
        assert ready.status_code == 200, ready.text
        assert ready.json()["migrations"] == "head"
    finally:
        _stop(process)
        await asyncio.wait_for(process.wait(), timeout=30)
