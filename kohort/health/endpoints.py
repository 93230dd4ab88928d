from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from kohort import migrations
from kohort.db import Database
from kohort.http.openapi import internal_error

router = APIRouter(prefix="/health", tags=["Operations"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable"]
    migrations: Literal["head", "behind", "unknown"]


@router.get("", response_model=Health, responses=internal_error())
async def health() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Readiness,
    responses={
        503: {"model": Readiness, "description": "Database unreachable or not at head."},
        **internal_error(),
    },
)
async def ready(request: Request) -> Readiness | JSONResponse:
    """Ready to serve: the database answers and its schema is at the code's migration head."""
    db: Database = request.app.state.db
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        revision = await migrations.current_revision(db.engine)
    except Exception:
        body = Readiness(status="not_ready", database="unreachable", migrations="unknown")
        return JSONResponse(body.model_dump(), status_code=503)
    at_head = revision == migrations.head_revision()
    body = Readiness(
        status="ready" if at_head else "not_ready",
        database="ok",
        migrations="head" if at_head else "behind",
    )
    return body if at_head else JSONResponse(body.model_dump(), status_code=503)


metrics_router = APIRouter(tags=["Operations"])


@metrics_router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
        500: {
            "description": "Internal error; the answer carries the requestId to report.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
            },
        },
    },
)
async def metrics() -> PlainTextResponse:
    """This process's metrics in Prometheus text format (groups opened, completed, expired,
    reminders due, worker lag, batch durations, failures). Keep it off the public network."""
    return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)
