"""Fixtures of the customer tests: the caller's key record ids and a frozen, movable clock."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from kohort.db import Database
from tests.customer.rows import key_record_id
from tests.factories import Org

START = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
"""Where the clock is frozen by the `frozen` fixture; `START_TEXT` is its wire form."""
START_TEXT = "2030-01-02T03:04:05.678Z"


@pytest.fixture
async def sk_test_id(db: Database, org: Org) -> str:
    return await key_record_id(db, org.sk_test)


@pytest.fixture
def frozen() -> Iterator[Any]:
    """The wall clock frozen at `START`; `frozen.shift(seconds)` moves it."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller
