"""Small typed factories with keyword overrides."""

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update

from kohort.db import Database
from kohort.http.versions import CURRENT
from kohort.models import PaymentGroupSettings
from kohort.organization.service import create_organization
from kohort.risk.signals import LEVELS


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


ALLOW_ALL = {level: "allow" for level in LEVELS}
"""The risk policy of the suite's shops. Their buyers are mostly "Ada Lovelace" at
example.com: the default policy would rightly hold them all for review, so the tests of other
rules allow every level; tests/risk make shops with the defaults (`risk_policy=None`)."""


async def make_organization(
    db: Database,
    *,
    name: str = "Test Shop",
    api_version: str = CURRENT,
    risk_policy: dict[str, str] | None = ALLOW_ALL,
) -> Org:
    async with db.write() as session:
        created = await create_organization(session, name=name, api_version=api_version)
        if risk_policy is not None:
            await session.execute(
                update(PaymentGroupSettings)
                .where(PaymentGroupSettings.organization_id == created.organization.id)
                .values(risk_policy=risk_policy)
            )
    return Org(id=created.organization.id, keys=created.keys)


async def make_customer(client: httpx.AsyncClient, key: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"emailAddress": f"shopper-{secrets.token_hex(6)}@example.com"}
    body.update(overrides)
    response = await client.post("/customers", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
