"""What every signed-in page gets, checked before it runs: the user (a live session, its
second factor done), the CSRF token of a form post, the organization in the URL (one the
user is a member of: any other id is the same 404 as an unknown one), the role's permission
(403 otherwise), and the mode the user looks at, with its number of orders waiting for a review
(the navigation shows it)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from kohort.config import Settings
from kohort.dashboard import rendering, security
from kohort.dashboard.errors import CSRFRefused, Forbidden, PageNotFound, SignInRequired
from kohort.dashboard_user import repository as users
from kohort.dashboard_user import service, sessions
from kohort.models import DashboardSession, DashboardUser
from kohort.order import repository


@dataclass(frozen=True)
class Membership:
    organization_id: str
    name: str
    role: str
    membership_id: str


@dataclass
class Page:
    user: DashboardUser
    row: DashboardSession
    locale: str
    memberships: list[Membership]
    current: Membership | None
    csrf: str
    pending_reviews: int = 0

    @property
    def livemode(self) -> bool:
        return self.row.livemode

    @property
    def role(self) -> str | None:
        return self.current.role if self.current else None

    def can(self, permission: str) -> bool:
        return self.role is not None and service.can(self.role, permission)

    def layout(self, path: str) -> dict[str, Any]:
        """What the layout shows: the switchers, the navigation, the form token."""
        return {"page": self, "path": path, "csrf": self.csrf}


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def pending_session(session: AsyncSession, request: Request) -> DashboardSession | None:
    settings = settings_of(request)
    return await sessions.find(
        session, settings, request.cookies.get(security.session_cookie(settings))
    )


async def signed_in(
    session: AsyncSession,
    request: Request,
    *,
    organization_id: str | None = None,
    permission: str = service.READ,
    form: Any = None,
) -> Page:
    row = await pending_session(session, request)
    if row is None:
        raise SignInRequired(request.url.path if request.method == "GET" else None)
    if row.second_factor_pending:
        raise SignInRequired()
    user = await users.get_user(session, row.user_id)
    if user is None or user.disabled_at is not None:
        raise SignInRequired()
    locale = rendering.choose(request, user.locale)
    if request.method not in security.SAFE_METHODS and not security.same_token(
        row.csrf_token, form.get("csrf") if form is not None else None
    ):
        raise CSRFRefused(locale)
    memberships = [
        Membership(org_id, name, m.role, m.id)
        for m, org_id, name in await service.memberships(session, user.id)
    ]
    current = _current(memberships, organization_id or row.organization_id)
    if current is None and organization_id is None and memberships:
        current = memberships[0]
    if organization_id is not None:
        if current is None or current.organization_id != organization_id:
            raise PageNotFound(locale)
        await sessions.look_at(session, row, organization_id=organization_id)
    page = Page(user, row, locale, memberships, current, row.csrf_token)
    if organization_id is not None and not page.can(permission):
        raise Forbidden(locale)
    if current is not None:
        page.pending_reviews = await repository.count_pending_reviews(
            session, current.organization_id, row.livemode
        )
    return page


def _current(memberships: list[Membership], wanted: str | None) -> Membership | None:
    for membership in memberships:
        if membership.organization_id == wanted:
            return membership
    return None
