"""Turns request validation failures into one 400 that names every bad field."""

from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError

from kohort.errors import AppError, InvalidJSONError, ValidationError


def _field(loc: Sequence[Any]) -> str:
    """`("body", "lineItems", 0, "price")` → `lineItems[0].price`."""
    if len(loc) < 2:
        return ".".join(str(p) for p in loc)
    name = ""
    for part in loc[1:]:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name


_MONEY_FIELDS = {"amount", "amountTotal", "price", "minPurchaseValue", "min_purchase_value"}
_NOT_AN_INTEGER = {"int_type", "int_parsing", "int_from_float"}


def _message(error: Any, loc: Sequence[Any]) -> str:
    """Pydantic's message, except for a value that is not a JSON integer: amounts are
    integers in cents, and the message says so."""
    if error.get("type") in _NOT_AN_INTEGER:
        if loc and str(loc[-1]) in _MONEY_FIELDS:
            return (
                "amounts are integers in cents, as a JSON number without a fraction "
                "(1999 for 19.99 EUR), not a string or a decimal"
            )
        return "must be a JSON integer (not a string, a boolean or a decimal number)"
    message = str(error.get("msg", "is invalid"))
    return message.removeprefix("Value error, ").rstrip(".")


def from_validation_error(exc: RequestValidationError) -> AppError:
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return InvalidJSONError("The request body is not valid JSON.")
    messages: list[str] = []
    params: list[str] = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if loc == ("body",) and error.get("type") == "missing":
            messages.append("a JSON object body is required")
            params.append("body")
            continue
        message = _message(error, loc)
        if "[key]" in loc:
            at = loc.index("[key]")
            message = f"key '{loc[at - 1]}': {message}"
            loc = loc[: at - 1]
        field = _field(loc)
        messages.append(f"{field}: {message}")
        params.append(field)
    text = "; ".join(dict.fromkeys(messages)) or "The request is invalid."
    return ValidationError(f"Invalid request: {text}.", param=params[0] if params else None)
