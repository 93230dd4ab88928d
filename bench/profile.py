"""Where a hot endpoint's time goes under load: py-spy on `kohort serve` while wrk drives it.

Seeds and serves as bench/api.py does (the same database, organization, groups and servers,
the embedded worker on), warms the endpoint for 2 s, then samples the serving process with
py-spy (`record --format raw --threads --idle`, 250 Hz, without pausing it) during one wrk run
of `--seconds` at 32 connections. Prints the run's figures (py-spy slows it: compare them to
nothing) and the busy samples of each thread, then the samples of the event loop's thread by
the package of their innermost frame (self) and of any of their frames (inclusive): our code,
SQLAlchemy, the database driver, FastAPI, Starlette, uvicorn, pydantic, asyncio, the rest of
the standard library. Samples waiting in the selector are idle and not counted.

    .venv/bin/python bench/profile.py [--engine sqlite|postgres] [--script get_group.lua]
                                      [--seconds 8] [--groups 2000] [--out FILE]
    .venv/bin/python bench/profile.py --report FILE     # the shares of a recorded file again

`--script` is one of bench/wrk/*.lua (get_group, validate, join, mix). py-spy comes with the
project's dev dependencies; sampling another process needs ptrace (root, or
kernel.yama.ptrace_scope = 0).
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import api

PACKAGES = ("sqlalchemy", "psycopg", "aiosqlite", "fastapi", "starlette", "uvicorn", "pydantic")
IDLE = ("select (", "poll (", "epoll")
"""The innermost frames of the loop's thread waiting for something to do."""
WAITING = (*IDLE, "wait (", "sleep (", "acquire (", "get (")
"""Those of another thread (a checkpointer waiting on its condition, a pool's queue)."""
CATCH_ALL = ("other libraries", "standard library and the rest")
"""Every stack starts in them (runpy, the CLI, asyncio.run): their inclusive share says nothing."""


def package(frame: str) -> str:
    """The package a py-spy frame, `function (path:line)`, belongs to."""
    path = frame[frame.rfind("(") + 1 :]
    if "site-packages/" in path:
        top = path.split("site-packages/")[1].split("/")[0]
        return top if top in PACKAGES else "other libraries"
    if "/kohort/" in path:
        return "kohort"
    if "/asyncio/" in path:
        return "asyncio"
    return "standard library and the rest"


def report(raw: Path) -> None:
    """Each thread's busy samples, then the loop thread's samples by package."""
    busy: Counter[str] = Counter()
    own: Counter[str] = Counter()
    within: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not count.isdigit() or len(frames) < 2:
            continue
        thread = re.sub(r"^thread \(\d+\):\s*", "", frames[0])
        if any(i in frames[-1] for i in (IDLE if thread == "MainThread" else WAITING)):
            continue
        busy[thread] += int(count)
        if thread == "MainThread":
            own[package(frames[-1])] += int(count)
            for name in {package(f) for f in frames[1:]}:
                within[name] += int(count)
    print("busy samples by thread: " + ", ".join(f"{t} {n}" for t, n in busy.most_common()))
    total = max(busy["MainThread"], 1)
    print(f"the loop's thread, {busy['MainThread']} samples:  self  inclusive")
    for name, count in own.most_common():
        inclusive = "" if name in CATCH_ALL else f"{100 * within[name] / total:5.1f} %"
        print(f"  {name:30} {100 * count / total:5.1f} %  {inclusive}")


def record(args: argparse.Namespace) -> None:
    bench_args = argparse.Namespace(
        groups=args.groups,
        seconds=args.seconds,
        rounds=1,
        connections=32,
        workers=1,
        project=api.ROOT,
        no_sqlite_thread=True,
    )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        if args.engine == "postgres":
            url = api.PG_URL
            api.recreate_pg(url)
        env, _, _ = api.prepare(url, bench_args, tmp)
        with api.servers_on(url, env, bench_args, tmp) as servers:
            api.settle(url)
            kohort = servers[0]
            warm = argparse.Namespace(**{**vars(bench_args), "seconds": 2})
            api.measure(kohort, servers, args.script, env, warm)
            api.settle(url)
            spy = subprocess.Popen(
                [
                    *("py-spy", "record", "--pid", str(kohort.process.pid), "--format", "raw"),
                    *("--full-filenames", "--threads", "--idle", "--nonblocking"),
                    *("--rate", "250", "--duration", str(args.seconds + 2), "-o", args.out),
                ],
                stdout=subprocess.DEVNULL,
            )
            time.sleep(1)
            sample = api.measure(kohort, servers, args.script, env, bench_args)
            if spy.wait() != 0:
                sys.exit("py-spy failed (it needs ptrace: root, or kernel.yama.ptrace_scope=0)")
    print(
        f"{args.engine} {args.script} under py-spy: {sample.rps:.0f} req/s, "
        f"p50 {sample.p50_ms:.1f} ms, p99 {sample.p99_ms:.1f} ms, {sample.cpu_ms:.2f} CPU ms/req"
    )
    report(Path(args.out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--script", default="get_group.lua")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "kohort-profile.raw"))
    parser.add_argument("--report", type=Path, help="only the shares of a recorded file")
    args = parser.parse_args()
    if args.report:
        report(args.report)
        return
    for tool in ("wrk", "py-spy"):
        if shutil.which(tool) is None:
            sys.exit(f"bench/profile.py needs {tool} (wrk: Debian's; py-spy: make sync)")
    record(args)


if __name__ == "__main__":
    main()
