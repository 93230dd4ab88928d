"""API throughput under load, against a bare ASGI baseline.

Starts `kohort serve` as an operator would (uvicorn, one process) on SQLite and then on
PostgreSQL, seeds 10 000 groups with their creators' orders, and drives load with wrk from a
separate process at a fixed concurrency for a fixed time against GET /groups/{id},
POST /groups/{code}/validate and POST /orders (joins). The baseline is a minimal Starlette app
served the same way, answering a JSON body of the same size. Prints requests/s, p50, p99 and
the ratio to the baseline.

    uv run python bench/api.py [--groups 10000] [--seconds 10] [--connections 32]
                               [--engine sqlite|postgres|all]
Needs wrk (Debian: apt-get install wrk).
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
WRK = Path(__file__).resolve().parent / "wrk"
PG_URL = os.environ.get(
    "KOHORT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/kohort_bench"
)


@dataclass(frozen=True)
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


def recreate_pg(url: str) -> None:
    import psycopg
    from sqlalchemy import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{parsed.database}"')


def kohort(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "kohort.cli", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


async def seed(database_url: str, organization_id: str, groups: int) -> list[tuple[str, str]]:
    """`groups` creators' orders through the service layer; returns (group id, share code)."""
    from kohort.config import Settings
    from kohort.db import create_database
    from kohort.order.schemas import OrderCreate
    from kohort.order.service import create_order
    from kohort.organization import repository as organizations

    db = create_database(Settings(database_url=database_url))
    seeded: list[tuple[str, str]] = []
    try:
        for start in range(0, groups, 500):
            async with db.write() as session:
                organization = await organizations.get_by_id(session, organization_id)
                assert organization is not None
                for n in range(start, min(start + 500, groups)):
                    order = await create_order(
                        session,
                        organization=organization,
                        livemode=False,
                        actor="bench",
                        data=OrderCreate(
                            amount=10_000,
                            customer_email=f"creator{n}@example.com",
                            customer_first_name="Cre",
                            customer_last_name="Ator",
                        ),
                    )
                    seeded.append((order.payment_group_id, order.payment_group_share_id))
    finally:
        await db.dispose()
    return seeded


def settle(url: str, timeout: float = 600) -> float:
    """Wait until the embedded worker has fanned out every event and sent every e-mail that
    the seeding produced (a backlog, not the steady state being measured); seconds waited."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("+aiosqlite", ""))
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            with engine.connect() as c:
                waiting = c.execute(
                    text(
                        "SELECT (SELECT count(*) FROM events WHERE dispatched_at IS NULL)"
                        " + (SELECT count(*) FROM email_messages WHERE status <> 'sent')"
                    )
                ).scalar_one()
            if not waiting:
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def serve(argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, env=env, cwd=ROOT)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def wrk(
    name: str, url: str, script: str, env: dict[str, str], seconds: int, connections: int
) -> Result:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(WRK / script),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Socket errors: .*?timeout (\d+)", out))
    return Result(name, rps, _percentile(out, "50%"), _percentile(out, "99%"), errors)


def _percentile(out: str, label: str) -> float:
    match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def bench_engine(label: str, url: str, args: argparse.Namespace) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "KOHORT_DATABASE_URL": url,
            "KOHORT_DATA_DIR": tmp,
            "KOHORT_LOG_LEVEL": "WARNING",
        }
        kohort(env, "migrate")
        created = json.loads(kohort(env, "org", "create", "--name", "Bench", "--json"))
        key = created["keys"]["sk_test"]
        port = free_port()
        env["KOHORT_PORT"] = str(port)
        base = f"http://127.0.0.1:{port}"
        settings = {"maxParticipants": 1000, "minutesDuration": 129_600}
        server = serve([sys.executable, "-m", "kohort.cli", "serve"], env, port)
        try:
            response = httpx.patch(
                f"{base}/organizations/{created['organizationId']}/payment-group-settings",
                json=settings,
                headers={"Authorization": f"Bearer {key}"},
            )
            response.raise_for_status()
            started = time.perf_counter()
            groups = asyncio.run(seed(url, created["organizationId"], args.groups))
            print(f"{label}: seeded {len(groups)} groups in {time.perf_counter() - started:.1f} s")
            settled = settle(url)
            print(f"{label}: the worker sent the seeding's e-mails in {settled:.1f} s", flush=True)
            ids, codes = Path(tmp, "ids"), Path(tmp, "codes")
            ids.write_text("\n".join(g for g, _ in groups) + "\n")
            codes.write_text("\n".join(c for _, c in groups) + "\n")
            body = httpx.get(
                f"{base}/groups/{groups[0][0]}", headers={"Authorization": f"Bearer {key}"}
            )
            wrk_env = {
                **env,
                "KOHORT_BENCH_KEY": key,
                "KOHORT_BENCH_IDS": str(ids),
                "KOHORT_BENCH_CODES": str(codes),
                "KOHORT_BENCH_RUN": str(time.time_ns()),
            }
            results = [
                wrk(
                    "GET /groups/{id}",
                    base,
                    "get_group.lua",
                    wrk_env,
                    args.seconds,
                    args.connections,
                ),
                wrk(
                    "POST /groups/{code}/validate",
                    base,
                    "validate.lua",
                    wrk_env,
                    args.seconds,
                    args.connections,
                ),
                wrk(
                    "POST /orders (join)", base, "join.lua", wrk_env, args.seconds, args.connections
                ),
            ]
        finally:
            stop(server)
    args.body_bytes = len(body.content)
    return results


def bench_baseline(args: argparse.Namespace) -> Result:
    port = free_port()
    env = {**os.environ, "KOHORT_BENCH_BODY_BYTES": str(max(args.body_bytes - 12, 2))}
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.baseline_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    server = serve(argv, env, port)
    try:
        return wrk(
            "baseline (bare ASGI)",
            f"http://127.0.0.1:{port}",
            "plain.lua",
            env,
            args.seconds,
            args.connections,
        )
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/api.py needs wrk: apt-get install wrk (Debian)")
    runs: list[tuple[str, list[Result]]] = []
    if args.engine in ("sqlite", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(
                ("SQLite", bench_engine("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", args))
            )
    if args.engine in ("postgres", "all"):
        if pg_reachable():
            recreate_pg(PG_URL)
            runs.append(("PostgreSQL", bench_engine("PostgreSQL", PG_URL, args)))
        else:
            print("PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
    baseline = bench_baseline(args)
    print(
        f"\nwrk -t2 -c{args.connections} -d{args.seconds}s, one server process, "
        f"{args.groups} groups"
    )
    print(
        f"{'database':<11} {'endpoint':<30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>8} {'vs base':>8}"
    )
    for label, results in runs:
        for r in results:
            print(
                f"{label:<11} {r.name:<30} {r.rps:>8.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
                f"{r.errors:>8} {r.rps / baseline.rps:>7.0%}"
            )
    print(
        f"{'-':<11} {baseline.name:<30} {baseline.rps:>8.0f} {baseline.p50_ms:>8.1f} "
        f"{baseline.p99_ms:>8.1f} {baseline.errors:>8} {'100%':>8}"
    )


if __name__ == "__main__":
    main()
