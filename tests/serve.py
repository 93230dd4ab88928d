"""`kohort serve` in a subprocess, as an operator starts it: a fresh database, migrated, with
one organization; two processes on PostgreSQL, one on SQLite (the worker runs inside)."""

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.factories import ALLOW_ALL, bearer

PROJECT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 30


@dataclass(frozen=True)
class Server:
    base_url: str
    organization_id: str
    key: str
    engine: str
    log: Path
    keys: dict[str, str] = field(default_factory=dict)
    """The organization's four keys (`sk_test`, `pk_test`, `sk_live`, `pk_live`)."""
    data_dir: Path | None = None
    """KOHORT_DATA_DIR: the secret key, and the e-mails as `mail/*.eml`."""
    env: dict[str, str] = field(default_factory=dict)
    """The environment `kohort` commands need to act on this server's database."""
    pid: int | None = None
    """The `kohort serve` process (with several workers: their supervisor)."""

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


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


@contextlib.contextmanager
def serving(
    tmp_path: Path,
    *,
    workers: int | None = None,
    env: dict[str, str] | None = None,
    open_files: int | None = None,
) -> Iterator[Server]:
    """`kohort serve` on a fresh database: `workers` processes (default: two on PostgreSQL,
    one on SQLite), `env` added to its environment, `open_files` as its soft and hard
    RLIMIT_NOFILE (`ulimit -n`)."""
    from tests.conftest import fresh_database_url  # conftest imports this module

    database_url = fresh_database_url(tmp_path, "_serve")
    engine = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    workers = workers or (1 if engine == "sqlite" else 2)
    port = _free_port()
    base_env = _env(database_url, port, tmp_path)
    _cli(base_env, "migrate")
    created = json.loads(_cli(base_env, "org", "create", "--name", "Concurrent Shop", "--json"))
    log = tmp_path / "serve.log"

    def limit_open_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kohort.cli", "serve", "--workers", str(workers)],
            env={**base_env, **(env or {})},
            cwd=PROJECT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=limit_open_files,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_ready(process, base_url, log)
        for key in ("sk_test", "sk_live"):
            allowed = httpx.patch(
                f"{base_url}/organizations/{created['organizationId']}/risk-policy",
                json={"actions": ALLOW_ALL},
                headers=bearer(created["keys"][key]),
            )
            assert allowed.status_code == 200, allowed.text
        yield Server(
            base_url=base_url,
            organization_id=created["organizationId"],
            key=created["keys"]["sk_test"],
            engine=f"{engine} x{workers}",
            log=log,
            keys=created["keys"],
            data_dir=tmp_path,
            env=base_env,
            pid=process.pid,
        )
    finally:
        _stop(process)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with serving(tmp_path) as started:
        yield started
