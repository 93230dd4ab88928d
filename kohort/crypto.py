"""Field encryption at rest (IBANs, the shops' Stripe keys) and masking for display.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from the instance's secret key by
HKDF-SHA256: changing KOHORT_SECRET_KEY makes the stored values unreadable."""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kohort.config import Settings
from kohort.secret_key import secret_key

_INFO = b"kohort field encryption"


class DecryptionError(Exception):
    """A stored value cannot be read with this instance's key (the key changed)."""


@lru_cache
def _fernet(key: bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key)
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(settings: Settings, plaintext: str) -> str:
    return _fernet(secret_key(settings)).encrypt(plaintext.encode()).decode()


def decrypt(settings: Settings, token: str) -> str:
    try:
        return _fernet(secret_key(settings)).decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "cannot decrypt a stored value: KOHORT_SECRET_KEY changed since it was stored"
        ) from None


def compact_iban(iban: str) -> str:
    return "".join(iban.split()).upper()


def mask_iban(iban: str) -> str:
    """Country, check digits and the last 3 characters visible, in groups of four:
    `FR76 **** **** **** **** **** 189`."""
    compact = compact_iban(iban)
    if len(compact) <= 7:
        return compact[:2] + "*" * max(len(compact) - 2, 0)
    hidden = compact[:4] + "*" * (len(compact) - 7) + compact[-3:]
    return " ".join(hidden[i : i + 4] for i in range(0, len(hidden), 4))


def mask_secret(value: str, *, visible: int = 4) -> str:
    """A secret's kind and last characters: `sk_live_…abcd`."""
    prefix = value[: value.index("_", 3) + 1] if value.count("_") >= 2 else ""
    return f"{prefix}…{value[-visible:]}"
