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


DEFAULT_CODE_PREFIX = "KHT"


def new_share_code(livemode: bool, prefix: str = DEFAULT_CODE_PREFIX) -> str:
    """`{prefix}-` + 8 uppercase hex in live mode, `{prefix}-test-` + 8 uppercase hex in test
    mode (`KHT-1A2B3C4D`, `KHTPAY-test-BE125F06`)."""
    return f"{prefix}-{'' if livemode else 'test-'}{secrets.token_hex(4).upper()}"


ORDER_PREFIX = "ord_"
PAYMENT_INTENT_PREFIX = "pi_"


def payment_intent_id(order_id: str) -> str:
    """KohortPay's payment intent of an order is the order itself: `ord_X` is `pi_X`."""
    return PAYMENT_INTENT_PREFIX + order_id.removeprefix(ORDER_PREFIX)


def order_id_of_payment_intent(payment_intent_id: str) -> str | None:
    """The order behind `pi_X` (`ord_X`), or None when the id is not a payment intent's."""
    if not payment_intent_id.startswith(PAYMENT_INTENT_PREFIX):
        return None
    return ORDER_PREFIX + payment_intent_id.removeprefix(PAYMENT_INTENT_PREFIX)


def share_key(code: str) -> str:
    """The case-insensitive lookup key of a share code (people type them)."""
    return code.strip().upper()
