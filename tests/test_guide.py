"""docs/guide.md is run as written: its shell blocks, in order, against a served instance
(`kohort serve` as `make run` starts it), and the code it shows is the code of the example
files, so the guide can never rot."""

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.serve import serving

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "guide.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
RECEIVER_PORTS = (4242, 4243)


def _blocks() -> list[tuple[str, str, str]]:
    return [(m.group(1), m.group(2).strip(), m.group(3)) for m in BLOCK.finditer(GUIDE.read_text())]


def test_the_code_the_guide_shows_is_the_example_files() -> None:
    shown = [(info, body) for kind, info, body in _blocks() if info.startswith("file=")]
    assert len(shown) == 2
    for info, body in shown:
        path = REPO / info.removeprefix("file=")
        assert path.read_text() == body, f"{path} and the guide differ"


def test_the_docs_point_only_at_files_in_the_repository() -> None:
    for document in (GUIDE, REPO / "docs" / "api.md", REPO / "README.md"):
        text = document.read_text()
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (document.parent / target).exists(), f"{document.name} links to {target}"
        for named in re.findall(r"[\w./-]*\w\.md\b", text):
            found = (document.parent / named).exists() or (REPO / named).exists()
            assert found, f"{document.name} names {named}, which is not in the repository"


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
def test_every_shell_block_of_the_guide_runs_in_order(tmp_path: Path) -> None:
    assert shutil.which("jq") and shutil.which("node") and shutil.which("npm")
    for port in RECEIVER_PORTS:
        assert _port_is_free(port), f"the guide's receivers need port {port}"
    script = "\n\n".join(body for kind, _, body in _blocks() if kind == "sh")
    assert script.count("api ") > 10
    env = {"KOHORT_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS": "true"}
    with serving(tmp_path, env=env, workers=1) as server:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=REPO,
            env={
                **os.environ,
                "KOHORT": server.base_url,
                "SK": server.keys["sk_test"],
                "PK": server.keys["pk_test"],
                "KOHORT_DATA_DIR": str(server.data_dir),
            },
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    output = done.stdout
    assert done.returncode == 0, f"{output}\n{done.stderr}\n{server.log.read_text()[-3000:]}"
    assert '"status": "COMPLETED"' in output
    assert "Grace's withdrawal link: http" in output
    assert '"status": "CASHBACK_PROCESSING"' in output
    assert '"status": "confirmed"' in output
    assert '"status": "CASHBACK_SENT"' in output
    assert "python verified order.cashback_sent" in output
    assert re.search(r"^\d+$", output.strip().splitlines()[-1]), output
    assert int(output.strip().splitlines()[-1]) >= 10, "the Node receiver verified them too"
