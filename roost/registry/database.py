"""The registry's engines, migrated at open, and the units of work run against them.

A unit of work is a plain synchronous function over a SQLAlchemy ``Connection``, so
every query is written once for both databases:

- PostgreSQL runs units on an async engine (asyncpg) through ``run_sync``.
- SQLite runs units on a synchronous engine in threads: one thread hop per unit rather
  than one per statement (measured: a page read takes half the time it takes through
  aiosqlite). Writes go to a single writer thread with group commit (sqlite_writer.py);
  reads run on a few reader threads, each in a deferred transaction that sees one
  snapshot (WAL).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from roost.domain.errors import InvalidInput, RoostError
from roost.home import private
from roost.registry.availability import Availability
from roost.registry.sqlite_writer import SqliteWriter

T = TypeVar("T")
P = ParamSpec("P")
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_READERS = 4


def parse_database_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"invalid database URL {url!r}", code="INVALID_DATABASE_URL") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInput(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite+aiosqlite:///PATH"
            " or postgresql+asyncpg://...",
            code="INVALID_DATABASE_URL",
        )
    return parsed


SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000")


def apply_sqlite_pragmas(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _private_database(path: Path) -> None:
    """The database holds sealed secrets: mode 0600 from its first byte (SQLite gives
    its WAL and shared-memory files the database's mode), tightened if it was looser."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for suffix in ("", "-wal", "-shm"):
        private(path.with_name(path.name + suffix), 0o600)


def make_sqlite_engine(url: URL, *, begin: str) -> Engine:
    """A synchronous SQLite engine with roost's pragmas; ``begin`` opens each transaction."""
    if url.database and url.database != ":memory:":
        _private_database(Path(url.database))
    engine = create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=SQLITE_READERS + 1,
        hide_parameters=True,  # parameters can hold config: never in an error or a log
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN below, not sqlite3's
        apply_sqlite_pragmas(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


def make_postgres_engine(url: URL) -> AsyncEngine:
    return create_async_engine(url, pool_size=20, max_overflow=20, hide_parameters=True)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_schema(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


def _run_in_transaction(
    engine: Engine | None, unit: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    assert engine is not None
    with engine.begin() as conn:
        return unit(conn, *args, **kwargs)


class Registry:
    """The open registry: run read or write units of work against it."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = parse_database_url(url)
        self.dialect = parsed.get_backend_name()
        self.availability = Availability(parsed.render_as_string(hide_password=True))
        self._async: AsyncEngine | None = None
        self._writer: SqliteWriter | None = None
        self._reader: Engine | None = None
        if self.dialect == "sqlite":
            self._writer = SqliteWriter(make_sqlite_engine(parsed, begin="BEGIN IMMEDIATE"))
            self._reader = make_sqlite_engine(parsed, begin="BEGIN")
            self._read_threads = ThreadPoolExecutor(
                SQLITE_READERS, thread_name_prefix="roost-sqlite-reader"
            )
        else:
            self._async = make_postgres_engine(parsed)

    async def open(self) -> None:
        """Apply pending migrations (``roost db upgrade`` does the same by hand). A
        failure is raised as it is: the caller says in one line why it cannot start."""
        await self._write(upgrade_schema)

    async def close(self) -> None:
        if self._async is not None:
            await self._async.dispose()
        else:
            assert self._writer is not None and self._reader is not None
            self._writer.close()
            self._read_threads.shutdown()
            self._reader.dispose()

    async def read(
        self, unit: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``unit`` in a read transaction (one consistent snapshot)."""
        try:
            if self._async is not None:
                async with self._async.connect() as conn:
                    result = await conn.run_sync(unit, *args, **kwargs)
            else:
                call = functools.partial(_run_in_transaction, self._reader, unit, *args, **kwargs)
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(self._read_threads, call)
        except RoostError:
            raise
        except Exception as error:
            raise self._told(error) from None
        self.availability.answered()
        return result

    async def write(
        self, unit: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``unit`` in one transaction: all of it commits, or none of it."""
        try:
            result = await self._write(unit, *args, **kwargs)
        except RoostError:
            raise
        except Exception as error:
            raise self._told(error) from None
        self.availability.wrote()
        return result

    def _told(self, error: Exception) -> Exception:
        """What a caller is told of a failed unit: an outage or a full disk as roost's
        error (503, 507), anything else as it is."""
        return self.availability.translate(error) or error

    async def _write(
        self, unit: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self._async is not None:
            async with self._async.begin() as conn:
                return await conn.run_sync(unit, *args, **kwargs)
        assert self._writer is not None
        result: T = await self._writer.submit(lambda conn: unit(conn, *args, **kwargs))
        return result
