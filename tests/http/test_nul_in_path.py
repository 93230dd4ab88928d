"""A NUL in a URL path (`%00`) never reaches the database (PostgreSQL refuses it in a text
value, which was a 500): every route of the app with a path parameter, API, dashboard and
shoppers' pages, answers it with a client error."""

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Route

from tests.factories import Org

PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")


def _routes(routes: list[Any]) -> Iterator[Route]:
    """Every route, also those of included routers (kept as they were declared; the routers
    here are included without a prefix, their routes' paths are whole)."""
    for route in routes:
        if isinstance(route, Route):
            yield route
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from _routes(original.routes)


def routes_with_parameters(app: FastAPI) -> list[tuple[str, str]]:
    found = set()
    for route in _routes(app.routes):
        if "{" in route.path:
            found.update((method, route.path) for method in (route.methods or set()) - {"HEAD"})
    return sorted(found)


async def test_there_are_routes_to_check(app: FastAPI) -> None:
    paths = {path for _, path in routes_with_parameters(app)}
    assert {
        "/groups/{id}",
        "/r/{code:path}",
        "/dashboard/o/{organization_id}/groups/{group_id}",
    } <= paths


@pytest.mark.parametrize("with_key", [True, False])
async def test_a_nul_in_any_path_parameter_is_a_client_error(
    app: FastAPI, client: httpx.AsyncClient, org: Org, with_key: bool
) -> None:
    headers = {"Authorization": f"Bearer {org.sk_test}"} if with_key else {}
    answers = {}
    for method, path in routes_with_parameters(app):
        url = PARAM.sub("x%00y", path)
        answer = await client.request(
            method, url, headers={**headers, "Content-Type": "application/json"}, content="{}"
        )
        answers[f"{method} {path}"] = answer.status_code
    server_errors = {route: status for route, status in answers.items() if status >= 500}
    assert server_errors == {}
    assert all(400 <= status < 500 for status in answers.values()), answers
