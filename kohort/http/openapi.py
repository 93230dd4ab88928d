"""Declares in the OpenAPI document every error status a route can answer."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from kohort.http.schemas import ErrorEnvelope

_DESCRIPTIONS = {
    400: "Invalid request: malformed JSON, a bad field (VALIDATION_ERROR) or a broken rule.",
    401: "No API key, a malformed Authorization header, or an unknown, revoked or expired key.",
    403: "A publishable key on a route that needs a secret key (PUBLISHABLE_KEY_NOT_ALLOWED).",
    404: "No such object in the caller's organization and mode (NOT_FOUND).",
    409: "Conflict: a unique value already used, or an Idempotency-Key reused or in progress.",
    500: "Internal error; the answer carries the requestId to report.",
    503: "Not ready.",
}


def errors(*statuses: int, secret: bool = True) -> dict[int | str, dict[str, Any]]:
    """Error responses for a route: 400, 401 and 500 always, 403 for secret-key routes."""
    wanted = {400, 401, 500, *statuses}
    if secret:
        wanted.add(403)
    return {
        status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]}
        for status in sorted(wanted)
    }


def install_openapi(app: FastAPI) -> None:
    """FastAPI's schema without its 422 answers: validation failures answer 400 here."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict):
                        operation.get("responses", {}).pop("422", None)
            components = schema.get("components", {}).get("schemas", {})
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
