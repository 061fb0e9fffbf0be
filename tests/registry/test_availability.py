"""What a failed unit of work says about the registry, told from the real exceptions the
drivers raise, and an outage logged twice however many requests it fails."""

from __future__ import annotations

import errno
import logging
import sqlite3

import asyncpg
import pytest
from sqlalchemy.exc import OperationalError

from roost.domain.errors import InsufficientStorage, RegistryUnavailable
from roost.registry.availability import Availability, classify


def sqlite_error(code: int, text: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(text)
    error.sqlite_errorcode = code  # what the sqlite3 module sets on the errors it raises
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), "unavailable"),
        (TimeoutError(), "unavailable"),
        (
            asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
            "unavailable",
        ),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), "unavailable"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), "unavailable"),
        (asyncpg.exceptions.DiskFullError("could not extend file"), "full"),
        (OSError(errno.ENOSPC, "No space left on device"), "full"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "full"),
        (OperationalError("INSERT", {}, sqlite_error(13, "database or disk is full")), "full"),
        (
            OperationalError("SELECT", {}, sqlite_error(14, "unable to open database")),
            "unavailable",
        ),
        (OperationalError("INSERT", {}, sqlite_error(5, "database is locked")), None),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), None),
        (ValueError("a bug"), None),
    ],
)
def test_failures_are_told_apart(error: BaseException, expected: str | None) -> None:
    assert classify(error) == expected


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    availability = Availability("postgresql://db")
    with caplog.at_level(logging.INFO, logger="roost.registry"):
        for _ in range(100):
            refused = availability.translate(ConnectionRefusedError(errno.ECONNREFUSED, "no"))
            assert isinstance(refused, RegistryUnavailable)
            assert refused.status == 503 and refused.headers == {"Retry-After": "5"}
        for _ in range(10):
            availability.answered()
        full = availability.translate(OSError(errno.ENOSPC, "No space left on device"))
        assert isinstance(full, InsufficientStorage) and full.status == 507
        availability.translate(OSError(errno.ENOSPC, "No space left on device"))
        availability.answered()  # a read says nothing about room
        availability.wrote()
    assert [(r.levelname, r.getMessage().split(";")[0].split(",")[0]) for r in caplog.records] == [
        (
            "WARNING",
            "the registry at postgresql://db cannot be reached (ConnectionRefusedError: [Errno 111] no)",
        ),
        ("INFO", "the registry at postgresql://db answers again"),
        ("WARNING", "the registry at postgresql://db has no room on disk"),
        ("INFO", "the registry at postgresql://db can write again"),
    ]
