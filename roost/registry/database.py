"""The registry's engine: one async SQLAlchemy engine, migrated at open.

Units of work are plain synchronous functions over a ``Connection`` run with
``AsyncConnection.run_sync``, so every query is written once for SQLite (aiosqlite)
and PostgreSQL (asyncpg). SQLite has one writer at a time; an in-process lock queues
writers instead of letting them collide on the file lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from roost.domain.errors import InvalidInput

T = TypeVar("T")
P = ParamSpec("P")
MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> AsyncEngine:
    """The engine roost runs on, with the settings roost uses (benchmarks reuse it)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"invalid database URL {url!r}", code="INVALID_DATABASE_URL") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_async_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=False)
    raise InvalidInput(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite+aiosqlite or"
        " postgresql+asyncpg",
        code="INVALID_DATABASE_URL",
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_schema(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


class Registry:
    """The open registry: run read or write units of work against it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None

    async def open(self) -> None:
        """Apply pending migrations (``roost db upgrade`` does the same by hand)."""
        async with self._writing(), self.engine.begin() as conn:
            await conn.run_sync(upgrade_schema)

    async def close(self) -> None:
        await self.engine.dispose()

    async def read(
        self, unit: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        async with self.engine.connect() as conn:
            return await conn.run_sync(unit, *args, **kwargs)

    async def write(
        self, unit: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``unit`` in one transaction: all of it commits, or none of it."""
        async with self._writing(), self.engine.begin() as conn:
            return await conn.run_sync(unit, *args, **kwargs)

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
        else:
            async with self._write_lock:
                yield
