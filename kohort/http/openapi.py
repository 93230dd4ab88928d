"""Declares in the OpenAPI document every error status a route can answer."""

import re
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from kohort.http import auth
from kohort.http.schemas import ErrorEnvelope

_DESCRIPTIONS = {
    400: "Invalid request: malformed JSON, a bad field (VALIDATION_ERROR) or a broken rule.",
    401: "No API key, a malformed Authorization header, or an unknown, revoked or expired key.",
    403: "A publishable key on a route that needs a secret key (PUBLISHABLE_KEY_NOT_ALLOWED).",
    404: "No such object in the caller's organization and mode (NOT_FOUND).",
    408: "The request body did not arrive within KOHORT_BODY_TIMEOUT_SECONDS (REQUEST_TIMEOUT).",
    409: "Conflict: a unique value already used, or an Idempotency-Key reused or in progress.",
    413: "The request body is larger than KOHORT_MAX_BODY_BYTES (REQUEST_TOO_LARGE).",
    415: "The body's Content-Type is not one the operation takes (UNSUPPORTED_MEDIA_TYPE).",
    500: "Internal error; the answer carries the requestId to report.",
    503: "Not ready.",
}


_HEADERS: dict[str, dict[str, Any]] = {
    "Request-Id": {
        "description": "This request's id, the `requestId` of an error; quote it to support.",
        "required": True,
        "schema": {"type": "string", "pattern": "^req_[0-9a-f]{24}$"},
    },
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with.",
        "required": True,
        "schema": {"type": "string", "example": 'Bearer realm="kohort"'},
    },
    "Kohort-Version": {
        "description": "The API version this answer is written in (this document describes "
        "`2026-12-01`; `kohortpay` answers are its snake_case, see docs/api.md). Absent "
        "only from refusals given before the route runs (a body that is not UTF-8 JSON, too "
        "large or too slow).",
        "required": False,
        "schema": {"type": "string", "enum": ["2026-12-01", "kohortpay"]},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this answer replays the first one given for the "
        "Idempotency-Key; absent otherwise.",
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def internal_error() -> dict[int | str, dict[str, Any]]:
    """The 500 any route can answer, for routes that need no `errors()` (no key, no body)."""
    return {500: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[500]}}


def errors(*statuses: int, secret: bool = True) -> dict[int | str, dict[str, Any]]:
    """Error responses for a route: 400, 401 and 500 always, 403 for secret-key routes."""
    wanted = {400, 401, 500, *statuses}
    if secret:
        wanted.add(403)
    return {
        status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]}
        for status in sorted(wanted)
    }


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the document declares for the most specific path template matching `path`:
    a 405's `Allow` must list them all, Starlette knows only the first matching route's."""
    matches: list[tuple[int, set[str]]] = []
    for template, item in app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path):
            matches.append((template.count("{"), {method.upper() for method in item}))
    fewest = min((count for count, _ in matches), default=0)
    return sorted(set().union(*(methods for count, methods in matches if count == fewest)))


def install_openapi(app: FastAPI, order: Sequence[APIRouter] = ()) -> None:
    """FastAPI's schema without its 422 answers: validation failures answer 400 here. Paths are
    listed by their router's place in `order` (the app may match its routers in another order),
    routes of no router in it first, as they were included."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=_documented(app.routes, order),
            )
            _declare_security(schema)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict):
                        operation.get("responses", {}).pop("422", None)
                        _declare_body_limits(operation)
                        _declare_headers(operation)
            components = schema.get("components", {}).get("schemas", {})
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _documented(routes: Sequence[BaseRoute], order: Sequence[APIRouter]) -> list[BaseRoute]:
    place = {id(router): index for index, router in enumerate(order)}

    def rank(route: BaseRoute) -> int:
        router = getattr(route, "original_router", None)
        return place.get(id(router), -1) if router is not None else -1

    return sorted(routes, key=rank)


_BEFORE_SECURITY = ("parameters", "requestBody", "responses", "callbacks")
"""FastAPI writes an operation's `security` after its description, before these."""


def _declare_security(schema: dict[str, Any]) -> None:
    """The key schemes (`auth.SCHEMES`) on every operation that takes a key (those that can
    answer 401: `errors()` declares it on each), in the place FastAPI would write them."""
    requirement: list[dict[str, list[str]]] = [{s.scheme_name: []} for s in auth.SCHEMES]
    declared = False
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if "401" not in operation.get("responses", {}):
                continue
            items = list(operation.items())
            at = next((i for i, (k, _) in enumerate(items) if k in _BEFORE_SECURITY), len(items))
            operation.clear()
            operation.update([*items[:at], ("security", list(requirement)), *items[at:]])
            declared = True
    if declared:
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for scheme in auth.SCHEMES:
            model = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
            schemes[scheme.scheme_name] = model


def _declare_body_limits(operation: dict[str, Any]) -> None:
    """An operation that takes a body can answer 413 (too large) and 408 (too slow), from
    `BodyLimitMiddleware`, before it runs."""
    if "requestBody" not in operation:
        return
    responses = operation.setdefault("responses", {})
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for status in (408, 413):
        responses.setdefault(
            str(status),
            {
                "description": _DESCRIPTIONS[status],
                "content": {"application/json": {"schema": envelope}},
            },
        )


def _declare_headers(operation: dict[str, Any]) -> None:
    """Every answer carries `Request-Id` (an API route's, `Kohort-Version` too); a 401
    `WWW-Authenticate`; a replay of an
    Idempotency-Key `Idempotent-Replayed` (errors replay too, validation errors excepted)."""
    parameters = operation.get("parameters", [])
    idempotent = any(p.get("name") == "Idempotency-Key" for p in parameters)
    versioned = "security" in operation
    for status, response in operation.get("responses", {}).items():
        headers = response.setdefault("headers", {})
        headers["Request-Id"] = _HEADERS["Request-Id"]
        if versioned:
            headers["Kohort-Version"] = _HEADERS["Kohort-Version"]
        if status == "401":
            headers["WWW-Authenticate"] = _HEADERS["WWW-Authenticate"]
        if idempotent:
            headers["Idempotent-Replayed"] = _HEADERS["Idempotent-Replayed"]
