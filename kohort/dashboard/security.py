"""The dashboard's defences that are not a service rule: cookies, the CSRF tokens, the
Origin check of unsafe requests, and the security headers of every answer."""

import hmac
import re
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kohort.config import Settings

PREFIX = "/dashboard"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: https:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""`Referrer-Policy: same-origin`, not `no-referrer`: with the latter, browsers send
`Origin: null` on form posts, which the Origin check must refuse."""
FRAMED = re.compile(r"/dashboard/o/[^/]+/emails/preview/[^/]+/[^/]+/html")
"""An e-mail's HTML preview: shown in a sandboxed frame of the dashboard's own pages only,
with the inline styles e-mails are written with, and nothing else (no script, no request)."""
FRAMED_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'",
    "X-Frame-Options": "SAMEORIGIN",
}


def session_cookie(settings: Settings) -> str:
    return "__Host-kohort_session" if settings.secure_cookies else "kohort_session"


def csrf_cookie(settings: Settings) -> str:
    """The anonymous forms' CSRF token (sign-in, reset, invitation): double-submitted."""
    return "__Host-kohort_csrf" if settings.secure_cookies else "kohort_csrf"


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=settings.secure_cookies, httponly=True, samesite="lax"
    )


def anonymous_csrf(request: Request, settings: Settings) -> tuple[str, bool]:
    """The anonymous CSRF token of this browser, and whether it is new (to set)."""
    current = request.cookies.get(csrf_cookie(settings))
    if current and 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(32), True


def same_token(expected: str | None, given: object) -> bool:
    return (
        bool(expected)
        and isinstance(given, str)
        and hmac.compare_digest(str(expected).encode(), given.encode())
    )


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(request: Request, settings: Settings) -> set[str]:
    """KOHORT_PUBLIC_URL's origin when set, else this request's own (scheme and Host)."""
    if settings.public_url:
        found = _origin(settings.public_url)
        return {found} if found else set()
    host = request.headers.get("host", "")
    return {f"{request.url.scheme}://{host}".lower()} if host else set()


def origin_allowed(request: Request, settings: Settings) -> bool:
    """An unsafe request must come from the dashboard's own origin: its Origin header, else
    its Referer's; neither (or `null`) is refused."""
    if request.method in SAFE_METHODS:
        return True
    origin = request.headers.get("origin")
    claimed = _origin(origin) if origin and origin != "null" else None
    if claimed is None and not origin:
        referer = request.headers.get("referer")
        claimed = _origin(referer) if referer else None
    return claimed is not None and claimed in allowed_origins(request, settings)


class SecurityHeadersMiddleware:
    """Every answer under /dashboard (pages, redirects, errors, files) gets `HEADERS`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
        self.framed = [(k.lower().encode(), v.encode()) for k, v in FRAMED_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        names = {name for name, _ in self.headers}
        headers = self.framed if FRAMED.fullmatch(path) else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
