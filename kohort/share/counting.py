"""Counting shares: how often a group's share surfaces are shown (the member's share page, the
invited friend's, the thank-you widget) and each share action tapped, per group and day (the
shop's local day). No cookie and nothing about who: a count per (group, day, channel). An
address's events are capped in memory (`Window`, per process) so that a script cannot inflate
the counts, and link previews fetched by messaging apps are not views."""

import re
import time
from collections import deque
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.models import PaymentGroup
from kohort.share import repository
from kohort.share.service import CHANNELS, VIEWS

SHOWN = tuple(f"shown:{view}" for view in VIEWS)
PREVIEW_AGENTS = re.compile(
    r"bot|crawl|spider|preview|facebookexternalhit|whatsapp|telegram|slack|discord|skype|"
    r"linkedin|embedly|vkshare|pinterest",
    re.IGNORECASE,
)
"""User agents of link previews and crawlers: their fetches of a share link are not views."""


class Window:
    """At most `limit` events per key in any `seconds`, in this process's memory (the key, an
    address, is never stored): the oldest keys go past MAX_KEYS."""

    MAX_KEYS = 10_000

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        events = self._events.pop(key, None) or deque()
        while events and events[0] <= now - self.seconds:
            events.popleft()
        allowed = len(events) < self.limit
        if allowed:
            events.append(now)
        self._events[key] = events
        while len(self._events) > self.MAX_KEYS:
            del self._events[next(iter(self._events))]
        return allowed


def local_day(timezone: str) -> date:
    """Today in the organization's time zone: the counts fall on the analytics' days."""
    return clock.now().astimezone(ZoneInfo(timezone)).date()


def is_preview(user_agent: str | None) -> bool:
    return bool(user_agent) and PREVIEW_AGENTS.search(user_agent or "") is not None


async def count(session: AsyncSession, *, group: PaymentGroup, channel: str, today: date) -> None:
    """`channel` is one of SHOWN or CHANNELS (checked by the caller)."""
    assert channel in SHOWN or channel in CHANNELS, channel
    await repository.add_count(session, group=group, day=today, channel=channel)
