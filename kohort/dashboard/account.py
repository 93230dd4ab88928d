"""The account page: the password, the TOTP second factor (enrol with a QR code and a
confirming code; disable with a code), the language."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from kohort.dashboard.endpoints import db_of, html, redirect, settings_of
from kohort.dashboard.guard import signed_in
from kohort.dashboard_user import service
from kohort.errors import AppError

router = APIRouter(include_in_schema=False)
ERRORS = {"WRONG_PASSWORD", "WEAK_PASSWORD", "WRONG_CODE", "MISMATCH"}


@router.get("/dashboard/account")
async def account_page(request: Request) -> Response:
    settings = settings_of(request)
    async with db_of(request).write() as session:
        page = await signed_in(session, request)
    user = page.user
    enrolment = None
    if user.totp_secret_encrypted is not None and user.totp_enabled_at is None:
        secret = service.totp_secret(settings, user)
        enrolment = service.enrolment(secret, user.email) if secret else None
    error = request.query_params.get("error")
    context = {
        **page.layout(request.url.path),
        "enrolment": enrolment,
        "totp_enabled": user.totp_enabled_at is not None,
        "error": error if error in ERRORS else None,
        "done": request.query_params.get("done"),
    }
    return html("account.html", page.locale, context)


@router.post("/dashboard/account/password")
async def change_password(request: Request) -> Response:
    form = await request.form()
    new = str(form.get("password", ""))
    if new != str(form.get("confirm", "")):
        return redirect("/dashboard/account?error=MISMATCH")
    try:
        async with db_of(request).write() as session:
            page = await signed_in(session, request, form=form)
            await service.change_password(
                session,
                page.user,
                current=str(form.get("current", "")),
                new=new,
                keep_session=page.row.id,
            )
    except AppError as error:
        return redirect(f"/dashboard/account?error={error.code}")
    return redirect("/dashboard/account?done=password")


@router.post("/dashboard/account/totp")
async def totp(request: Request) -> Response:
    """`action`: `start` (a new secret and its QR code), `confirm` or `disable` (a code)."""
    form = await request.form()
    settings = settings_of(request)
    action = form.get("action")
    try:
        async with db_of(request).write() as session:
            page = await signed_in(session, request, form=form)
            code = str(form.get("code", ""))
            if action == "start":
                await service.start_totp(session, settings, page.user)
            elif action == "confirm":
                await service.confirm_totp(session, settings, page.user, code)
            elif action == "disable":
                await service.disable_totp(session, settings, page.user, code)
    except AppError as error:
        return redirect(f"/dashboard/account?error={error.code}#totp")
    done = {"confirm": "&done=totp_on", "disable": "&done=totp_off"}.get(str(action), "")
    return redirect(f"/dashboard/account?{done.lstrip('&')}#totp")
