"""create_app(): routers, error handlers, lifespan."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

from kohort.analytics.endpoints import router as analytics_router
from kohort.api_key.endpoints import router as api_key_router
from kohort.audit.endpoints import router as audit_router
from kohort.brand.endpoints import assets as brand_assets_router
from kohort.brand.endpoints import router as brand_router
from kohort.brand.endpoints import uploads as brand_uploads_router
from kohort.checkout_session.endpoints import router as checkout_session_router
from kohort.config import Settings, get_settings
from kohort.customer.endpoints import router as customer_router
from kohort.dashboard import account as dashboard_account
from kohort.dashboard import audit_log as dashboard_audit_log
from kohort.dashboard import brand as dashboard_brand
from kohort.dashboard import developers as dashboard_developers
from kohort.dashboard import emails as dashboard_emails
from kohort.dashboard import endpoints as dashboard
from kohort.dashboard import groups as dashboard_groups
from kohort.dashboard import orders as dashboard_orders
from kohort.dashboard import overview as dashboard_overview
from kohort.dashboard import payouts as dashboard_payouts
from kohort.dashboard import program as dashboard_program
from kohort.dashboard import team as dashboard_team
from kohort.dashboard.errors import PageError
from kohort.dashboard.security import SecurityHeadersMiddleware
from kohort.db import Database, create_database
from kohort.errors import (
    AppError,
    InvalidJSONError,
    MethodNotAllowedError,
    RouteNotFoundError,
    render_error,
)
from kohort.event.endpoints import router as event_router
from kohort.group.endpoints import alias_router as group_alias_router
from kohort.group.endpoints import codes_router
from kohort.group.endpoints import router as group_router
from kohort.group_settings.endpoints import router as group_settings_router
from kohort.health.endpoints import metrics_router
from kohort.health.endpoints import router as health_router
from kohort.http.auth import KeyCache
from kohort.http.middleware import BodyLimitMiddleware, RequestContextMiddleware
from kohort.http.openapi import allowed_methods, install_openapi
from kohort.http.validation import from_validation_error
from kohort.order.endpoints import router as order_router
from kohort.organization.endpoints import router as organization_router
from kohort.payment_intent.endpoints import router as payment_intent_router
from kohort.payout.endpoints import router as payout_router
from kohort.payout_batch.endpoints import router as payout_batch_router
from kohort.risk.endpoints import router as risk_router
from kohort.share.counting import Window
from kohort.share.endpoints import error_page as share_error_page
from kohort.share.endpoints import router as share_router
from kohort.test_helpers.endpoints import router as test_helpers_router
from kohort.webhook.endpoints import deliveries_router as webhook_deliveries_router
from kohort.webhook.endpoints import events_router as webhook_events_router
from kohort.webhook.endpoints import router as webhook_router
from kohort.widget.endpoints import public as widget_public_router
from kohort.widget.endpoints import router as widget_router
from kohort.withdrawal.endpoints import error_page as withdrawal_error_page
from kohort.withdrawal.endpoints import router as withdrawal_router
from kohort.worker import Worker

DESCRIPTION = """Kohort's REST API, compatible with KohortPay's.

Authenticate with `Authorization: Bearer <key>` (or HTTP Basic with the key as user name).
The key fixes the organization and the mode (live or test). Errors share one envelope:
`{"error": {"type", "code", "message", "param", "requestId"}}`.

This document describes API version `2026-12-01`. KohortPay's clients use version `kohortpay`
(snake_case answers, lenient inputs): name it in a `Kohort-Version` request header, pin it on
a key, or make it the organization's default; every answer names its version in the
`Kohort-Version` header."""


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "req_unknown"))


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return render_error(exc, _request_id(request))


_PAGES = {
    "/w/": (withdrawal_error_page, "GET, POST"),
    "/r/": (share_error_page, "GET"),
    "/dashboard/": (dashboard.error_page, "GET, POST"),
}
"""The shoppers' pages: every answer under these prefixes is a page, errors included."""


