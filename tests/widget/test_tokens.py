"""The guide's token code, in each language it shows, computes the token Kohort checks (the
PHP snippet only where `php` is installed: it is not on this project's machines)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kohort.widget.service import sign

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
SECRET = "wgs_guide-secret"
REFERENCE = "shop-order-1001/é"


def snippet(language: str) -> str:
    found = re.search(rf"^```{language} widget-token\n(.*?)^```$", GUIDE.read_text(), re.M | re.S)
    assert found, f"the guide shows no {language} token code"
    return found.group(1)


def run(command: list[str]) -> str:
    env = {**os.environ, "KOHORT_WIDGET_SECRET": SECRET}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


def test_the_python_code_signs_as_kohort_checks() -> None:
    code = f"order_reference = {REFERENCE!r}\n{snippet('python')}\nprint(token)"
    assert run(["python3", "-c", code]) == sign(SECRET, REFERENCE)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_code_signs_as_kohort_checks() -> None:
    code = f"const orderReference = {REFERENCE!r};\n{snippet('js')}\nconsole.log(token);"
    assert run(["node", "-e", code]) == sign(SECRET, REFERENCE)


@pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")
def test_the_php_code_signs_as_kohort_checks() -> None:
    code = snippet("php").replace("<?php\n", "") + "echo $token;"
    assert run(["php", "-r", f"$orderReference = {REFERENCE!r};\n{code}"]) == sign(
        SECRET, REFERENCE
    )
