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
