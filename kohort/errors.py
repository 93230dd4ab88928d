"""The AppError tree and the one renderer of the error envelope (API.md §1.3)."""

import json
from typing import Any, ClassVar

from starlette.responses import Response

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class AppError(Exception):
    """An answer the API gives on purpose: status, stable code, message, offending field."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    error_type: ClassVar[str | None] = None

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    @property
    def type(self) -> str:
        return self.error_type or ERROR_TYPES.get(self.status, "api_error")


class ValidationError(AppError):
    status = 400
    code = "VALIDATION_ERROR"


class InvalidJSONError(AppError):
    status = 400
    code = "INVALID_JSON"


class NotFoundError(AppError):
    status = 404
    code = "NOT_FOUND"


class RouteNotFoundError(AppError):
    status = 404
    code = "NOT_FOUND"


class MethodNotAllowedError(AppError):
    status = 405
    code = "METHOD_NOT_ALLOWED"


class ConflictError(AppError):
    status = 409
    code = "CONFLICT"


class RequestTooLargeError(AppError):
    status = 413
    code = "REQUEST_TOO_LARGE"


class RequestTimeoutError(AppError):
    """The request's headers or body did not arrive in time."""

    status = 408
    code = "REQUEST_TIMEOUT"
    error_type = "invalid_request_error"


class HeadersTooLargeError(AppError):
    status = 431
    code = "REQUEST_HEADERS_TOO_LARGE"
    error_type = "invalid_request_error"


class InternalError(AppError):
    status = 500
    code = "INTERNAL_ERROR"
    error_type = "api_error"


def error_body(
    *, type_: str, code: str, message: str, param: str | None, request_id: str
) -> dict[str, Any]:
    return {
        "error": {
            "type": type_,
            "code": code,
            "message": message,
            "param": param,
            "requestId": request_id,
        }
    }


def render_error(error: AppError, request_id: str) -> Response:
    body = error_body(
        type_=error.type,
        code=error.code,
        message=error.message,
        param=error.param,
        request_id=request_id,
    )
    headers = {"Request-Id": request_id}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="kohort"'
    return Response(
        content=json.dumps(body, separators=(",", ":")),
        status_code=error.status,
        media_type="application/json",
        headers=headers,
    )
