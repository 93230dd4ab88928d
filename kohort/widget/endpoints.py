"""The widget's secret (`/organizations/{id}/widget-secret`, secret keys, in the OpenAPI
document) and the widget's own public routes outside it: `/widget.js` and `GET /widget/order`,
which any page may call (CORS `*`, no cookie), cacheable for a few seconds, capped per
address."""

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from kohort import clock
from kohort.api_key import service as api_keys
from kohort.audit.endpoints import ApiActor
from kohort.config import Settings
from kohort.db import Database
from kohort.errors import AppError, ValidationError, render_error
from kohort.http.auth import SecretKey
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.organization import service as organizations
from kohort.share.counting import Window
from kohort.widget import service
from kohort.widget.errors import TooManyRequestsError
from kohort.widget.schemas import WidgetSecretRead

router = APIRouter(prefix="/organizations", tags=["Widget"], route_class=KohortRoute)
public = APIRouter(include_in_schema=False)

SCRIPT = (Path(__file__).parent / "static" / "widget.js").read_bytes()
_PUBLIC_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
CACHE_SECONDS = 10


@router.get("/{id}/widget-secret", response_model=WidgetSecretRead, responses=errors(404))
async def get_widget_secret(id: str, session: Session, auth: SecretKey) -> WidgetSecretRead:
    """The key's mode's widget secret: the shop's server signs each order reference with it
    (hex HMAC-SHA256) for the thank-you widget's `data-token`."""
    await organizations.get_own_organization(
        session, organization_id=id, caller_organization_id=auth.organization_id
    )
    stored = await service.get_secret(session, organization_id=id, livemode=auth.livemode)
    return service.read_secret(stored, clock.now())


@router.post(
    "/{id}/widget-secret/roll",
    response_model=WidgetSecretRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def roll_widget_secret(
    id: str, session: Session, auth: SecretKey, actor: ApiActor
) -> WidgetSecretRead:
    """A new secret for the key's mode; tokens signed with the current one keep working for
    24 hours (pages already served, caches)."""
    await organizations.get_own_organization(
        session, organization_id=id, caller_organization_id=auth.organization_id
    )
    stored = await service.get_secret(session, organization_id=id, livemode=auth.livemode)
    await service.roll_secret(session, stored, actor=actor)
    return service.read_secret(stored, clock.now())


def _answer(request: Request, error: AppError) -> Response:
    response = render_error(error, request.state.request_id)
    response.headers.update(_PUBLIC_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


@public.get("/widget/order")
async def widget_order(request: Request) -> Response:
    """`?key=pk_…&order={the shop's order reference}&token={hex HMAC-SHA256}`: the order's
    group as the widget shows it; 404 for an unknown order, a canceled one or a bad token
    alike (the widget polls until the shop's server has registered the order)."""
    window: Window = request.app.state.widget_window
    if not window.allow(request.client.host if request.client else ""):
        return _answer(request, TooManyRequestsError("Too many requests: try again in a minute."))
    query = request.query_params
    key, reference, token = query.get("key", ""), query.get("order", ""), query.get("token", "")
    if not key.startswith("pk_"):
        message = "key must be the organization's publishable key (pk_test_… or pk_live_…)."
        return _answer(request, ValidationError(message, param="key"))
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    try:
        async with db.read() as session:
            record, _ = await api_keys.authenticate(session, key)
            found = await service.widget_order(
                session,
                organization_id=record.organization_id,
                livemode=record.livemode,
                reference=reference,
                token=token,
                base_url=settings.base_url,
                now=clock.now(),
            )
    except AppError as error:
        return _answer(request, error)
    headers = {**_PUBLIC_HEADERS, "Cache-Control": f"public, max-age={CACHE_SECONDS}"}
    return JSONResponse(found.model_dump(mode="json", by_alias=True), headers=headers)


@public.get("/widget.js")
async def widget_script() -> Response:
    """The widget, the project's own script with no dependency."""
    headers = {**_PUBLIC_HEADERS, "Cache-Control": "public, max-age=300"}
    return Response(SCRIPT, media_type="text/javascript", headers=headers)
