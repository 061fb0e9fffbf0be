"""The SQLite group-commit writer: units batch together but stay all-or-nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from roost.registry.database import Registry
from roost.registry.tables import apps
from roost.settings import sqlite_url


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[Registry]:
    opened = Registry(sqlite_url(tmp_path / "roost.db"))
    await opened.open()
    yield opened
    await opened.close()


def add_app(conn: Connection, /, name: str) -> str:
    conn.execute(
        insert(apps).values(
            name=name, version="1", spec={}, created_at=func.now(), updated_at=func.now()
        )
    )
    return name


def add_two_then_fail(conn: Connection, /, name: str) -> None:
    add_app(conn, name + "-a")
    add_app(conn, name + "-b")
    add_app(conn, name + "-a")  # duplicate: the whole unit must vanish


def names(conn: Connection) -> set[str]:
    return set(conn.execute(select(apps.c.name)).scalars())


async def test_concurrent_units_commit_and_a_failing_one_rolls_back_alone(
    registry: Registry,
) -> None:
    jobs: list[Awaitable[object]] = []
    for n in range(60):
        if n % 6 == 0:
            jobs.append(registry.write(add_two_then_fail, f"bad{n}"))
        else:
            jobs.append(registry.write(add_app, f"good{n}"))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for n, result in enumerate(results):
        if n % 6 == 0:
            assert isinstance(result, IntegrityError)
        else:
            assert isinstance(result, str)
            assert result == f"good{n}"
    assert await registry.read(names) == {f"good{n}" for n in range(60) if n % 6}


async def test_a_lone_failing_unit_leaves_nothing_behind(registry: Registry) -> None:
    with pytest.raises(IntegrityError):
        await registry.write(add_two_then_fail, "solo")
    assert await registry.read(names) == set()


async def test_writes_survive_reopening(registry: Registry, tmp_path: Path) -> None:
    await asyncio.gather(*(registry.write(add_app, f"k{n}") for n in range(20)))
    again = Registry(sqlite_url(tmp_path / "roost.db"))
    try:
        assert len(await again.read(names)) == 20
    finally:
        await again.close()
