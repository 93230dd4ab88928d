"""API throughput under load: Kohort next to the hand-written limit (issue 17).

For each engine (SQLite, then PostgreSQL): migrates a fresh database, creates an organization,
seeds `--groups` groups with their creators' orders through the service layer (before any
server runs, so no worker competes with the seeding for SQLite's lock), then starts once,
side by side on that database, `kohort serve` (its embedded worker on, as by default; with
`--workers N` on PostgreSQL, N processes each with its worker) and bench/limit.py (the same
uvicorn, N processes too; on SQLite also its one-thread-hop variant unless
`--no-sqlite-thread`). It waits for the worker to send the seeding's backlog, runs the limit's
check (bench/limit_check.py: byte-identical GET and validate, joins alike; a difference stops
the bench), then drives each endpoint with wrk from a separate process in alternating rounds
(round 1 Kohort, round 1 limit, round 2 Kohort, …; the others idle meanwhile; after a round
that writes, the worker's backlog is sent before the next): GET /groups/{id},
POST /groups/{code}/validate, POST /orders (joins) and, with `--mix`, bench/wrk/mix.lua
(validate 70 %, GET 20 %, join 10 %, drawn per request).

Prints per round and, at the end, the medians: requests/s, p50, p99, CPU milliseconds per
request (the server's process tree's utime + stime from /proc, its workers included, over the
requests wrk made) for Kohort and for the limit, and Kohort's share of the limit's requests/s.

    .venv/bin/python bench/api.py [--groups 10000] [--seconds 10] [--rounds 3]
                                  [--connections 32] [--engine sqlite|postgres|all] [--mix]
                                  [--workers N] [--project PATH] [--no-sqlite-thread]

    # the issue's PostgreSQL run with four processes each:
    .venv/bin/python bench/api.py --engine postgres --workers 4
    # a short smoke run:
    .venv/bin/python bench/api.py --groups 1000 --seconds 3 --rounds 1

`--project` is the tree whose `kohort` is migrated, seeded and served (default: this one; e.g.
a `git worktree` of an older commit): this venv's Python with `PYTHONPATH=PATH`, cwd PATH. The
limit always comes from this tree. PostgreSQL: KOHORT_BENCH_PG_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/kohort_bench), dropped and created again.
Needs wrk (Debian: apt-get install wrk). `bench/api.py seed …` is the seeding step alone
(run by the bench in the served tree).
"""

import argparse
import asyncio
import inspect
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
WRK = Path(__file__).resolve().parent / "wrk"
PG_URL = os.environ.get(
    "KOHORT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/kohort_bench"
)
SCENARIOS = (
    ("GET /groups/{id}", "get_group.lua", False),
    ("POST /groups/{code}/validate", "validate.lua", False),
    ("POST /orders (join)", "join.lua", True),
)
MIX = ("mix 70/20/10 (validate/GET/join)", "mix.lua", True)
GROUP_SETTINGS = {"max_participants": 1000, "minutes_duration": 129_600}
"""Room for every join of a run and no group ending while measured."""


@dataclass(frozen=True)
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_ms: float
    """The measured server's CPU per request."""
    others_cpu_ms: float
    """The idle servers' CPU over the same requests (Kohort's worker on the limit's rows)."""


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Line:
    """One endpoint on one engine: each server's samples, round by round."""

    engine: str
    scenario: str
    writes: bool
    samples: dict[str, list[Sample]] = field(default_factory=dict)


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


