"""The order routes are matched in (hot routers first) is not the order they are documented in;
both orders must be safe: a hot router owns its paths' first segment, so trying it first never
takes a request another route would have answered, and the document keeps API_ROUTERS' order."""

import inspect

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from kohort.config import Settings
from kohort.http.auth import any_key, secret_key
from kohort.http.routing import KohortRoute, get_session
from kohort.main import API_ROUTERS, HOT_ROUTERS, create_app


def _app() -> FastAPI:
    return create_app(Settings(database_url="sqlite+aiosqlite://"))


def _first_segment(path: str) -> str:
    return path.split("/")[1]


def _paths(router: APIRouter, prefix: str = "") -> list[str]:
    """The router's paths, those of the routers it includes too (FastAPI keeps them apart)."""
    paths: list[str] = []
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            context = getattr(route, "include_context", None)
            paths += _paths(included, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRoute):
            paths.append(prefix + route.path)
    return paths


def test_hot_routers_own_the_first_segment_of_their_paths() -> None:
    hot = sorted(path for router in HOT_ROUTERS for path in _paths(router))
    owned = {_first_segment(path) for path in hot}
    assert owned == {"groups", "payment-groups", "codes", "orders", "refunds"}
    every = _paths(_app().router)  # the API's routers, the dashboard's pages, the docs
    assert len(every) > len(hot) + 100
    assert sorted(path for path in every if _first_segment(path) in owned) == hot
    assert not [path for path in every if _first_segment(path).startswith("{")]


def test_hot_routers_are_matched_first() -> None:
    included = [getattr(route, "original_router", None) for route in _app().routes]
    routers = [router for router in included if router is not None]
    assert routers[: len(HOT_ROUTERS)] == list(HOT_ROUTERS)


def test_the_document_lists_paths_in_the_routers_order_not_the_matching_order() -> None:
    document = list(_app().openapi()["paths"])
    expected: list[str] = []
    for router in API_ROUTERS:
        for path in _paths(router):
            if path not in expected and path in document:
                expected.append(path)
    assert document == expected
    assert document[0] == "/health"
    assert document.index("/customers") < document.index("/orders") < document.index("/groups")


def _kohort_routes(router: APIRouter) -> list[KohortRoute]:
    found: list[KohortRoute] = []
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            found += _kohort_routes(included)
        elif isinstance(route, KohortRoute):
            found.append(route)
    return found


def test_a_handlers_session_and_key_are_not_resolved_per_request() -> None:
    """KohortRoute passes Session, AnyKey and SecretKey from the request's state: FastAPI
    resolves none of them for a handler, the handler keeps its name and text (the document's
    operationId and description), and a handler that took SecretKey has its check."""
    routes = [route for router in API_ROUTERS for route in _kohort_routes(router)]
    assert len(routes) > 80
    passed = [route for route in routes if hasattr(route.endpoint, "__wrapped__")]
    assert len(passed) == len(routes), "every API handler takes its session or its key"
    for route in routes:
        resolved = {dependency.call for dependency in route.dependant.dependencies}
        assert not resolved & {get_session, any_key, secret_key}, route.path
        original = route.endpoint.__wrapped__  # type: ignore[attr-defined]
        assert route.name == original.__name__
        assert route.description == inspect.cleandoc(original.__doc__ or "").split("\f")[0]
    secret = {(route.path, *sorted(route.methods)) for route in routes if route.needs_secret_key}
    assert ("/customers", "GET") in secret
    assert ("/groups/{id}", "GET") not in secret
    assert ("/groups/{code}/validate", "POST") not in secret
