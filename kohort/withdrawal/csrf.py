"""CSRF protection of the withdrawal form: a random nonce in an HttpOnly, SameSite=Lax
cookie, and in the form HMAC(secret key, order id + nonce). Another site can neither read
the cookie nor compute the field, and a cross-site POST does not carry a Lax cookie, so it
cannot submit the form in the shopper's name. Lax, not Strict: the link arrives from a
webmail (another site), and a second tab opened from it must find the same nonce."""

import base64
import hashlib
import hmac
import secrets

COOKIE = "kohort_withdrawal"
COOKIE_PATH = "/w/"
FIELD = "csrf"


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def usable_nonce(value: str | None) -> str | None:
    """The cookie's nonce if it looks like one of ours (anything else is replaced)."""
    if value is None or not 16 <= len(value) <= 64:
        return None
    return value if all(c.isalnum() or c in "-_" for c in value) else None


def form_token(key: bytes, order_id: str, nonce: str) -> str:
    digest = hmac.new(key, f"csrf:{order_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def is_valid(key: bytes, order_id: str, nonce: str | None, submitted: str | None) -> bool:
    if nonce is None or not submitted:
        return False
    return hmac.compare_digest(form_token(key, order_id, nonce), submitted)
