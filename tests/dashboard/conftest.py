"""Dashboard tests: the real app through ASGI, users made with the services, a browser-like
client that keeps cookies and sends the dashboard's Origin on its posts."""

import re
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from kohort.dashboard_user import service
from kohort.db import Database
from tests.factories import Org

ORIGIN = "http://kohort.test"
PASSWORD = "correct horse battery"


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=app, client=(f"10.0.{secrets.randbelow(250)}.{secrets.randbelow(250)}", 1234)
    )
    async with httpx.AsyncClient(
        transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN}
    ) as client:
        yield client


async def make_user(db: Database, org: Org, role: str = "owner", password: str = PASSWORD) -> str:
    email = f"{secrets.token_hex(4)}@shop.example"
    async with db.write() as session:
        user = await service.create_user(session, email=email, password=password)
        await service.add_membership(session, user=user, organization_id=org.id, role=role, by=None)
    return email


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/dashboard/sign-in")
    return await client.post(
        "/dashboard/sign-in",
        data={"csrf": csrf_of(page.text), "email": email, "password": password},
    )
