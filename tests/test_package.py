"""Kohort as an installed package: the wheel `uv build` makes carries its templates, catalogs
and migrations; installed with its locked dependencies in a fresh virtualenv outside the
repository, `kohort migrate`, `kohort demo` and `kohort serve` work from another directory."""

import os
import re
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_database_url
from tests.serve import _free_port, _stop, _wait_until_ready

PROJECT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _uv() -> str:
    """`uv run` names itself in UV; else the one on PATH, else the copy `make` bootstraps."""
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None and (PROJECT / ".tools/bin/uv").exists():
        found = str(PROJECT / ".tools/bin/uv")
    if found is None:
        pytest.skip("uv is not installed (make sync bootstraps it into .tools/)")
    return found


def _run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = PROJECT) -> str:
    done = subprocess.run(
        [str(arg) for arg in args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))}:\n{done.stdout}{done.stderr}"
    return done.stdout


def _outside_env(venv: Path, data_dir: Path, database_url: str, port: int) -> dict[str, str]:
    """The caller's environment less anything pointing into the repository or at its
    settings, with the new virtualenv first on PATH."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("KOHORT_", "UV_", "PYTHON"))
        and name not in {"VIRTUAL_ENV", "PATH", "UV"}
    }
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if str(PROJECT) not in p]
    return {
        **kept,
        "PATH": os.pathsep.join([str(venv / "bin"), *path]),
        "KOHORT_DATA_DIR": str(data_dir),
        "KOHORT_DATABASE_URL": database_url,
        "KOHORT_PORT": str(port),
        "KOHORT_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }


def _check_wheel(wheel: Path) -> None:
    """Every template, catalog and migration of the repository is in the wheel; Swagger UI's
    files are not (they come with the `fastapi-offline` dependency)."""
    names = set(zipfile.ZipFile(wheel).namelist())
    package = PROJECT / "kohort"
    needed = {
        "templates": [*package.glob("templates/*"), *package.glob("*/templates/*")],
        "catalogs": [*package.glob("*/locale/*/LC_MESSAGES/messages.po")],
        "migrations": [*package.glob("migrations/*.py"), *package.glob("migrations/versions/*.py")],
    }
    for kind, files in needed.items():
        assert files, f"no {kind} found in the repository"
        missing = {str(f.relative_to(PROJECT)) for f in files} - names
        assert missing == set(), f"{kind} missing from the wheel: {sorted(missing)}"
    assert "kohort/migrations/script.py.mako" in names
    assert [name for name in names if "swagger" in name.lower()] == []


def test_the_wheel_installed_outside_the_repository_migrates_and_serves(tmp_path: Path) -> None:
    uv = _uv()
    dist = tmp_path / "dist"
    _run(uv, "build", "--wheel", "--quiet", "--out-dir", dist, PROJECT)
    [wheel] = dist.glob("kohort-*.whl")
    _check_wheel(wheel)
    locked = dist / "requirements.txt"
    export = ["--frozen", "--no-dev", "--no-emit-project", "--quiet", "--output-file", locked]
    _run(uv, "export", *export)

    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    _run(uv, "venv", "--quiet", "--python", "3.11", venv)
    _run(uv, "pip", "install", "--quiet", "--python", python, "-r", locked)
    _run(uv, "pip", "install", "--quiet", "--python", python, "--no-deps", wheel)
    _run(uv, "pip", "check", "--python", python)

    work = tmp_path / "elsewhere"
    work.mkdir()
    port = _free_port()
    env = _outside_env(venv, tmp_path / "data", fresh_database_url(tmp_path, "_package"), port)
    kohort = venv / "bin" / "kohort"
    found = "import importlib.util as u; print(u.find_spec('kohort').origin)"
    assert Path(_run(python, "-c", found, env=env, cwd=work).strip()).is_relative_to(venv)

    _run(kohort, "migrate", env=env, cwd=work)
    demo = _run(kohort, "demo", env=env, cwd=work)
    key = re.search(r"sk_test_\w+", demo)
    assert key is not None, demo

    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [kohort, "serve"],
            env=env,
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_ready(process, base_url, log)
        with httpx.Client(base_url=base_url, timeout=10) as client:
            customers = client.get("/customers", auth=(key.group(), ""))
            assert customers.status_code == 200, customers.text
            assert customers.json() == {"data": [], "count": 0}

            docs = client.get("/docs")
            assert docs.status_code == 200
            assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
            assert len(assets) == 3, assets
            static = next(venv.glob("lib/python*/site-packages/fastapi_offline/static"))
            for asset in assets:
                assert asset.startswith("/docs/static/"), asset
                served = client.get(asset)
                assert served.status_code == 200, asset
                assert served.content == (static / asset.rsplit("/", 1)[1]).read_bytes()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, log.read_text()
    finally:
        _stop(process)
