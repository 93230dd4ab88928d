"""Unauthenticated exhaustion: slow and idle connections, big bodies (issue 11, defect 3).

Starts `kohort serve` (one process, default settings, `ulimit -n 1024` as soft and hard
limit) on a temporary SQLite database and prints:
* big bodies: the server's RSS before and after `--posts` POSTs of `--mb` MB to /customers,
  with a Content-Length then chunked, each with a valid key and without one: each one's
  status and time;
* slowloris: `--slowloris` connections that each send a request line and then one header
  line a second: how long the server keeps them open (observed for at most `--hold` s);
* idle: `--idle` sockets opened and left silent, then whether GET /health answers on a new
  connection (and its latency), and how many of the idle sockets the server closed.

    .venv/bin/python bench/limits.py [--project PATH] [--slowloris 50] [--idle 1100]
                                     [--mb 100] [--posts 2] [--hold 30]

`--project` is the tree whose `kohort` is run (default: this one), e.g. a `git worktree` of an
older commit to compare with; this venv's Python runs it. About 1-2 minutes.
"""

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
OPEN_FILES = 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kohort(project: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kohort.cli", *args],
        env=env,
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _ulimit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


def serve(project: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kohort.cli", "serve"],
            env=env,
            cwd=project,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_ulimit,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"kohort serve did not start:\n{log.read_text()}")


def memory(pid: int) -> tuple[float, float]:
    """The process's resident set and its peak, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def big_bodies(port: int, pid: int, key: str, mb: int, posts: int) -> None:
    body = b"x" * (mb * 1_000_000)

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(body), 1_000_000):
            yield body[start : start + 1_000_000]

    rss, _ = memory(pid)
    print(f"big bodies: RSS {rss:.0f} MB before")
    cases = [
        (framing, label, headers)
        for framing in ("Content-Length", "chunked")
        for label, headers in (("key", {"Authorization": f"Bearer {key}"}), ("no key", {}))
    ]
    for framing, label, headers in cases:
        for _ in range(posts):
            content = body if framing == "Content-Length" else chunked()
            started = time.perf_counter()
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/customers",
                    content=content,
                    headers=headers,
                    timeout=60,
                )
                outcome = f"{response.status_code} {response.json()['error']['code']}"
            except httpx.HTTPError as error:
                outcome = f"failed ({type(error).__name__})"
            elapsed = time.perf_counter() - started
            rss, peak = memory(pid)
            print(
                f"  POST {mb} MB {framing:14} {label:6}  {outcome:26} {elapsed:6.2f} s"
                f"   RSS {rss:.0f} MB (peak {peak:.0f} MB)"
            )


async def slowloris(port: int, connections: int, hold: float) -> list[float]:
    """How long each trickling connection stayed open (at most `hold` seconds)."""
    loop = asyncio.get_running_loop()

    async def one() -> float:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = loop.time()
        try:
            writer.write(b"GET /health HTTP/1.1\r\nHost: bench\r\n")
            while loop.time() - started < hold:
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
                try:
                    if not await asyncio.wait_for(reader.read(4096), 1.0):
                        break
                except TimeoutError:
                    pass
        except OSError:
            pass
        finally:
            writer.close()
        return min(loop.time() - started, hold)

    return await asyncio.gather(*(one() for _ in range(connections)))


def idle(port: int, count: int) -> None:
    sockets = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(1)
        for attempt in range(3):
            started = time.perf_counter()
            try:
                status = str(httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code)
            except httpx.HTTPError as error:
                status = f"no answer ({type(error).__name__})"
            elapsed = (time.perf_counter() - started) * 1000
            print(
                f"  /health with {count} idle sockets open, try {attempt + 1}: {status}"
                f" in {elapsed:.0f} ms"
            )
        closed = 0
        for sock in sockets:
            sock.setblocking(False)
            try:
                closed += sock.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        print(f"  idle sockets closed by the server: {closed} of {count}")
    finally:
        for sock in sockets:
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--slowloris", type=int, default=50)
    parser.add_argument("--idle", type=int, default=1100)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--posts", type=int, default=2)
    parser.add_argument("--hold", type=float, default=30.0)
    args = parser.parse_args()
    project = args.project.resolve()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(project),
            "KOHORT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/kohort.db",
            "KOHORT_PORT": str(port),
            "KOHORT_DATA_DIR": tmp,
            "KOHORT_LOG_LEVEL": "WARNING",
        }
        kohort(project, env, "migrate")
        created = json.loads(kohort(project, env, "org", "create", "--name", "Bench", "--json"))
        commit = subprocess.run(
            ["git", "-C", str(project), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        print(f"kohort serve from {project} ({commit}), ulimit -n {OPEN_FILES}, SQLite")
        process = serve(project, env, port, Path(tmp) / "serve.log")
        try:
            big_bodies(port, process.pid, created["keys"]["sk_test"], args.mb, args.posts)
            started = time.perf_counter()
            held = asyncio.run(slowloris(port, args.slowloris, args.hold))
            still_open = sum(1 for seconds in held if seconds >= args.hold)
            print(
                f"slowloris: {args.slowloris} connections, open for median "
                f"{statistics.median(held):.1f} s, max {max(held):.1f} s; "
                f"{still_open} still open after {args.hold:.0f} s "
                f"(phase took {time.perf_counter() - started:.0f} s)"
            )
            print("idle:")
            idle(port, args.idle)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