def shopper_page(scope: Scope, status: int) -> Response | None:
    """The page that answers `status` under a shoppers' prefix (None elsewhere): for the
    404/405 handler and for the body limits alike."""
    for prefix, (page, allowed) in _PAGES.items():
        if scope["path"].startswith(prefix):
            response: Response = page(Request(scope), status)
            if status == 405:
                response.headers["Allow"] = allowed
            return response
    return None


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    page = shopper_page(request.scope, 405 if exc.status_code == 405 else 404)
    if page is not None:
        return page
    if exc.status_code == 405:
        error: AppError = MethodNotAllowedError(
            f"{request.method} is not allowed on {request.url.path}."
        )
    elif exc.status_code == 400:
        error = InvalidJSONError("The request body is not valid JSON (UTF-8).")
    else:
        error = RouteNotFoundError(
            f"Unrecognized request URL ({request.method}: {request.url.path})."
        )
    response = render_error(error, _request_id(request))
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return render_error(from_validation_error(exc), _request_id(request))


SHARE_EVENTS_PER_MINUTE = 60
"""Share page views and share actions counted per address and minute (kohort/share/counting)."""
WIDGET_READS_PER_MINUTE = 120
"""`GET /widget/order` per address and minute (a widget polls about ten times)."""
YOUNG_COLLECTION_THRESHOLD = 10_000
"""Objects allocated (net) between two young collections; Python's default is 700."""


def settle_heap() -> None:
    """What is alive once the app serves (modules, routes, models, templates: about 230 000
    objects) lives as long as the process: collected once, then frozen out of the garbage
    collector's reach, so that a full collection visits only what requests leave behind (each
    visited them all: 170 ms on this code). Young collections run every 10 000 allocations
    rather than 700: fewer of a request's short-lived objects are promoted, so full
    collections come rarely (bench/dashboard.py: none in 60 Overview requests, against
    60-120 ms in one request of ten)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


API_ROUTERS = (
    health_router,
    metrics_router,
    organization_router,
    brand_router,
    brand_uploads_router,
    widget_router,
    group_settings_router,
    risk_router,
    api_key_router,
    audit_router,
    customer_router,
    order_router,
    checkout_session_router,
    payment_intent_router,
    group_router,
    group_alias_router,
    codes_router,
    event_router,
    payout_router,
    analytics_router,
    payout_batch_router,
    webhook_events_router,
    webhook_router,
    webhook_deliveries_router,
    test_helpers_router,
    withdrawal_router,
    share_router,
    brand_assets_router,
    widget_public_router,
)
"""The API's routers in the order the OpenAPI document lists them."""
HOT_ROUTERS = (group_router, group_alias_router, codes_router, order_router)
"""The sale-day routes (a group's read, a code's validation, an order), matched first: FastAPI
tries the routes one by one, and these came after 40 others (a fifth of a GET's time). Each
owns its paths' first segment (tests/test_routing.py), so trying them first changes which
route is tried first, never which one answers."""


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = database or create_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = Worker.from_settings(db, settings) if settings.worker == "on" else None
        task = asyncio.create_task(worker.run()) if worker is not None else None
        settle_heap()
        try:
            yield
        finally:
            if worker is not None and task is not None:
                worker.stop.set()
                await task
            if database is None:
                await db.dispose()

    app = FastAPIOffline(
        title="Kohort API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        static_url="/docs/static",
    )
    app.state.db = db
    app.state.key_cache = KeyCache(ttl=settings.key_cache_seconds)
    app.state.share_window = Window(limit=SHARE_EVENTS_PER_MINUTE, seconds=60)
    app.state.widget_window = Window(limit=WIDGET_READS_PER_MINUTE, seconds=60)
    app.state.settings = settings
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_page_bytes=settings.max_page_body_bytes,
        page=shopper_page,
        timeout=settings.body_timeout_seconds,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PageError, dashboard.page_error)
    for router in (*HOT_ROUTERS, *(r for r in API_ROUTERS if r not in HOT_ROUTERS)):
        app.include_router(router)
    for pages in (
        dashboard.router,
        dashboard_overview.router,
        dashboard_groups.router,
        dashboard_orders.router,
        dashboard_program.router,
        dashboard_brand.router,
        dashboard_developers.router,
        dashboard_payouts.router,
        dashboard_emails.router,
        dashboard_team.router,
        dashboard_audit_log.router,
        dashboard_account.router,
    ):
        app.include_router(pages, dependencies=[Depends(dashboard.check_request)])
    install_openapi(app, order=API_ROUTERS)
    return app
