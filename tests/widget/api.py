"""Helpers of the widget tests: the secret, tokens as a shop's server computes them, the
widget's read."""

import hashlib
import hmac
from typing import Any

import httpx

from tests.factories import Org, bearer


async def secret_of(client: httpx.AsyncClient, org: Org, key: str | None = None) -> str:
    response = await client.get(
        f"/organizations/{org.id}/widget-secret", headers=bearer(key or org.sk_test)
    )
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    return secret


def token(secret: str, reference: str) -> str:
    """What the guide tells a shop's server to compute."""
    return hmac.new(secret.encode(), reference.encode(), hashlib.sha256).hexdigest()


async def read(client: httpx.AsyncClient, key: str, reference: str, signed: str) -> httpx.Response:
    return await client.get(
        "/widget/order", params={"key": key, "order": reference, "token": signed}
    )


async def read_json(
    client: httpx.AsyncClient, key: str, reference: str, signed: str
) -> dict[str, Any]:
    response = await read(client, key, reference, signed)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
