"""Object ids (`{prefix}_{14 hex}`), request ids and API key secrets, all from a CSPRNG."""

import secrets
import string

_KEY_ALPHABET = string.ascii_letters + string.digits
KEY_SECRET_LENGTH = 40


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(7)}"


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def new_key_secret() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(KEY_SECRET_LENGTH))


def new_share_code(livemode: bool) -> str:
    """`KHT-` + 8 uppercase hex in live mode, `KHT-test-` + 8 uppercase hex in test mode."""
    return f"{'KHT-' if livemode else 'KHT-test-'}{secrets.token_hex(4).upper()}"


def share_key(code: str) -> str:
    """The case-insensitive lookup key of a share code (people type them)."""
    return code.strip().upper()
