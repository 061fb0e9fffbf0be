"""Time as roost reads and writes it: timezone-aware UTC, shown as RFC 3339 with ``Z``.

What waits or measures intervals (background jobs, the supervisor, activity tracking)
takes a :class:`Clock`, so a test can replay time instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime | None) -> str | None:
    """``2025-11-22T13:00:00.123456Z``: always microseconds, so strings sort as times do."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"  # ~10x faster than strftime


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 / ISO 8601 time; a time without an offset is taken as UTC. A
    time that is not one, or does not exist in UTC (year 1 at +14:00), is ValueError."""
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range in UTC") from None


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back: for intervals and deadlines."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: the event loop's own time, and its sleep."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
