"""The dashboard's pages (not in the OpenAPI document): signing in and out, password resets,
invitations, the account, the organization and mode switches, the team. Each handler opens
one write transaction, checks the page (`guard`), calls one service, and answers a page or
a redirect (post-redirect-get)."""

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from kohort.audit.service import Actor
from kohort.config import Settings
from kohort.dashboard import rendering, security
from kohort.dashboard.errors import CSRFRefused, PageError, PageNotFound, SignInRequired
from kohort.dashboard.guard import Page, pending_session, settings_of, signed_in

__all__ = ["actor", "db_of", "html", "redirect", "router", "settings_of"]
from kohort.dashboard_user import repository, service, sessions, tokens
from kohort.db import Database
from kohort.errors import AppError

router = APIRouter(include_in_schema=False)
STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
STATIC_DIR = Path(__file__).parent / "static"


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def html(template: str, locale: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return HTMLResponse(rendering.render(template, locale, context), status_code=status)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _safe_next(value: object) -> str:
    """A path of the dashboard to go back to; anything else (another site) is ignored."""
    if isinstance(value, str) and value.startswith("/dashboard") and "//" not in value:
        return value
    return "/dashboard"


def actor(request: Request, page: Page) -> Actor:
    return Actor(
        type="user",
        id=page.user.id,
        label=page.user.email,
        request_id=getattr(request.state, "request_id", None),
        ip_address=_ip(request),
    )


def anonymous_page(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """A page for the signed-out, with this browser's anonymous CSRF token."""
    settings = settings_of(request)
    token, new = security.anonymous_csrf(request, settings)
    locale = rendering.choose(request)
    response = html(
        template, locale, {"page": None, "csrf": token, "path": request.url.path, **context}, status
    )
    if new:
        security.set_cookie(response, settings, security.csrf_cookie(settings), token, max_age=None)
    return response


async def anonymous_form(request: Request) -> Any:
    """The posted form, once its anonymous CSRF token is checked."""
    form = await request.form()
    settings = settings_of(request)
    if not security.same_token(
        request.cookies.get(security.csrf_cookie(settings)), form.get("csrf")
    ):
        raise CSRFRefused(rendering.choose(request))
    return form


def error_page(request: Request, status: int) -> HTMLResponse:
    """Any other answer under /dashboard (unknown path, another method): a page."""
    reason = "not_found" if status == 404 else "method"
    locale = rendering.choose(request)
    return html("error.html", locale, {"page": None, "reason": reason, "path": ""}, status)


async def page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    if isinstance(exc, SignInRequired):
        target = "/dashboard/sign-in"
        if exc.next_path and exc.next_path != "/dashboard":
            target += f"?next={quote(exc.next_path)}"
        return redirect(target)
    locale = exc.locale or rendering.choose(request)
    return html("error.html", locale, {"page": None, "reason": exc.reason, "path": ""}, exc.status)


async def check_request(request: Request) -> None:
    """Every request under /dashboard: a NUL in its path or query is the 404 page (no id or
    filter holds one, and PostgreSQL refuses it in a query); an unsafe one must come from the
    dashboard's origin."""
    if "\x00" in request.scope["path"] or "%00" in request.url.query:
        raise PageNotFound(rendering.choose(request))
    if not security.origin_allowed(request, settings_of(request)):
        raise CSRFRefused(rendering.choose(request))


@router.get("/dashboard/static/{name}")
async def static_file(name: str) -> Response:
    if name not in STATIC:
        raise PageNotFound()
    return FileResponse(STATIC_DIR / name, media_type=STATIC[name])


@router.get("/dashboard")
async def home(request: Request) -> Response:
    """The Overview of the organization the user looks at."""
    async with db_of(request).write() as session:
        page = await signed_in(session, request)
    if page.current is None:
        return redirect("/dashboard/account")
    return redirect(f"/dashboard/o/{page.current.organization_id}/overview")


# Signing in and out


def _open(response: Response, settings: Settings, opened: sessions.Opened) -> Response:
    max_age = settings.dashboard_session_absolute_hours * 3600
    security.set_cookie(
        response, settings, security.session_cookie(settings), opened.token, max_age=max_age
    )
    return response


@router.get("/dashboard/sign-in")
async def sign_in_page(request: Request) -> Response:
    async with db_of(request).write() as session:
        row = await pending_session(session, request)
    if row is not None and not row.second_factor_pending:
        return redirect("/dashboard")
    notice = request.query_params.get("notice")
    return anonymous_page(
        request,
        "sign_in.html",
        {"error": None, "email": "", "notice": notice, "next": request.query_params.get("next")},
    )


@router.post("/dashboard/sign-in")
async def sign_in(request: Request) -> Response:
    form = await anonymous_form(request)
    settings = settings_of(request)
    email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
    async with db_of(request).write() as session:
        outcome = await sessions.sign_in(
            session,
            settings,
            email=email[:320],
            password=password[: service.MAX_PASSWORD],
            ip_address=_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    if outcome.opened is None:
        error = "blocked" if outcome.blocked_until else "wrong"
        status = 429 if outcome.blocked_until else 401
        context = {"error": error, "email": email, "notice": None, "next": form.get("next")}
        return anonymous_page(request, "sign_in.html", context, status)
    target = _safe_next(form.get("next"))
    if outcome.opened.row.second_factor_pending:
        target = "/dashboard/sign-in/code?next=" + quote(target)
    return _open(redirect(target), settings, outcome.opened)


@router.get("/dashboard/sign-in/code")
async def code_page(request: Request) -> Response:
    async with db_of(request).write() as session:
        row = await pending_session(session, request)
    if row is None or not row.second_factor_pending:
        return redirect("/dashboard")
    context = {"page": None, "csrf": row.csrf_token, "error": None, "path": ""}
    context["next"] = request.query_params.get("next")
    return html("code.html", rendering.choose(request), context)


@router.post("/dashboard/sign-in/code")
async def code(request: Request) -> Response:
    form = await request.form()
    settings = settings_of(request)
    async with db_of(request).write() as session:
        row = await pending_session(session, request)
        if row is None or not row.second_factor_pending:
            raise SignInRequired()
        if not security.same_token(row.csrf_token, form.get("csrf")):
            raise CSRFRefused(rendering.choose(request))
        user = await repository.get_user(session, row.user_id)
        assert user is not None
        outcome = await sessions.second_factor(
            session, settings, row, user, code=str(form.get("code", "")), ip_address=_ip(request)
        )
    if outcome.opened is None:
        error = "blocked" if outcome.blocked_until else "wrong_code"
        context = {"page": None, "csrf": row.csrf_token, "error": error, "path": ""}
        context["next"] = str(form.get("next") or "")
        return html("code.html", rendering.choose(request), context, 401)
    return _open(redirect(_safe_next(form.get("next"))), settings, outcome.opened)


@router.post("/dashboard/sign-out")
async def sign_out(request: Request) -> Response:
    form = await request.form()
    settings = settings_of(request)
    async with db_of(request).write() as session:
        row = await pending_session(session, request)
        if row is not None:
            if not security.same_token(row.csrf_token, form.get("csrf")):
                raise CSRFRefused(rendering.choose(request))
            await sessions.sign_out(session, row)
    response = redirect("/dashboard/sign-in?notice=signed_out")
    security.clear_cookie(response, settings, security.session_cookie(settings))
    return response


@router.post("/dashboard/language")
async def language(request: Request) -> Response:
    """The language: the user's choice when signed in, else a cookie for this browser."""
    form = await request.form()
    settings = settings_of(request)
    chosen = str(form.get("locale", ""))
    async with db_of(request).write() as session:
        row = await pending_session(session, request)
        if row is not None and not row.second_factor_pending:
            page = await signed_in(session, request, form=form)
            await service.set_locale(session, page.user, chosen)
        elif not security.same_token(
            request.cookies.get(security.csrf_cookie(settings)), form.get("csrf")
        ):
            raise CSRFRefused(rendering.choose(request))
    response = redirect(_safe_next(form.get("next")))
    if chosen in rendering.LOCALES:
        security.set_cookie(
            response, settings, rendering.LOCALE_COOKIE, chosen, max_age=365 * 86400
        )
    return response


# Password resets


@router.get("/dashboard/reset")
async def reset_request_page(request: Request) -> Response:
    sent = request.query_params.get("sent") == "1"
    return anonymous_page(request, "reset_request.html", {"sent": sent, "error": None})


@router.post("/dashboard/reset")
async def reset_request(request: Request) -> Response:
    """The same answer whether or not the address has an account."""
    form = await anonymous_form(request)
    email = str(form.get("email", "")).strip()[:320]
    async with db_of(request).write() as session:
        await tokens.request_password_reset(
            session, settings_of(request), email=email, locale=rendering.choose(request)
        )
    return redirect("/dashboard/reset?sent=1")


@router.get("/dashboard/reset/{token}")
async def reset_page(token: str, request: Request) -> Response:
    async with db_of(request).read() as session:
        usable = await tokens.reset_link_is_usable(session, token)
    if not usable:
        return anonymous_page(request, "link_invalid.html", {}, 410)
    return anonymous_page(request, "reset.html", {"error": None})


@router.post("/dashboard/reset/{token}")
async def reset(token: str, request: Request) -> Response:
    form = await anonymous_form(request)
    password = str(form.get("password", ""))
    if password != str(form.get("confirm", "")):
        return anonymous_page(request, "reset.html", {"error": "mismatch"}, 400)
    try:
        async with db_of(request).write() as session:
            await tokens.reset_password(session, token, password=password)
    except AppError as error:
        if error.code == "LINK_INVALID":
            return anonymous_page(request, "link_invalid.html", {}, 410)
        return anonymous_page(request, "reset.html", {"error": "weak"}, 400)
    return redirect("/dashboard/sign-in?notice=password_reset")


# Invitations


@router.get("/dashboard/invitations/{token}")
async def invitation_page(token: str, request: Request) -> Response:
    async with db_of(request).read() as session:
        found = await tokens.find_invitation(session, token)
        user = await repository.get_user_by_email(session, found.token.email) if found else None
    if found is None:
        return anonymous_page(request, "link_invalid.html", {}, 410)
    context = {
        "organization": found.organization.name,
        "email": found.token.email,
        "role": found.token.role,
        "needs_password": user is None or user.password_hash is None,
        "error": None,
    }
    return anonymous_page(request, "invitation.html", context)


@router.post("/dashboard/invitations/{token}")
async def accept_invitation(token: str, request: Request) -> Response:
    form = await anonymous_form(request)
    settings = settings_of(request)
    password = form.get("password")
    if password is not None and password != form.get("confirm"):
        return await _invitation_again(token, request, "mismatch")
    try:
        async with db_of(request).write() as session:
            accepted = await tokens.accept_invitation(
                session,
                token,
                password=str(password) if password is not None else None,
                locale=rendering.choose(request),
            )
            opened = None
            if accepted.new_user:
                opened = await sessions.open_session(
                    session,
                    settings,
                    accepted.user,
                    pending=False,
                    ip_address=_ip(request),
                    user_agent=request.headers.get("user-agent"),
                )
                await sessions.look_at(
                    session, opened.row, organization_id=accepted.organization_id
                )
    except AppError as error:
        if error.code == "LINK_INVALID":
            return anonymous_page(request, "link_invalid.html", {}, 410)
        return await _invitation_again(token, request, "weak")
    if opened is None:
        return redirect("/dashboard/sign-in?notice=joined")
    return _open(redirect(f"/dashboard/o/{accepted.organization_id}/team"), settings, opened)


async def _invitation_again(token: str, request: Request, error: str) -> Response:
    response = await invitation_page(token, request)
    if response.status_code != 200:
        return response
    async with db_of(request).read() as session:
        found = await tokens.find_invitation(session, token)
    assert found is not None
    context = {
        "organization": found.organization.name,
        "email": found.token.email,
        "role": found.token.role,
        "needs_password": True,
        "error": error,
    }
    return anonymous_page(request, "invitation.html", context, 400)


# Switching organization and mode


@router.post("/dashboard/switch")
async def switch_organization(request: Request) -> Response:
    form = await request.form()
    wanted = str(form.get("organization", ""))
    async with db_of(request).write() as session:
        await signed_in(session, request, organization_id=wanted, form=form)
    return redirect(f"/dashboard/o/{wanted}/team")


@router.post("/dashboard/o/{organization_id}/mode")
async def switch_mode(organization_id: str, request: Request) -> Response:
    """The test/live switch: what the user looks at, not a change to the organization."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id, form=form)
        await sessions.look_at(session, page.row, livemode=form.get("mode") == "live")
    return redirect(_safe_next(form.get("next")))
