"""Small typed factories with keyword overrides."""

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from kohort.db import Database
from kohort.http.versions import CURRENT
from kohort.organization.service import create_organization


@dataclass(frozen=True)
class Org:
    id: str
    keys: dict[str, str]

    @property
    def sk_test(self) -> str:
        return self.keys["sk_test"]

    @property
    def pk_test(self) -> str:
        return self.keys["pk_test"]

    @property
    def sk_live(self) -> str:
        return self.keys["sk_live"]

    @property
    def pk_live(self) -> str:
        return self.keys["pk_live"]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def make_organization(
    db: Database, *, name: str = "Test Shop", api_version: str = CURRENT
) -> Org:
    async with db.write() as session:
        created = await create_organization(session, name=name, api_version=api_version)
    return Org(id=created.organization.id, keys=created.keys)


async def make_customer(client: httpx.AsyncClient, key: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"emailAddress": f"shopper-{secrets.token_hex(6)}@example.com"}
    body.update(overrides)
    response = await client.post("/customers", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
