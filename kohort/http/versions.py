"""API versions, as Stripe does it: the one place where a version differs from today's API.

A request's version is its `Kohort-Version` header, else the one its API key pins, else its
organization's default. Endpoints, services and schemas know only the current version;
`translate_request` maps a request in before the route's validation and `present` maps its
answer out. Two versions exist:

* `2026-12-01`, the current one: camelCase in and out, strict types.
* `kohortpay`, KohortPay's wire (docs/api.md, "API versions"): snake_case answers except the
  contents of `metadata`, both casings in (query keys and `search`/`orderBy` field names
  too), conditions on unknown search fields ignored, POST answers 201, and the leniencies of
  the clients written for it (`_Lenient`)."""

import json
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from kohort.errors import ValidationError

CURRENT = "2026-12-01"
KOHORTPAY = "kohortpay"
KNOWN = (CURRENT, KOHORTPAY)
HEADER = "Kohort-Version"

ApiVersionName = Annotated[
    Literal["2026-12-01", "kohortpay"],
    Field(
        description="An API version: `2026-12-01` (the current one) or `kohortpay` "
        "(KohortPay's snake_case wire, for its modules and SDKs).",
        examples=[CURRENT],
    ),
]

_CENT_TOLERANCE = Decimal("0.01")
_RENAMED = {"customerPhone": "customerPhoneNumber"}
"""Keys KohortPay's clients send under another name (Magento's `customerPhone`)."""
_QUERY_FIELDS = ("search", "orderBy")
_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def check(value: str, *, param: str = HEADER) -> str:
    """`value` if it names a known version, else the 400 that lists them."""
    if value not in KNOWN:
        raise ValidationError(
            f"Unknown API version '{value}'; known versions: {', '.join(KNOWN)}.", param=param
        )
    return value


def resolve(request: Request, default: str | None) -> str:
    """Header > key > organization (`default`, what authentication found); remembered on the
    request for its answer."""
    header = request.headers.get(HEADER)
    version = check(header.strip()) if header is not None else default or CURRENT
    request.state.api_version = version
    return version


def of(request: Request) -> str:
    """The version a request was answered in: resolved, else its header if valid, else the
    current one (a request refused before authentication)."""
    version = getattr(request.state, "api_version", None)
    if version is not None:
        return str(version)
    header = (request.headers.get(HEADER) or "").strip()
    return header if header in KNOWN else CURRENT


@cache
def _locales() -> tuple[str, ...]:
    """The supported locales (imported late: the customer schemas import this module's
    version names through the organization's)."""
    from kohort.customer.schemas import Locale

    return get_args(Locale)


def ignores_unknown_search_fields(request: Request) -> bool:
    return of(request) == KOHORTPAY


# Requests in


def translate_request(request: Request, version: str, body: Any) -> None:
    """Map a `kohortpay` request to the current version, in place, before validation."""
    if version != KOHORTPAY:
        return
    _translate_query(request)
    raw = getattr(request, "_body", b"")
    models = _models(body)
    if not raw or not models:
        return
    try:
        document = _camelize(json.loads(raw))
    except ValueError:
        return
    for model in models:
        document = _lenient(document, model)
    request._body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    request._json = document


def _translate_query(request: Request) -> None:
    query: bytes = request.scope.get("query_string", b"")
    if not query:
        return
    pairs = []
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        name = _camel_key(name.removesuffix("[]")) + ("[]" if name.endswith("[]") else "")
        if name in _QUERY_FIELDS:
            value = _camel_conditions(value)
        elif name == "expand[]":
            value = _camel_key(value)
        pairs.append((name, value))
    request.scope["query_string"] = urlencode(pairs).encode("latin-1")
    request.__dict__.pop("_query_params", None)
    request.__dict__.pop("_url", None)


def _camel_conditions(value: str) -> str:
    """`first_name:Bob,created_at>2024-01-01` → `firstName:Bob,createdAt>2024-01-01`."""
    parts = []
    for part in value.split(","):
        stripped = part.lstrip()
        name_end = next(
            (i for i, char in enumerate(stripped) if not (char.isalnum() or char == "_")),
            len(stripped),
        )
        parts.append(_camel_key(stripped[:name_end]) + stripped[name_end:])
    return ",".join(parts)


