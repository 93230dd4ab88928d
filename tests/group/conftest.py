"""Fixtures of the group route tests."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine


@pytest.fixture
def start() -> datetime:
    """A moment just ahead of the wall clock, in milliseconds (the API's precision)."""
    now = datetime.now(UTC) + timedelta(seconds=5)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@pytest.fixture
def frozen(start: datetime) -> Iterator[Any]:
    """The clock frozen at `start`; `frozen.shift(seconds)` moves it."""
    with time_machine.travel(start, tick=False) as traveller:
        yield traveller
