"""Fixtures: a real registry on SQLite and on PostgreSQL, a context, an API client.

Tests that take ``context`` or ``client`` run once per database backend. PostgreSQL
tests use a database of their own, created for this session (and per xdist worker) on
the server named by ``ROOST_TEST_POSTGRES_URL`` and dropped at the end.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from roost.api.app import create_app
from roost.composition import open_context
from roost.registry.database import Registry
from roost.registry.tables import metadata
from roost.services.context import Context
from roost.services.jobs import STANDARD_JOBS, JobFactory
from roost.settings import Settings, sqlite_url

POSTGRES_ADMIN_URL = os.environ.get(
    "ROOST_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("ROOST_TEST_REDIS_URL", "redis://127.0.0.1:6379")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own on the shared Redis."""
    return f"roost-test-{uuid.uuid4().hex[:12]}"


async def forget_prefix(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (and xdist worker)."""
    name = f"roost_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not usable: {exc}")
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "home" / "roost.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


def _empty_all_tables(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        names = ", ".join(table.name for table in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def worker_port_range(worker_id: str) -> str:
    """Each xdist worker takes "auto" ports from its own range, so tests that run services
    at the same time never pick the same free port."""
    number = int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0
    first = 20000 + (number % 5) * 2000
    return f"{first}-{first + 1999}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, worker_id: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        port_range=worker_port_range(worker_id),
        stop_on_exit=True,  # a test never leaves a service running behind it
    )


@asynccontextmanager
async def opened_context(
    settings: Settings, jobs: Iterable[JobFactory] = STANDARD_JOBS
) -> AsyncIterator[Context]:
    """A context on ``settings`` with every table empty, closed afterwards. The tables
    are emptied before the context opens: its background jobs read them at once, and a
    TRUNCATE beside their reads can deadlock."""
    registry = Registry(settings.database_url)
    try:
        await registry.open()
        await registry.write(_empty_all_tables)
    finally:
        await registry.close()
    ctx = await open_context(settings, jobs=jobs)
    try:
        yield ctx
    finally:
        await ctx.close()


@asynccontextmanager
async def api_client(context: Context) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(context=context))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        yield http


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An API client over a fresh context on ``settings`` (for settings a test changes)."""
    async with opened_context(settings) as ctx, api_client(ctx) as http:
        yield http


@pytest.fixture
async def context(settings: Settings) -> AsyncIterator[Context]:
    async with opened_context(settings) as ctx:
        yield ctx


@pytest.fixture
async def client(context: Context) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(context) as http:
        yield http


DEMO_PORTS_LOCK = Path(tempfile.gettempdir()) / "roost-tests-demo-ports.lock"


@pytest.fixture(autouse=True)
def demo_ports(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked ``demo_ports`` allocate or listen on the example stack's fixed ports:
    one such test at a time, across xdist workers and concurrent runs on this host."""
    if request.node.get_closest_marker("demo_ports") is None:
        yield
        return
    with open(DEMO_PORTS_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
