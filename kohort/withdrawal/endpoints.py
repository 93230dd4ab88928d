"""The withdrawal page `GET/POST /w/{orderId}?token=…`: server-rendered HTML for the shopper,
outside the JSON API (no key, not in the OpenAPI document). Every answer is a page in the
shopper's language, errors included; nothing is cached, framed or referred elsewhere (the
link's token is in the URL)."""

import logging
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, Response

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.errors import RequestTimeoutError, RequestTooLargeError
from kohort.secret_key import secret_key
from kohort.withdrawal import csrf, rendering, service
from kohort.withdrawal.service import Outcome, Result

log = logging.getLogger("kohort.withdrawal")

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 8192

_STATUS = {
    Outcome.FORM: 200,
    Outcome.STARTED: 200,
    Outcome.AUTOMATIC: 200,
    Outcome.INVALID_INPUT: 400,
    Outcome.WRONG_TOKEN: 400,
    Outcome.UNKNOWN_ORDER: 404,
    Outcome.TOKEN_USED: 410,
    Outcome.TOKEN_EXPIRED: 410,
    Outcome.CANCELED: 410,
    Outcome.IN_PROGRESS: 409,
    Outcome.SENT: 409,
    Outcome.NOT_AVAILABLE: 409,
}
_TEMPLATE = {
    Outcome.FORM: "form.html",
    Outcome.INVALID_INPUT: "form.html",
    Outcome.STARTED: "processing.html",
    Outcome.AUTOMATIC: "automatic.html",
}
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(template: str, locale: str, status: int, context: dict[str, Any]) -> HTMLResponse:
    html = rendering.render(template, locale, context)
    return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


def _notice(
    request: Request, reason: str, status: int, *, locale: str | None = None, **context: Any
) -> HTMLResponse:
    locale = locale or rendering.negotiate(request.headers.get("accept-language"))
    defaults = {"reason": reason, "shop": None, "amount": None, "retry_url": None}
    return _page("notice.html", locale, status, {**defaults, **context})


def error_page(request: Request, status: int) -> HTMLResponse:
    """Any other answer under /w/, never the API's JSON: another path or method (404, 405)
    is the page of a link that is not valid; a form refused before it was read (413 too
    large, 408 too slow) asks to send the form again."""
    reason = Outcome.UNKNOWN_ORDER.value if status in (404, 405) else "bad_request"
    return _notice(request, reason, status)


def _link(order_id: str, token: str) -> str:
    return f"/w/{quote(order_id, safe='')}?token={quote(token, safe='')}"


def _answer(
    request: Request, result: Result, *, token: str, nonce: str, form: dict[str, str]
) -> HTMLResponse:
    order, organization = result.order, result.organization
    if order is None or organization is None:
        return _notice(request, result.outcome.value, _STATUS[result.outcome])
    key = secret_key(_settings(request))
    context: dict[str, Any] = {
        "reason": result.outcome.value,
        "shop": organization.name,
        "amount": rendering.money(order.amount_cashback or 0, order.currency, order.locale),
        "livemode": order.livemode,
        "method": result.method,
        "errors": result.errors,
        "first_error": next(iter(result.errors), None),
        "holder": form.get("holder", ""),
        "iban": form.get("iban", ""),
        "iban_masked": result.payout.iban_masked if result.payout else None,
        "action": _link(order.id, token),
        "csrf_field": csrf.FIELD,
        "csrf": csrf.form_token(key, order.id, nonce),
        "retry_url": None,
    }
    template = _TEMPLATE.get(result.outcome, "notice.html")
    response = _page(template, order.locale, _STATUS[result.outcome], context)
    if template == "form.html":
        response.set_cookie(
            csrf.COOKIE,
            nonce,
            path=csrf.COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=_settings(request).base_url.startswith("https://"),
        )
    return response


def _nonce(request: Request) -> str:
    return csrf.usable_nonce(request.cookies.get(csrf.COOKIE)) or csrf.new_nonce()


@router.get("/w/{order_id}", response_class=HTMLResponse)
async def withdrawal_page(order_id: str, request: Request, token: str = "") -> Response:
    try:
        db: Database = request.app.state.db
        async with db.read() as session:
            result = await service.open_link(
                session, order_id=order_id, token=token, now=clock.now()
            )
            return _answer(request, result, token=token, nonce=_nonce(request), form={})
    except Exception:
        log.exception("withdrawal page failed", extra={"request_id": request.state.request_id})
        return _notice(request, "error", 500)


async def _read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form's first value per field; None when it is not one we can read."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items()}


@router.post("/w/{order_id}", response_class=HTMLResponse)
async def submit_withdrawal(order_id: str, request: Request, token: str = "") -> Response:
    try:
        return await _submit(order_id, request, token)
    except (RequestTooLargeError, RequestTimeoutError, ClientDisconnect):
        raise  # a body refused by the limits (answered by BodyLimitMiddleware), a client gone
    except Exception:
        log.exception("withdrawal submit failed", extra={"request_id": request.state.request_id})
        return _notice(request, "error", 500)


async def _refused(request: Request, order_id: str, token: str, reason: str) -> Response:
    """A submit that was not the page's form: nothing done, a way back to the page."""
    db: Database = request.app.state.db
    async with db.read() as session:
        locale = await service.locale_of(session, order_id)
    status = 403 if reason == "csrf" else 400
    return _notice(request, reason, status, locale=locale, retry_url=_link(order_id, token))


async def _submit(order_id: str, request: Request, token: str) -> Response:
    form = await _read_form(request)
    if form is None:
        return await _refused(request, order_id, token, "bad_request")
    settings = _settings(request)
    nonce = csrf.usable_nonce(request.cookies.get(csrf.COOKIE))
    if nonce is None or not csrf.is_valid(
        secret_key(settings), order_id, nonce, form.get(csrf.FIELD)
    ):
        return await _refused(request, order_id, token, "csrf")
    db: Database = request.app.state.db
    async with db.write() as session:
        result = await service.withdraw(
            session,
            order_id=order_id,
            token=token,
            holder=form.get("holder", ""),
            iban=form.get("iban", ""),
            now=clock.now(),
            settings=settings,
        )
        return _answer(request, result, token=token, nonce=nonce, form=form)
