"""The only place that reads the wall clock. Tests move it with time-machine."""

from datetime import UTC, datetime


def now() -> datetime:
    """Aware UTC now, truncated to milliseconds (the API's precision)."""
    current = datetime.now(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)
