"""Input rules every route shares: single-line text fields refuse control characters, and
integers are JSON integers (API.md §1.1), naming the field and writing nothing."""

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Org, bearer
from tests.shapes import assert_error

CONTROL = {
    "CR": "\r",
    "LF": "\n",
    "CRLF header": "\r\nBcc: x@evil.example",
    "tab": "\t",
    "DEL": "\x7f",
    "C1 NEL": "\x85",
    "C1 CSI": "\x9b",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
}


def _order(**overrides: Any) -> dict[str, Any]:
    return {
        "amount": 5000,
        "customerEmail": "rules@example.com",
        "customerFirstName": "Ada",
        "customerLastName": "Lovelace",
        **overrides,
    }


def _route(org: Org, field: str, value: str) -> tuple[str, str, dict[str, Any], str, str]:
    """(method, path, body, key, where to count rows) for a text field of a resource."""
    routes: dict[str, tuple[str, str, dict[str, Any], str, str]] = {
        "organization.name": (
            "PATCH",
            f"/organizations/{org.id}",
            {"name": f"Evil{value}"},
            org.sk_live,
            "org",
        ),
        "organization.fromEmailName": (
            "PATCH",
            f"/organizations/{org.id}",
            {"fromEmailName": f"Evil{value}x"},
            org.sk_live,
            "org",
        ),
        "organization.payoutDebtorName": (
            "PATCH",
            f"/organizations/{org.id}",
            {"payoutDebtorName": f"A{value}B"},
            org.sk_live,
            "org",
        ),
        "customer.firstName": (
            "POST",
            "/customers",
            {"emailAddress": "c@example.com", "firstName": f"A{value}B"},
            org.sk_test,
            "/customers",
        ),
        "customer.lastName": (
            "POST",
            "/customers",
            {"emailAddress": "c@example.com", "lastName": f"A{value}B"},
            org.sk_test,
            "/customers",
        ),
        "customer.clientReferenceId": (
            "POST",
            "/customers",
            {"emailAddress": "c@example.com", "clientReferenceId": f"r{value}1"},
            org.sk_test,
            "/customers",
        ),
        "order.customerFirstName": (
            "POST",
            "/orders",
            _order(customerFirstName=f"A{value}B"),
            org.sk_test,
            "/orders",
        ),
        "order.customerLastName": (
            "POST",
            "/orders",
            _order(customerLastName=f"A{value}B"),
            org.sk_test,
            "/orders",
        ),
        "order.clientReferenceId": (
            "POST",
            "/orders",
            _order(clientReferenceId=f"o{value}1"),
            org.sk_test,
            "/orders",
        ),
        "webhook.description": (
            "POST",
            "/webhooks",
            {"url": "https://hooks.example.com/in", "events": ["*"], "description": f"d{value}e"},
            org.sk_test,
            "/webhooks",
        ),
        "apiKey.name": ("POST", "/api-keys", {"name": f"k{value}y"}, org.sk_test, "/api-keys"),
    }
    return routes[field]