def kohort(env: dict[str, str], *args: str, project: Path = ROOT) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "kohort.cli", *args],
        env=env,
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def serve(
    argv: list[str],
    env: dict[str, str],
    port: int,
    *,
    cwd: Path = ROOT,
    log: Path | None = None,
    timeout: float = 60,
) -> subprocess.Popen[bytes]:
    """Start a server and wait until it answers anything on `port`."""
    out = log.open("wb") if log is not None else None
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    tail = log.read_text(errors="replace")[-3000:] if log is not None else ""
    raise RuntimeError(f"server did not start: {' '.join(argv)}\n{tail}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


async def seed(database_url: str, organization_id: str, groups: int) -> list[tuple[str, str]]:
    """The bench's group settings, then `groups` creators' orders through the service layer;
    returns (group id, share code)."""
    from kohort.audit.service import SYSTEM, Actor
    from kohort.config import Settings
    from kohort.db import create_database
    from kohort.group_settings import service as group_settings
    from kohort.group_settings.schemas import PaymentGroupSettingsUpdate
    from kohort.order.schemas import OrderCreate
    from kohort.order.service import create_order
    from kohort.organization import repository as organizations

    db = create_database(Settings(database_url=database_url))
    seeded: list[tuple[str, str]] = []
    try:
        async with db.write() as session:
            settings = await group_settings.get_settings(
                session, organization_id=organization_id, livemode=False
            )
            changes = PaymentGroupSettingsUpdate(**GROUP_SETTINGS)
            actor = Actor(type=SYSTEM, id=None, label="bench")
            await group_settings.update_settings(session, settings, changes, actor=actor)
        for start in range(0, groups, 500):
            async with db.write() as session:
                organization = await organizations.get_by_id(session, organization_id)
                assert organization is not None
                # the tree's own signature: an older one took the organization, not its id
                whose = (
                    {"organization_id": organization_id}
                    if "organization_id" in inspect.signature(create_order).parameters
                    else {"organization": organization}
                )
                for n in range(start, min(start + 500, groups)):
                    order = await create_order(
                        session,
                        **whose,
                        livemode=False,
                        actor="bench",
                        data=OrderCreate(
                            amount=10_000,
                            customer_email=f"creator{n}@example.com",
                            customer_first_name="Cre",
                            customer_last_name="Ator",
                        ),
                    )
                    assert order.payment_group_id and order.payment_group_share_id
                    seeded.append((order.payment_group_id, order.payment_group_share_id))
    finally:
        await db.dispose()
    return seeded


def waiting(url: str) -> int:
    """Events the worker has not fanned out and e-mails it has not sent yet."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as c:
            return int(
                c.execute(
                    text(
                        "SELECT (SELECT count(*) FROM events WHERE dispatched_at IS NULL)"
                        " + (SELECT count(*) FROM email_messages"
                        " WHERE status IN ('pending', 'sending'))"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def settle(url: str, timeout: float = 600, stalled: float = 60) -> float:
    """Wait until the embedded worker has fanned out every event and sent every e-mail (a
    backlog, not the steady state being measured); seconds waited. A backlog that does not
    shrink for `stalled` seconds means no worker runs: the bench stops."""
    started = last_change = time.perf_counter()
    previous = -1
    while (left := waiting(url)) and time.perf_counter() - started < timeout:
        now = time.perf_counter()
        if left != previous:
            previous, last_change = left, now
        elif now - last_change > stalled:
            raise SystemExit(f"the worker is not running: {left} items waited {stalled:.0f} s")
        time.sleep(0.25)
    return time.perf_counter() - started


def cpu_seconds(root: int) -> float:
    """utime + stime of `root` and of every process under it (uvicorn's workers)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier += children
    return sum(ticks.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, script: str, env: dict[str, str], seconds: int, connections: int) -> str:
    return subprocess.run(
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
        env={**env, "KOHORT_BENCH_RUN": str(time.time_ns())},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _percentile(out: str, label: str) -> float:
    match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def measure(
    server: Server,
    servers: list[Server],
    script: str,
    env: dict[str, str],
    args: argparse.Namespace,
) -> Sample:
    before = {s.name: cpu_seconds(s.process.pid) for s in servers}
    out = wrk(server.base, script, env, args.seconds, args.connections)
    spent = {s.name: cpu_seconds(s.process.pid) - before[s.name] for s in servers}
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Socket errors: .*?timeout (\d+)", out))
    others = sum(cpu for name, cpu in spent.items() if name != server.name)
    return Sample(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_percentile(out, "50%"),
        p99_ms=_percentile(out, "99%"),
        requests=requests,
        errors=errors,
        cpu_ms=spent[server.name] * 1000 / max(requests, 1),
        others_cpu_ms=others * 1000 / max(requests, 1),
    )


@contextmanager
def servers_on(
    url: str, env: dict[str, str], args: argparse.Namespace, tmp: Path
) -> Iterator[list[Server]]:
    """Kohort and the limit(s), started once on the database of `url`, stopped at the end."""
    workers = 1 if url.startswith("sqlite") else args.workers
    many = ["--workers", str(workers)] if workers > 1 else []
    limit = [sys.executable, "-m", "bench.limit", "serve", "--workers", str(workers)]
    wanted = [
        ("kohort", [sys.executable, "-m", "kohort.cli", "serve", *many], args.project),
        ("limit", limit, ROOT),
    ]
    if url.startswith("sqlite") and not args.no_sqlite_thread:
        wanted.append(("limit, one thread hop", [*limit, "--sqlite-thread"], ROOT))
    started: list[Server] = []
    try:
        for name, argv, cwd in wanted:
            port = free_port()
            log = tmp / f"{name.split(',')[0].replace(' ', '-')}-{port}.log"
            own = {**env, "KOHORT_PORT": str(port), "PYTHONPATH": str(cwd)}
            if name != "kohort":
                argv = [*argv, "--port", str(port)]
            process = serve(argv, own, port, cwd=cwd, log=log)
            started.append(Server(name, process, port, log))
        yield started
    finally:
        for server in started:
            stop(server.process)
        for server in started:
            _report_log(server)


def _report_log(server: Server) -> None:
    """What went wrong in a server, from its log (SQLite's lock failures counted)."""
    text = server.log.read_text(errors="replace")
    locked, errors = text.count("database is locked"), text.count("ERROR")
    if locked or errors or "Traceback" in text:
        print(f"  {server.name}'s log: {errors} ERROR line(s), {locked} 'database is locked'")
        print("  " + "\n  ".join(text.strip().splitlines()[-10:]))


def prepare(url: str, args: argparse.Namespace, tmp: Path) -> tuple[dict[str, str], str, int]:
    """Migrate, create the organization, seed (no server running yet); the environment, the
    test secret key and the number of groups."""
    env = {
        **os.environ,
        "KOHORT_DATABASE_URL": url,
        "KOHORT_DATA_DIR": str(tmp),
        "KOHORT_LOG_LEVEL": "WARNING",
        "KOHORT_WORKER": "on",
        "PYTHONPATH": str(args.project),
    }
    kohort(env, "migrate", project=args.project)
    created = json.loads(
        kohort(env, "org", "create", "--name", "Bench", "--json", project=args.project)
    )
    out = tmp / "groups.json"
    started = time.perf_counter()
    subprocess.run(
        [
            *(sys.executable, "-P", str(Path(__file__).resolve()), "seed"),
            *("--database-url", url, "--organization", created["organizationId"]),
            *("--groups", str(args.groups), "--out", str(out)),
        ],
        env=env,
        cwd=args.project,
        check=True,
    )
    groups = json.loads(out.read_text())
    print(f"  seeded {len(groups)} groups in {time.perf_counter() - started:.1f} s", flush=True)
    (tmp / "ids").write_text("".join(f"{group_id}\n" for group_id, _ in groups))
    (tmp / "codes").write_text("".join(f"{code}\n" for _, code in groups))
    env["KOHORT_BENCH_KEY"] = created["keys"]["sk_test"]
    env["KOHORT_BENCH_IDS"], env["KOHORT_BENCH_CODES"] = str(tmp / "ids"), str(tmp / "codes")
    return env, created["keys"]["sk_test"], len(groups)


def bench_engine(label: str, url: str, args: argparse.Namespace) -> list[Line]:
    from bench.limit_check import check

    print(f"{label}:", flush=True)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env, key, _ = prepare(url, args, tmp)
        with servers_on(url, env, args, tmp) as servers:
            print(f"  the worker sent the seeding's backlog in {settle(url):.1f} s", flush=True)
            for limit in servers[1:]:
                print(f"  {limit.name}: ", end="", flush=True)
                if check(servers[0].base, limit.base, key, url):
                    raise SystemExit(f"{label}: the limit does not answer as Kohort does")
            settle(url)
            return [
                run_scenario(label, scenario, url, servers, env, args)
                for scenario in scenarios(args)
            ]


def scenarios(args: argparse.Namespace) -> tuple[tuple[str, str, bool], ...]:
    return (*SCENARIOS, MIX) if args.mix else SCENARIOS


def run_scenario(
    label: str,
    scenario: tuple[str, str, bool],
    url: str,
    servers: list[Server],
    env: dict[str, str],
    args: argparse.Namespace,
) -> Line:
    """Alternating rounds: each server in turn, the others idle; after a round that writes,
    the worker's backlog is sent before the next round starts."""
    name, script, writes = scenario
    line = Line(label, name, writes)
    for round_ in range(1, args.rounds + 1):
        for server in servers:
            sample = measure(server, servers, script, env, args)
            line.samples.setdefault(server.name, []).append(sample)
            after = f", backlog sent in {settle(url):.1f} s" if writes else ""
            print(
                f"  {name} round {round_} {server.name}: {sample.rps:.0f} req/s, "
                f"p50 {sample.p50_ms:.1f} ms, p99 {sample.p99_ms:.1f} ms, "
                f"{sample.cpu_ms:.2f} CPU ms/req, non-2xx {sample.errors}{after}",
                flush=True,
            )
    return line


def median(samples: list[Sample]) -> Sample:
    def mid(name: str) -> float:
        return float(statistics.median(getattr(s, name) for s in samples))

    return Sample(
        rps=mid("rps"),
        p50_ms=mid("p50_ms"),
        p99_ms=mid("p99_ms"),
        requests=int(mid("requests")),
        errors=sum(s.errors for s in samples),
        cpu_ms=mid("cpu_ms"),
        others_cpu_ms=mid("others_cpu_ms"),
    )


def report(lines: list[Line], args: argparse.Namespace) -> None:
    print(
        f"\nwrk -t2 -c{args.connections} -d{args.seconds}s, {args.groups} groups, "
        f"{args.rounds} alternating round(s), medians; PostgreSQL with {args.workers} "
        f"process(es) per server, SQLite with one; Kohort from {args.project}"
    )
    print(
        f"{'engine':<11} {'endpoint':<34} {'kohort req/s':>12} {'p50':>6} {'p99':>6} "
        f"{'CPU ms/req':>10} {'limit req/s':>11} {'limit CPU ms/req':>16} {'ratio':>6}"
    )
    notes: list[str] = []
    for line in lines:
        ours = median(line.samples["kohort"])
        if ours.errors:
            notes.append(f"{line.engine} {line.scenario}: Kohort answered {ours.errors} non-2xx")
        for name, samples in line.samples.items():
            if name != "kohort":
                limit = median(samples)
                print(_row(line, name, ours, limit))
                notes += _notes(line, name, limit)
    for note in notes:
        print(f"* {note}")


def _row(line: Line, name: str, ours: Sample, limit: Sample) -> str:
    if name == "limit":
        head = (
            f"{line.engine:<11} {line.scenario:<34} {ours.rps:>12.0f} {ours.p50_ms:>6.1f} "
            f"{ours.p99_ms:>6.1f} {ours.cpu_ms:>10.2f}"
        )
    else:
        head = f"{'':<11} {'  ↳ ' + name:<34} {'':>12} {'':>6} {'':>6} {'':>10}"
    return f"{head} {limit.rps:>11.0f} {limit.cpu_ms:>16.2f} {ours.rps / limit.rps:>6.0%}"


def _notes(line: Line, name: str, limit: Sample) -> list[str]:
    notes = []
    if limit.errors:
        notes.append(f"{line.engine} {line.scenario}: {name} answered {limit.errors} non-2xx")
    if line.writes:
        notes.append(
            f"{line.engine} {line.scenario}, {name}: meanwhile Kohort's worker spent "
            f"{limit.others_cpu_ms:.2f} CPU ms per request on the rows the limit wrote"
        )
    return notes


def seed_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench/api.py seed")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--organization", required=True)
    parser.add_argument("--groups", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    seeded = asyncio.run(seed(args.database_url, args.organization, args.groups))
    args.out.write_text(json.dumps(seeded))


def main() -> None:
    if sys.argv[1:2] == ["seed"]:
        seed_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--mix", action="store_true", help="also the 70/20/10 mix")
    parser.add_argument("--workers", type=int, default=1, help="processes per server (PostgreSQL)")
    parser.add_argument("--project", type=Path, default=ROOT, help="the tree whose kohort runs")
    parser.add_argument("--no-sqlite-thread", action="store_true")
    args = parser.parse_args()
    args.project = args.project.resolve()
    if shutil.which("wrk") is None:
        sys.exit("bench/api.py needs wrk: apt-get install wrk (Debian)")
    lines: list[Line] = []
    if args.engine in ("sqlite", "all"):
        if args.workers > 1:
            print("SQLite serves one process: --workers applies to PostgreSQL only")
        with tempfile.TemporaryDirectory() as tmp:
            lines += bench_engine("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", args)
    if args.engine in ("postgres", "all"):
        if pg_reachable():
            recreate_pg(PG_URL)
            lines += bench_engine("PostgreSQL", PG_URL, args)
        else:
            print("PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
    report(lines, args)


if __name__ == "__main__":
    main()
