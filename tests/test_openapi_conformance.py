"""The OpenAPI document is truthful (API.md §3).

Schemathesis calls every operation of the real app with generated valid and invalid requests
and a real secret key; every answer must be declared (status, content type, headers, body
schema), never a 5xx, invalid input must be refused and the key must be required. Runs are
repeatable (derandomized); `KOHORT_CONFORMANCE_EXAMPLES=500` digs deeper.

Schemathesis runs the app in an event loop thread of its own, so this module builds its own
app on a NullPool database over the suite's test database: no connection crosses loops.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.schemas import OpenApiSchema

from kohort.config import Settings
from kohort.db import Database, create_database
from kohort.main import create_app
from tests.factories import Org, bearer, make_customer, make_organization

MAX_EXAMPLES = int(os.environ.get("KOHORT_CONFORMANCE_EXAMPLES", "25"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.ignored_auth,
]
ENVELOPE = "#/components/schemas/ErrorEnvelope"


@dataclass(frozen=True)
class Target:
    app: FastAPI
    org: Org
    ids: list[str]


async def _prepare(database: Database, app: FastAPI) -> Target:
    """An organization, customers and a spare key, so `{id}` sometimes names a real object."""
    org = await make_organization(database, name="Conformance Shop")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kohort.test") as client:
        customers = [
            await make_customer(client, org.sk_test, emailAddress=f"fuzz-{n}@example.com")
            for n in range(3)
        ]
        spare = await client.post("/api-keys", json={"name": "spare"}, headers=bearer(org.sk_test))
        assert spare.status_code == 201, spare.text
    return Target(app=app, org=org, ids=[org.id, spare.json()["id"], *(c["id"] for c in customers)])


@pytest.fixture(scope="module")
def target(settings: Settings, db: Database) -> Target:
    """Its own app on the migrated test database (`db` is asked for only to migrate it)."""
    database = create_database(settings, pooled=False)
    app = create_app(settings, database=database)
    with start_blocking_portal() as portal:
        return portal.call(partial(_prepare, database, app))


@pytest.fixture(scope="module")
def api_schema(target: Target) -> OpenApiSchema:
    config = schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"HTTPBearer": {"bearer": target.org.sk_test}}},
            "dictionaries": {"ids": {"values": target.ids}},
            "parameters": {"path.id": {"dictionary": "ids", "probability": 0.5}},
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", target.app, config=config)


def _document() -> dict[str, Any]:
    """The document of an app whose database is never opened (collection needs no database)."""
    return create_app(Settings(database_url="sqlite+aiosqlite://")).openapi()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


OPERATIONS = [(method, path) for method, path, _ in _operations(_document())]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_conforms_to_the_openapi_document(
    api_schema: OpenApiSchema, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @hypothesis.given(case=cases)
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            hypothesis.HealthCheck.too_slow,
            hypothesis.HealthCheck.filter_too_much,
            hypothesis.HealthCheck.data_too_large,
        ],
    )
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    call()


async def _refused_to_publishable_keys(
    client: httpx.AsyncClient, org: Org, document: dict[str, Any]
) -> set[tuple[str, str]]:
    """The operations that answer 403 to a publishable key (the key is checked first)."""
    refused = set()
    for method, path, _ in _operations(document):
        url = path.replace("{id}", "x")
        body = b"{}" if method in ("POST", "PATCH") else None
        response = await client.request(method, url, content=body, headers=bearer(org.pk_test))
        if response.status_code == 403:
            refused.add((method, path))
    return refused


async def test_every_operation_declares_the_errors_it_can_answer(
    app: FastAPI, client: httpx.AsyncClient, org: Org
) -> None:
    document = app.openapi()
    secret_routes = await _refused_to_publishable_keys(client, org, document)
    assert ("GET", "/customers") in secret_routes
    for method, path, operation in _operations(document):
        where = f"{method} {path}"
        responses = operation["responses"]
        declared = set(responses)
        parameters = {p["name"] for p in operation.get("parameters", [])}
        assert "422" not in declared, where
        assert "500" in declared, where
        if not path.startswith(("/health", "/metrics")):
            assert {"400", "401"} <= declared, where
            assert operation["security"] == [{"HTTPBearer": []}, {"HTTPBasic": []}], where
        else:
            assert "security" not in operation, where
        if (method, path) in secret_routes:
            assert "403" in declared, where
        if "{" in path:
            assert "404" in declared, where
        if method == "POST" and "Idempotency-Key" in parameters:
            assert "409" in declared, where
        for status, response in responses.items():
            headers = response.get("headers", {})
            assert "Request-Id" in headers, f"{where} {status}"
            assert status != "401" or "WWW-Authenticate" in headers, where
            if status.startswith("2") or (path == "/health/ready" and status == "503"):
                continue
            body = response["content"]["application/json"]["schema"]
            assert body == {"$ref": ENVELOPE}, f"{where} {status}"
    idempotent = {
        (method, path)
        for method, path, operation in _operations(document)
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert {("POST", "/orders"), ("POST", "/codes/{code}/validate")} <= idempotent
    assert ("GET", "/orders") not in idempotent
    header = next(
        p
        for p in document["paths"]["/orders"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    )
    assert header["in"] == "header" and header["required"] is False
    assert header["schema"]["anyOf"][0] == {"type": "string", "maxLength": 255}
    assert document["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "description": "`Authorization: Bearer <key>`",
            "scheme": "bearer",
        },
        "HTTPBasic": {
            "type": "http",
            "description": "The key as user name, empty password.",
            "scheme": "basic",
        },
    }
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas


async def test_docs_serve_html(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


async def test_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")


async def test_a_body_that_is_not_utf8_is_invalid_json(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post("/customers", content=b"\xff", headers=bearer(org.sk_test))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_JSON"


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"], ids=["min", "max"]
)
async def test_a_search_timestamp_past_the_calendar_is_refused(
    client: httpx.AsyncClient, org: Org, moment: str
) -> None:
    response = await client.get(
        "/customers", params={"search": f"createdAt>{moment}"}, headers=bearer(org.sk_test)
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "search"


async def test_api_keys_refuse_an_unknown_expand(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(
        "/api-keys", params={"expand[]": "false"}, headers=bearer(org.sk_test)
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "expand[]"


async def test_an_undeclared_method_answers_405_allowing_the_declared_ones(
    app: FastAPI, client: httpx.AsyncClient, org: Org
) -> None:
    for path, item in app.openapi()["paths"].items():
        response = await client.request(
            "TRACE", path.replace("{id}", "x"), headers=bearer(org.sk_test)
        )
        assert response.status_code == 405, path
        assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
        allowed = sorted(method.strip() for method in response.headers["allow"].split(","))
        assert allowed == sorted(method.upper() for method in item), path
