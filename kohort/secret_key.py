"""The instance's secret key: KOHORT_SECRET_KEY, else a random key made once and kept in
`{data_dir}/secret.key` (mode 0600). It signs withdrawal links (and, later, encrypts IBANs):
changing it invalidates the links already sent."""

import os
import secrets
from functools import lru_cache
from pathlib import Path

from kohort.config import Settings

SECRET_KEY_FILE = "secret.key"


def secret_key(settings: Settings) -> bytes:
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value().encode()
    return _kept_key(settings.data_dir.resolve() / SECRET_KEY_FILE)


@lru_cache
def _kept_key(path: Path) -> bytes:
    """Read the key file, creating it first if absent. The new key is written aside, then
    linked into place, so two processes starting at once agree on one whole key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it or set KOHORT_SECRET_KEY")
    return key.encode()