def _camel_key(key: str) -> str:
    """`payment_group_id` → `paymentGroupId`, `j_minus2_expire_at` → `jMinus2ExpireAt`: the
    inverse of `snake_key`; a key without `_` is kept as sent."""
    if "_" not in key:
        return key
    first, *rest = key.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _camelize(value: Any) -> Any:
    """Keys to camelCase, recursively, except inside `metadata`; a camelCase key wins over its
    snake_case twin when a client sends both."""
    if isinstance(value, list):
        return [_camelize(item) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in sorted(value.items(), key=lambda pair: "_" not in pair[0]):
        name = _camel_key(key) if isinstance(key, str) else key
        result[name] = item if name == "metadata" else _camelize(item)
    return result


@dataclass(frozen=True)
class _Field:
    name: str
    annotation: Any


def _lenient(document: Any, model: type[BaseModel]) -> Any:
    """The leniencies of KohortPay's clients, driven by the route's body model: renamed keys,
    integers sent as floats or strings, metadata values that are not strings, shop locales."""
    if not isinstance(document, dict):
        return document
    fields = {
        (info.alias or _camel_key(name)): _Field(name, info.annotation)
        for name, info in model.model_fields.items()
    }
    for old, new in _RENAMED.items():
        if old in document and new in fields and new not in document:
            document[new] = document.pop(old)
    for key in list(document):
        spec = fields.get(key)
        if spec is not None:
            _lenient_value(document, key, spec.annotation)
    return document


def _lenient_value(document: dict[str, Any], key: str, annotation: Any) -> None:
    value = document[key]
    kinds = set(_kinds(annotation))
    if key == "metadata" and isinstance(value, dict):
        document[key] = {name: _as_text(item) for name, item in value.items() if item is not None}
    elif int in kinds and not isinstance(value, bool) and isinstance(value, float | str):
        document[key] = _whole_cents(value)
    elif "locale" in kinds and isinstance(value, str):
        locale = nearest_locale(value)
        if locale is None:
            del document[key]
        else:
            document[key] = locale
    for model in _models(annotation):
        if isinstance(value, dict):
            _lenient(value, model)
        elif isinstance(value, list):
            for item in value:
                _lenient(item, model)


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [
        kind
        for kind in _kinds(annotation)
        if isinstance(kind, type) and issubclass(kind, BaseModel)
    ]


def _kinds(annotation: Any) -> Iterable[Any]:
    """What an annotation may hold: int, str, "locale", models, through Optional, unions,
    lists and Annotated."""
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _kinds(get_args(annotation)[0])
    elif origin in (Union, types.UnionType, list):
        for arg in get_args(annotation):
            yield from _kinds(arg)
    elif origin is Literal and set(get_args(annotation)) == set(_locales()):
        yield "locale"
    elif annotation is not type(None):
        yield annotation


def _whole_cents(value: float | str) -> Any:
    """`1998.9999999999998` → 1999 and `"1.0000"` → 1: within 0.01 of a whole number; any other
    value is left for validation to refuse."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    whole = number.to_integral_value()
    return int(whole) if abs(number - whole) <= _CENT_TOLERANCE else value


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def nearest_locale(value: str) -> str | None:
    """A shop's locale as the nearest supported one: `fr_BE` → `fr_FR`, `de-CH` → `de_DE`,
    `en_US` stays; None when no supported locale has its language (the default applies)."""
    language, _, region = value.strip().replace("-", "_").partition("_")
    wanted = f"{language.lower()}_{region.upper()}"
    if wanted in _locales():
        return wanted
    return next(
        (locale for locale in _locales() if locale.startswith(language.lower() + "_")), None
    )


# Answers out


def present(request: Request, response: Response) -> Response:
    """The answer in the request's version, naming it in `Kohort-Version`."""
    version = of(request)
    if version == KOHORTPAY and response.media_type == "application/json" and response.body:
        document = snake_case(json.loads(bytes(response.body)))
        error = document.get("error") if isinstance(document, dict) else None
        if isinstance(error, dict) and isinstance(error.get("param"), str):
            error["param"] = _snake_param(error["param"])
        status = 201 if request.method == "POST" and response.status_code == 200 else None
        response = _rebuilt(response, document, status)
    response.headers[HEADER] = version
    return response


def snake_key(key: str) -> str:
    """`paymentGroupShareId` → `payment_group_share_id`, `jMinus2ExpireAt` →
    `j_minus2_expire_at` (digits stay with their word, as KohortPay wrote them)."""
    return _WORD_START.sub("_", key).lower()


def snake_case(value: Any) -> Any:
    """Keys to snake_case, recursively, except the contents of `metadata` (returned as stored)."""
    if isinstance(value, list):
        return [snake_case(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        snake_key(key): item if key == "metadata" else snake_case(item)
        for key, item in value.items()
    }


def _snake_param(param: str) -> str:
    return ".".join(
        snake_key(part) if part and not part[0].isdigit() else part for part in param.split(".")
    )


def _rebuilt(response: Response, document: Any, status: int | None) -> Response:
    headers = {name: value for name, value in response.headers.items() if name != "content-length"}
    return Response(
        content=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        status_code=status or response.status_code,
        media_type="application/json",
        headers=headers,
    )