async def _snapshot(client: httpx.AsyncClient, org: Org, where: str, key: str) -> Any:
    if where == "org":
        return (await client.get("/organizations/me", headers=bearer(org.sk_live))).json()
    response = await client.get(where, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()["count"]


FIELDS = [
    "organization.name",
    "organization.fromEmailName",
    "organization.payoutDebtorName",
    "customer.firstName",
    "customer.lastName",
    "customer.clientReferenceId",
    "order.customerFirstName",
    "order.customerLastName",
    "order.clientReferenceId",
    "webhook.description",
    "apiKey.name",
]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("character", list(CONTROL.values()), ids=list(CONTROL))
async def test_a_control_character_in_a_text_field_is_refused_naming_it(
    client: httpx.AsyncClient, org: Org, field: str, character: str
) -> None:
    method, path, body, key, where = _route(org, field, character)
    before = await _snapshot(client, org, where, key)
    response = await client.request(method, path, json=body, headers=bearer(key))
    name = field.partition(".")[2]
    error = assert_error(response, 400, "VALIDATION_ERROR", param=name)
    assert name in error["message"] and "control characters" in error["message"]
    assert await _snapshot(client, org, where, key) == before


async def test_ordinary_unicode_text_is_accepted(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.patch(
        f"/organizations/{org.id}",
        json={"name": "Chez Zoë, 東京 🛍", "fromEmailName": "Zoë & Co"},
        headers=bearer(org.sk_live),
    )
    assert response.status_code == 200, response.text
    assert response.json()["fromEmailName"] == "Zoë & Co"


NOT_INTEGERS = {"true": True, "string": "7", "float": 8.0, "fraction": 7.5}


def _settings_body(field: str, value: Any) -> dict[str, Any]:
    if field.startswith("discountLevels"):
        item = field.split(".")[1]
        first = {"participantsToUnlock": 2, "value": 5, "level": 1, item: value}
        return {"discountLevels": [first]}
    return {field: value}


@pytest.mark.parametrize(
    ("field", "param"),
    [
        ("maxParticipants", "maxParticipants"),
        ("minutesDuration", "minutesDuration"),
        ("minPurchaseValue", "minPurchaseValue"),
        ("discountLevels.participantsToUnlock", "discountLevels[0].participantsToUnlock"),
        ("discountLevels.level", "discountLevels[0].level"),
    ],
)
@pytest.mark.parametrize("value", list(NOT_INTEGERS.values()), ids=list(NOT_INTEGERS))
async def test_group_settings_take_json_integers_only(
    client: httpx.AsyncClient, org: Org, field: str, param: str, value: Any
) -> None:
    url = f"/organizations/{org.id}/payment-group-settings"
    before = (await client.get(url, headers=bearer(org.sk_test))).json()
    response = await client.patch(
        url, json=_settings_body(field, value), headers=bearer(org.sk_test)
    )
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] in (param, param.replace("[0].", ".") + "[0]")
    assert (await client.get(url, headers=bearer(org.sk_test))).json() == before


@pytest.mark.parametrize("value", list(NOT_INTEGERS.values()), ids=list(NOT_INTEGERS))
async def test_an_api_key_roll_takes_a_json_integer(
    client: httpx.AsyncClient, org: Org, value: Any
) -> None:
    def usable(listed: list[dict[str, Any]]) -> list[tuple[str, Any]]:
        return [(key["id"], key["expiresAt"]) for key in listed]

    keys = (await client.get("/api-keys", headers=bearer(org.sk_test))).json()["data"]
    response = await client.post(
        f"/api-keys/{keys[0]['id']}/roll",
        json={"expiresInSeconds": value},
        headers=bearer(org.sk_test),
    )
    assert_error(response, 400, "VALIDATION_ERROR", param="expiresInSeconds")
    after = (await client.get("/api-keys", headers=bearer(org.sk_test))).json()["data"]
    assert usable(after) == usable(keys)


DEEP_BODIES = {
    "array": "[" * 100_000 + "]" * 100_000,
    "object": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "just readable": '{"a":' * 900 + "1" + "}" * 900,
}


def _post_paths(app: FastAPI) -> list[str]:
    """Every POST route of the OpenAPI document, its path parameters filled in."""
    paths = app.openapi()["paths"]
    return sorted(
        re.sub(r"\{[^}]+\}", "KHT-test-00000000", path)
        for path, item in paths.items()
        if "post" in item
    )


@pytest.mark.parametrize("shape", list(DEEP_BODIES))
async def test_a_deeply_nested_body_gets_the_same_answer_with_or_without_an_idempotency_key(
    app: FastAPI, client: httpx.AsyncClient, org: Org, shape: str
) -> None:
    body = DEEP_BODIES[shape]
    paths = _post_paths(app)
    assert "/orders" in paths and "/webhooks" in paths
    for path in paths:
        answers = []
        for extra in ({}, {"Idempotency-Key": f"deep-{shape}-{path}"}):
            response = await client.post(
                path, content=body, headers={**bearer(org.sk_test), **extra}
            )
            assert response.status_code < 500, (path, response.text)
            answers.append((response.status_code, response.json().get("error", {}).get("code")))
        assert answers[0] == answers[1], path


@pytest.mark.parametrize(
    "value", ["1999", 19.99, 1999.0, True], ids=["string", "decimal", "float", "bool"]
)
async def test_an_amount_that_is_not_an_integer_is_explained_in_cents(
    client: httpx.AsyncClient, org: Org, value: Any
) -> None:
    before = (await client.get("/orders", headers=bearer(org.sk_test))).json()["count"]
    response = await client.post("/orders", json=_order(amount=value), headers=bearer(org.sk_test))
    error = assert_error(response, 400, "VALIDATION_ERROR", param="amount")
    assert "amounts are integers in cents" in error["message"]
    assert "1999 for 19.99 EUR" in error["message"]
    assert (await client.get("/orders", headers=bearer(org.sk_test))).json()["count"] == before


async def test_another_integer_field_says_it_wants_a_json_integer(
    client: httpx.AsyncClient, org: Org
) -> None:
    url = f"/organizations/{org.id}/payment-group-settings"
    response = await client.patch(url, json={"maxParticipants": "7"}, headers=bearer(org.sk_test))
    error = assert_error(response, 400, "VALIDATION_ERROR", param="maxParticipants")
    assert "must be a JSON integer" in error["message"]


@pytest.mark.parametrize("style", ["expand[]", "expand"])
async def test_expand_is_read_with_or_without_brackets(
    client: httpx.AsyncClient, org: Org, style: str
) -> None:
    created = await client.post("/orders", json=_order(), headers=bearer(org.sk_test))
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    one = await client.get(
        f"/orders/{order_id}", params={style: "paymentGroup"}, headers=bearer(org.sk_test)
    )
    assert one.status_code == 200, one.text
    assert one.json()["paymentGroup"]["shareId"].startswith("KHT-test-")
    listed = await client.get(
        "/orders",
        params=[(style, "customer"), (style, "paymentGroup")],
        headers=bearer(org.sk_test),
    )
    assert listed.status_code == 200, listed.text
    first = listed.json()["data"][0]
    assert first["customer"]["emailAddress"] == "rules@example.com"
    assert first["paymentGroup"] is not None
    refused = await client.get("/orders", params={style: "nope"}, headers=bearer(org.sk_test))
    assert_error(refused, 400, "VALIDATION_ERROR", param="expand[]")
