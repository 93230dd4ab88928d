"""Request bodies over the limit (KOHORT_MAX_BODY_BYTES, KOHORT_MAX_PAGE_BODY_BYTES) answer
413 in the envelope, or a page under /w/ and /r/, wherever the limit is passed: never a 500,
and logged as the 413 it is. (Over real sockets: tests/http/test_limits.py.)"""

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kohort.config import Settings
from kohort.db import Database
from kohort.main import create_app
from tests.conftest import api_client
from tests.factories import Org, bearer

LIMIT = 2048
PAGE_LIMIT = 1024


@pytest.fixture
async def small(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(
        update={"max_body_bytes": LIMIT, "max_page_body_bytes": PAGE_LIMIT, "worker": "off"}
    )
    async with api_client(create_app(limited, database=db)) as client:
        yield client


async def chunks(count: int, size: int = 512) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b" " * size


def assert_too_large(response: httpx.Response) -> dict[str, Any]:
    """The 413 envelope (tests/shapes.py's `assert_error` knows the statuses of API.md only)."""
    assert response.status_code == 413, response.text
    assert response.headers["Content-Type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param", "requestId"}
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "REQUEST_TOO_LARGE",
        None,
    )
    assert error["requestId"] == response.headers["Request-Id"]
    assert f"{LIMIT} bytes" in error["message"]
    return error


def request_lines(caplog: pytest.LogCaptureFixture) -> list[int]:
    return [r.__dict__["status"] for r in caplog.records if r.name == "kohort.request"]


async def test_a_declared_length_over_the_limit_is_413(
    small: httpx.AsyncClient, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await small.post(
            "/customers", content=b" " * (LIMIT + 1), headers=bearer(org.sk_test)
        )
    assert_too_large(response)
    assert response.headers["Connection"] == "close"
    assert request_lines(caplog) == [413]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_chunked_body_passing_the_limit_mid_read_is_413_not_500(
    small: httpx.AsyncClient, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await small.post(
            "/customers", content=chunks(2 * LIMIT // 512), headers=bearer(org.sk_test)
        )
    assert_too_large(response)
    assert request_lines(caplog) == [413]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_body_at_the_limit_is_read(small: httpx.AsyncClient, org: Org) -> None:
    body = b'{"emailAddress": "at-the-limit@example.com"}'
    response = await small.post(
        "/customers", content=body.ljust(LIMIT), headers=bearer(org.sk_test)
    )
    assert response.status_code == 201, response.text
    assert "Connection" not in response.headers


@pytest.mark.parametrize("path", ["/w/ord_unknown?token=t", "/r/KHT-00000000"])
async def test_a_page_body_over_the_page_limit_is_a_413_page(
    small: httpx.AsyncClient, path: str
) -> None:
    response = await small.post(
        path,
        content=b"holder=" + b"a" * PAGE_LIMIT,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en-US"},
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.text.lower().startswith("<!doctype html>")
    # the pages' own notice, in the page's layout and the shopper's language, not JSON
    assert '<meta name="viewport"' in response.text
    expected = "Please send the form again" if path.startswith("/w/") else "Code not found"
    assert expected in response.text


async def test_the_api_limit_is_not_the_page_limit(small: httpx.AsyncClient, org: Org) -> None:
    """A body between the two limits is refused on a page, read on the API."""
    body = b'{"emailAddress": "between@example.com"}'.ljust(PAGE_LIMIT + 1)
    response = await small.post("/customers", content=body, headers=bearer(org.sk_test))
    assert response.status_code == 201, response.text
