"""Helpers shared by the benchmarks: servers, databases, percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from roost.cli.server import wait_until_healthy

POSTGRES_ADMIN_URL = os.environ.get(
    "ROOST_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def _admin(statement: str) -> None:
    dsn = (
        make_url(POSTGRES_ADMIN_URL)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; yields its SQLAlchemy URL."""
    name = f"roost_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def roost_server(home: Path, database_url: str, *flags: str) -> Iterator[str]:
    """A real ``roost serve`` subprocess; yields its base URL."""
    port = free_port()
    env = {**os.environ, "ROOST_DATABASE_URL": database_url}
    log = open(home.parent / f"serve-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "roost", "--home", str(home), "serve", "--port", str(port), *flags],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, Path(log.name))
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


async def run_concurrently(
    count: int, concurrency: int, job: Callable[[int], Awaitable[None]]
) -> float:
    """Run ``job(0..count-1)`` with ``concurrency`` workers; the elapsed seconds."""
    next_index = iter(range(count))

    async def worker() -> None:
        for index in next_index:
            await job(index)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def summary(samples: list[float]) -> str:
    return f"p50 {ms(statistics.median(samples))}, p99 {ms(percentile(samples, 99))}"
