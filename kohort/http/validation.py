"""Turns request validation failures into one 400 that names every bad field."""

from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError

from kohort.errors import AppError, InvalidJSONError, ValidationError


def _field(loc: Sequence[Any]) -> str:
    parts = (
        [str(p) for p in loc[1:] if not isinstance(p, int)]
        if len(loc) > 1
        else [str(p) for p in loc]
    )
    indexes = [p for p in loc[1:] if isinstance(p, int)]
    name = ".".join(parts) or str(loc[0])
    return f"{name}[{indexes[0]}]" if indexes and parts else name


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
        message = str(error.get("msg", "is invalid"))
        message = message.removeprefix("Value error, ").rstrip(".")
        if "[key]" in loc:
            at = loc.index("[key]")
            message = f"key '{loc[at - 1]}': {message}"
            loc = loc[: at - 1]
        field = _field(loc)
        messages.append(f"{field}: {message}")
        params.append(field)
    text = "; ".join(dict.fromkeys(messages)) or "The request is invalid."
    return ValidationError(f"Invalid request: {text}.", param=params[0] if params else None)
