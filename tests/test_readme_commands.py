"""The README's commands work as printed on a fresh clone: each `make` target and `kohort`
command it shows exists, `make org` creates an organization with live keys, and Ctrl-C or
SIGTERM stops `make run` without a make error."""

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KOHORT = str(Path(sys.executable).with_name("kohort"))


def _shell_lines() -> list[str]:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


def _make_targets() -> set[str]:
    makefile = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))


def test_the_readme_shows_only_commands_that_exist() -> None:
    lines = _shell_lines()
    assert any(line.startswith("make run") for line in lines)
    assert not [line for line in lines if "uv run" in line], "uv may not be on PATH"
    targets = _make_targets()
    checked = 0
    for line in lines:
        words = line.split()
        if words[0] == "make":
            assert words[1] in targets, line
            checked += 1
        elif words[0] in (".venv/bin/kohort", "kohort"):
            command = [w for w in words[1:] if not w.startswith("-")][:2]
            if command[0] != "org":
                command = command[:1]
            done = subprocess.run(
                [KOHORT, *command, "--help"], capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            checked += 1
    assert checked >= 8


def _env(tmp: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOHORT_")}
    env.update(
        {
            "KOHORT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'kohort.db'}",
            "KOHORT_DATA_DIR": str(tmp),
            "KOHORT_PORT": str(port),
            "MAKEFLAGS": "",
        }
    )
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_make_org_creates_an_organization_with_live_keys(tmp_path: Path) -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "org", "NAME=My Shop"],
        cwd=REPO,
        env=_env(tmp_path, _free_port()),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "My Shop" in done.stdout
    for label in ("sk_test", "pk_test", "sk_live", "pk_live"):
        assert re.search(rf"{label}\s+{label}_[A-Za-z0-9]{{32,}}", done.stdout), done.stdout


def _run_make_in_a_terminal(tmp: Path, stop: str) -> tuple[int, str]:
    """`make run` on a pseudo-terminal, stopped as a person (Ctrl-C) or a supervisor (SIGTERM
    to the server) would: make's exit status and everything it printed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: make, in the repository, with a database of the test's own
        os.chdir(REPO)
        os.execvpe("make", ["make", "--no-print-directory", "run"], _env(tmp, _free_port()))
    output = b""
    deadline = time.monotonic() + 240
    while b"Uvicorn running" not in output and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            output += os.read(fd, 65536)
    assert b"Uvicorn running" in output, output.decode(errors="replace")
    if stop == "ctrl-c":
        os.write(fd, b"\x03")
    else:
        servers = subprocess.run(
            ["pgrep", "-f", "-P", str(_child_of(pid)), "kohort serve"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        for server in servers or [str(_child_of(pid))]:
            os.kill(int(server), signal.SIGTERM)
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def _child_of(pid: int) -> int:
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert children, "make has no child"
    return int(children[-1])


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_stopping_make_run_ends_without_a_make_error(tmp_path: Path, stop: str) -> None:
    status, output = _run_make_in_a_terminal(tmp_path, stop)
    assert "Finished server process" in output, output[-2000:]
    assert "make: ***" not in output, output[-2000:]
    assert "Traceback" not in output, output[-2000:]
    # make itself ends as the signal it got asks (a shell shows no error for it)
    assert status in (0, -signal.SIGINT, -signal.SIGTERM), (status, output[-2000:])
