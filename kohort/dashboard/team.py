"""The Team page: members and pending invitations for everyone; inviting, changing a role,
removing a member and revoking an invitation for owners (the services refuse the others)."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort.dashboard import rendering
from kohort.dashboard.endpoints import actor, db_of, html, redirect, settings_of
from kohort.dashboard.errors import Forbidden
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard_user import service, tokens
from kohort.dashboard_user import team as team_service
from kohort.dashboard_user.errors import PermissionDeniedError
from kohort.dashboard_user.repository import ROLES
from kohort.errors import AppError

router = APIRouter(include_in_schema=False)
ERRORS = {"LAST_OWNER", "ALREADY_MEMBER", "INVALID_EMAIL", "INVALID_ROLE", "NOT_FOUND"}


@router.get("/dashboard/o/{organization_id}/team")
async def team_page(organization_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        found = await team_service.team(session, organization_id)
    error = request.query_params.get("error")
    context = {
        **page.layout(request.url.path),
        "team": found,
        "roles": ROLES,
        "can_change": page.can(service.TEAM),
        "error": error if error in ERRORS else None,
        "done": request.query_params.get("done"),
    }
    return html("team.html", page.locale, context)


Change = Callable[[AsyncSession, Page, Any], Awaitable[None]]


async def _change(request: Request, organization_id: str, done: str, change: Change) -> Response:
    """Post-redirect-get around one team change: a refusal by role is the 403 page; another
    refusal (last owner, …) comes back on the team page; nothing is written either way."""
    form = await request.form()
    back = f"/dashboard/o/{organization_id}/team"
    try:
        async with db_of(request).write() as session:
            page = await signed_in(session, request, organization_id=organization_id, form=form)
            await change(session, page, form)
    except PermissionDeniedError:
        raise Forbidden(rendering.choose(request)) from None
    except AppError as error:
        return redirect(f"{back}?error={error.code}")
    return redirect(f"{back}?done={done}")


@router.post("/dashboard/o/{organization_id}/team/invitations")
async def invite(organization_id: str, request: Request) -> Response:
    async def change(session: AsyncSession, page: Page, form: Any) -> None:
        await tokens.invite(
            session,
            settings_of(request),
            organization_id=organization_id,
            email=str(form.get("email", ""))[:320],
            role=str(form.get("role", "")),
            actor=actor(request, page),
            inviter_role=page.role or "",
            locale=page.locale,
        )

    return await _change(request, organization_id, "invited", change)


@router.post("/dashboard/o/{organization_id}/team/invitations/{token_id}/revoke")
async def revoke(organization_id: str, token_id: str, request: Request) -> Response:
    async def change(session: AsyncSession, page: Page, form: Any) -> None:
        await tokens.revoke_invitation(
            session,
            organization_id=organization_id,
            token_id=token_id,
            actor=actor(request, page),
            actor_role=page.role or "",
        )

    return await _change(request, organization_id, "revoked", change)


@router.post("/dashboard/o/{organization_id}/team/members/{membership_id}/role")
async def change_role(organization_id: str, membership_id: str, request: Request) -> Response:
    async def change(session: AsyncSession, page: Page, form: Any) -> None:
        await team_service.change_role(
            session,
            organization_id=organization_id,
            membership_id=membership_id,
            role=str(form.get("role", "")),
            actor=actor(request, page),
            actor_role=page.role or "",
        )

    return await _change(request, organization_id, "role_changed", change)


@router.post("/dashboard/o/{organization_id}/team/members/{membership_id}/remove")
async def remove(organization_id: str, membership_id: str, request: Request) -> Response:
    async def change(session: AsyncSession, page: Page, form: Any) -> None:
        await team_service.remove_member(
            session,
            organization_id=organization_id,
            membership_id=membership_id,
            actor=actor(request, page),
            actor_role=page.role or "",
        )

    return await _change(request, organization_id, "removed", change)
