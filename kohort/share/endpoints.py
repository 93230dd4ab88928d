"""The share page `GET /r/{code}`: the public page the group e-mails link to, server-rendered
HTML outside the JSON API (no key, not in the OpenAPI document). It shows the group of a share
code to whoever has the code, in the browser's language, and no personal data."""

import dataclasses
import logging
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.errors import NotFoundError, ValidationError, render_error
from kohort.share import counting, rendering, service

log = logging.getLogger("kohort.share")

router = APIRouter(include_in_schema=False)

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; img-src 'self' https: data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'",
}
SCRIPT = (Path(__file__).parent / "static" / "share.js").read_bytes()
_SCRIPT_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "X-Content-Type-Options": "nosniff",
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


def _window(request: Request) -> counting.Window:
    window: counting.Window = request.app.state.share_window
    return window


async def _count_view(request: Request, group_id: str, channel: str, timezone: str) -> None:
    """A view of a share surface, unless a link preview fetched it or its address is over the
    limit; a failure to count never fails the page."""
    if counting.is_preview(request.headers.get("user-agent")):
        return
    if not _window(request).allow(request.client.host if request.client else ""):
        return
    try:
        db: Database = request.app.state.db
        async with db.write() as session:
            group = await service.group_by_id(session, group_id)
            if group is not None:
                await counting.count(
                    session, group=group, channel=channel, today=counting.local_day(timezone)
                )
    except Exception:
        log.exception("share view not counted", extra={"request_id": request.state.request_id})


@router.post("/share-events", status_code=204)
async def share_event(request: Request) -> Response:
    """A share action tapped (sent by share.js and widget.js with `navigator.sendBeacon`):
    `{"code": …, "channel": …, "view": "member" | "invite" | "widget"}`. 204 once counted, or
    when the address is over its limit (then nothing is counted); an unknown code → 404."""
    request_id: str = request.state.request_id
    try:
        event = service.share_event(await request.body())
    except ValidationError as error:
        return render_error(error, request_id)
    if not _window(request).allow(request.client.host if request.client else ""):
        return Response(status_code=204)
    db: Database = request.app.state.db
    async with db.write() as session:
        found = await service.find(session, event.code)
        if found is None:
            return render_error(NotFoundError("No group has this code.", param="code"), request_id)
        today = counting.local_day(found.organization.timezone)
        await counting.count(session, group=found.group, channel=event.channel, today=today)
    return Response(status_code=204)


@router.get("/share.js")
async def share_script() -> Response:
    """The share page's own script (copy, share sheet, counting)."""
    return Response(SCRIPT, media_type="text/javascript", headers=_SCRIPT_HEADERS)


@router.get("/r/{code:path}", response_class=HTMLResponse)
async def share_page(code: str, request: Request) -> Response:
    try:
        db: Database = request.app.state.db
        async with db.read() as session:
            found = await service.find(session, code)
        if found is None:
            return _notice(request, "not_found", 404)
        locale = rendering.choose(request.headers.get("accept-language"), found.creator_locale)
        settings: Settings = request.app.state.settings
        invite = request.query_params.get("invite") == "1"
        page = service.shared(
            found, locale=locale, now=clock.now(), base_url=settings.base_url, invite=invite
        )
        context = {item.name: getattr(page, item.name) for item in dataclasses.fields(page)}
        context["view"] = "invite" if invite else "member"
        response = _page("invite.html" if invite else "group.html", locale, 200, context)
        await _count_view(
            request, found.group.id, f"shown:{context['view']}", found.organization.timezone
        )
        return response
    except Exception:
        log.exception("share page failed", extra={"request_id": request.state.request_id})
        return _notice(request, "error", 500)
