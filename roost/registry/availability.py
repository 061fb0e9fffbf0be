"""What a failed unit of work says about the registry: unreachable (refused, starting up,
a connection dropped), out of disk, or neither (a bug: it propagates as it is).

An outage is logged twice, not once per request: one WARNING when it starts, one INFO
when a unit of work succeeds again. Requests meanwhile get 503 ``REGISTRY_UNAVAILABLE``
with ``Retry-After``, and a full disk 507 ``INSUFFICIENT_STORAGE``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Literal

from sqlalchemy.exc import DBAPIError

from roost.domain.errors import RoostError, no_room, out_of_space, registry_unavailable

log = logging.getLogger("roost.registry")

Failure = Literal["unavailable", "full"]

# PostgreSQL: class 08 connection exceptions, 57P01-57P03 (shut down, crash, starting up),
# 53100 disk full. SQLite: SQLITE_FULL, SQLITE_CANTOPEN (the file went away).
PG_FULL = "53100"
PG_GONE_CLASSES = ("08",)
PG_GONE = ("57P01", "57P02", "57P03")
SQLITE_FULL, SQLITE_CANTOPEN = 13, 14


def classify(error: BaseException) -> Failure | None:
    if out_of_space(error):
        return "full"
    cause: BaseException | None = error
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return "unavailable"
        cause = error.orig
    state = _sqlstate(cause)
    if state == PG_FULL:
        return "full"
    if state is not None and (state[:2] in PG_GONE_CLASSES or state in PG_GONE):
        return "unavailable"
    sqlite_code = getattr(cause, "sqlite_errorcode", None)
    if sqlite_code is not None:
        primary = sqlite_code & 0xFF
        if primary == SQLITE_FULL:
            return "full"
        if primary == SQLITE_CANTOPEN:
            return "unavailable"
        return None
    if isinstance(error, OSError | asyncio.TimeoutError) or type(error).__name__ in (
        "InterfaceError",
        "ConnectionDoesNotExistError",
    ):
        return "unavailable"  # refused, unreachable, timed out, or the driver lost it
    return None


def _sqlstate(error: BaseException | None) -> str | None:
    """The SQLSTATE of a PostgreSQL error, through SQLAlchemy's asyncpg adapter."""
    while error is not None:
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str):
            return state
        error = error.__cause__
    return None


class Availability:
    """Whether the registry answered its last unit of work, with the outage's logging."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._down_since: float | None = None
        self._full_since: float | None = None

    def translate(self, error: BaseException) -> RoostError | None:
        """The error to raise instead of ``error`` (None: re-raise ``error`` itself)."""
        failure = classify(error)
        if failure == "full":
            if self._full_since is None:
                self._full_since = time.monotonic()
                log.warning(
                    "the registry at %s has no room on disk; writes get 507 until it has",
                    self._where,
                )
            return no_room("the registry")
        if failure == "unavailable":
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning(
                    "the registry at %s cannot be reached (%s); requests get 503 until it is back",
                    self._where,
                    _short(error),
                )
            return registry_unavailable()
        return None

    def answered(self) -> None:
        """A unit of work succeeded (a write, or a read: a read says nothing of room)."""
        if self._down_since is not None:
            log.info(
                "the registry at %s answers again, after %.1f s",
                self._where,
                time.monotonic() - self._down_since,
            )
            self._down_since = None

    def wrote(self) -> None:
        self.answered()
        if self._full_since is not None:
            log.info(
                "the registry at %s can write again, after %.1f s",
                self._where,
                time.monotonic() - self._full_since,
            )
            self._full_since = None

    @property
    def down(self) -> bool:
        return self._down_since is not None


def _short(error: BaseException) -> str:
    """One line naming the failure, never a statement or its parameters."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = str(cause).splitlines()[0] if str(cause) else ""
    return f"{type(cause).__name__}: {text[:200]}" if text else type(cause).__name__
