"""The command line: `kohort demo` creates the demo organization once and reuses it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from kohort.config import Settings
from tests.factories import bearer

ROOT = Path(__file__).resolve().parent.parent


def kohort(settings: Settings, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KOHORT_DATABASE_URL": settings.database_url,
        "KOHORT_DATA_DIR": str(data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "kohort.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


async def test_demo_creates_the_organization_once_and_prints_the_same_keys(
    settings: Settings, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    first = kohort(settings, tmp_path, "demo")
    saved = json.loads((tmp_path / "demo-keys.json").read_text())
    sk_test = saved["keys"]["sk_test"]
    assert sk_test.startswith("sk_test_")
    assert sk_test in first.stdout
    assert saved["keys"]["pk_test"] in first.stdout
    assert f"curl -u {sk_test}: " in first.stdout
    assert saved["keys"]["sk_live"] not in first.stdout
    assert oct((tmp_path / "demo-keys.json").stat().st_mode & 0o777) == "0o600"

    second = kohort(settings, tmp_path, "demo")
    assert json.loads((tmp_path / "demo-keys.json").read_text()) == saved
    assert second.stdout == first.stdout

    response = await client.get("/organizations/me", headers=bearer(sk_test))
    assert response.status_code == 200
    assert response.json()["id"] == saved["organizationId"]
    assert response.json()["name"] == "Demo Shop"
    customers = await client.get("/customers", headers=bearer(sk_test))
    assert customers.json() == {"data": [], "count": 0}


async def test_demo_recreates_the_organization_when_the_database_lost_it(
    settings: Settings, tmp_path: Path
) -> None:
    stale = {"organizationId": "org_00000000000000", "keys": {"sk_test": "sk_test_x"}}
    (tmp_path / "demo-keys.json").write_text(json.dumps(stale))
    kohort(settings, tmp_path, "demo")
    saved = json.loads((tmp_path / "demo-keys.json").read_text())
    assert saved["organizationId"] != stale["organizationId"]
    assert saved["organizationId"].startswith("org_")
