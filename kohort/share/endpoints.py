"""The share page `GET /r/{code}`: the public page the group e-mails link to, server-rendered
HTML outside the JSON API (no key, not in the OpenAPI document). It shows the group of a share
code to whoever has the code, in the browser's language, and no personal data."""

import dataclasses
import logging

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from kohort import clock
from kohort.db import Database
from kohort.share import rendering, service

log = logging.getLogger("kohort.share")

router = APIRouter(include_in_schema=False)

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
}


def _page(template: str, locale: str, status: int, context: dict[str, object]) -> HTMLResponse:
    html = rendering.render(template, locale, context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _notice(request: Request, reason: str, status: int) -> HTMLResponse:
    locale = rendering.choose(request.headers.get("accept-language"), None)
    return _page("notice.html", locale, status, {"reason": reason, "shop": None})


def error_page(request: Request, status: int) -> HTMLResponse:
    """Any other answer under /r/ (another method, a body where none is read): a page,
    never JSON."""
    return _notice(request, "not_found", status)


@router.get("/r/{code:path}", response_class=HTMLResponse)
async def share_page(code: str, request: Request) -> Response:
    try:
        db: Database = request.app.state.db
        async with db.read() as session:
            found = await service.find(session, code)
        if found is None:
            return _notice(request, "not_found", 404)
        locale = rendering.choose(request.headers.get("accept-language"), found.creator_locale)
        page = service.shared(found, locale=locale, now=clock.now())
        return _page("group.html", locale, 200, dataclasses.asdict(page))
    except Exception:
        log.exception("share page failed", extra={"request_id": request.state.request_id})
        return _notice(request, "error", 500)
