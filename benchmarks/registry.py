"""Registry throughput: roost's API against bare SQLAlchemy on the same database.

For SQLite and PostgreSQL, in one run:
  roost     a real ``roost serve``: create 10,000 instances through the HTTP API
            (concurrency 32), page through them 100 at a time, and time
            ``GET /v1/instances?tag=...`` filters;
  baseline  the same number of single-row INSERT transactions at concurrency 32 into a
            table of the same shape, and the same page SELECTs, twice:
            "sqlalchemy": plain SQLAlchemy async (aiosqlite / asyncpg), one transaction
                per INSERT, with roost's SQLite pragmas: the issue's baseline;
            "roost-db": roost's own database layer (SQLite: group commit) with no HTTP
                and no logic: a stricter bar, shown for transparency.
Prints creates/s with the ratios, and latencies (p50/p99).
Targets (issue 2): creates >= 25% of the baseline; a page of 100 < 20 ms p99 on SQLite.

    uv run python -m benchmarks.registry [--count 10000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, event, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.common import postgres_database, roost_server, run_concurrently, summary
from benchmarks.loadgen import Connection as Http
from roost.registry.database import Registry, apply_sqlite_pragmas
from roost.registry.tables import apps, instances
from roost.settings import sqlite_url

CONCURRENCY = 32
PAGE = 100
TAGS = 10
FILTER_QUERIES = 200


@dataclass
class Figures:
    rate: float = 0.0
    pages: list[float] = field(default_factory=list)
    filters: list[float] = field(default_factory=list)


async def timed(samples: list[float], call: Any) -> Any:
    started = time.perf_counter()
    result = await call
    samples.append(time.perf_counter() - started)
    return result


async def bench_roost(url: str, count: int) -> Figures:
    figures = Figures()
    pool = [await Http.open(url) for _ in range(CONCURRENCY)]
    free = list(pool)

    async def create(index: int) -> None:
        http = free.pop()
        body = {"name": f"bench {index}", "tags": [f"shard-{index % TAGS}", "bench"]}
        status, reply = await http.request("POST", "/v1/instances", body)
        free.append(http)
        assert status == 201, reply

    figures.rate = count / await run_concurrently(count, CONCURRENCY, create)
    http, seen, cursor = pool[0], 0, None
    while True:
        params = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
        _, body = await timed(figures.pages, http.request("GET", "/v1/instances", params=params))
        seen += len(body["instances"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == count, (seen, count)
    for index in range(FILTER_QUERIES):
        params = {"tag": f"shard-{index % TAGS}", "limit": PAGE}
        _, body = await timed(figures.filters, http.request("GET", "/v1/instances", params=params))
        assert len(body["instances"]) == PAGE
    for connection in pool:
        await connection.close()
    return figures


def baseline_tables() -> tuple[MetaData, Table, Table]:
    metadata = MetaData()
    app_table = apps.to_metadata(metadata)  # same shape as roost's, foreign key included
    return metadata, app_table, instances.to_metadata(metadata, name="baseline_instances")


def baseline_row(index: int, now: datetime) -> dict[str, Any]:
    return {
        "instance_id": f"baseline-{index}",
        "app_pk": 1,
        "version": "1.0.0",
        "name": f"bench {index}",
        "ordinal": index,
        "state": "active",
        "health": "unknown",
        "config": {},
        "tags": [],
        "created_at": now,
        "updated_at": now,
    }


def app_row(now: datetime) -> dict[str, Any]:
    return {"pk": 1, "name": "b", "version": "1", "spec": {}, "created_at": now, "updated_at": now}


async def bench_plain_sqlalchemy(database_url: str, count: int) -> Figures:
    """The textbook way: an async engine, one transaction per INSERT."""
    metadata, app_table, table = baseline_tables()
    engine = create_async_engine(database_url)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", lambda conn, _: apply_sqlite_pragmas(conn))
    now = datetime.now(UTC).replace(tzinfo=None)
    figures = Figures()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(app_table), app_row(now))

        async def insert_one(index: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(insert(table), baseline_row(index, now))

        figures.rate = count / await run_concurrently(count, CONCURRENCY, insert_one)
        after = 0
        async with engine.connect() as conn:
            query = select(table).order_by(table.c.pk).limit(PAGE)
            while rows := (
                await timed(figures.pages, conn.execute(query.where(table.c.pk > after)))
            ).all():
                after = rows[-1].pk
    finally:
        await engine.dispose()
    return figures


async def bench_roost_db(database_url: str, count: int) -> Figures:
    """Roost's own database layer: no HTTP, no logic, one INSERT per unit of work."""
    metadata, app_table, table = baseline_tables()
    registry = Registry(database_url)
    now = datetime.now(UTC).replace(tzinfo=None)
    statement = insert(table)

    def create_tables(conn: Connection) -> None:
        metadata.create_all(conn)
        conn.execute(insert(app_table), app_row(now))

    def insert_row(conn: Connection, index: int) -> None:
        conn.execute(statement, baseline_row(index, now))

    def page(conn: Connection, after: int) -> list[Any]:
        query = select(table).where(table.c.pk > after).order_by(table.c.pk).limit(PAGE)
        return list(conn.execute(query))

    figures = Figures()
    try:
        await registry.write(create_tables)

        async def insert_one(index: int) -> None:
            await registry.write(insert_row, index)

        figures.rate = count / await run_concurrently(count, CONCURRENCY, insert_one)
        after = 0
        while rows := await timed(figures.pages, registry.read(page, after)):
            after = rows[-1].pk
    finally:
        await registry.close()
    return figures


def run_backend(backend: str, count: int) -> None:
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="roost-bench-")))
        if backend == "sqlite":
            for name in ("home", "a", "b"):
                (folder / name).mkdir()
            databases = [sqlite_url(folder / name / "roost.db") for name in ("home", "a", "b")]
        else:
            databases = [stack.enter_context(postgres_database()) for _ in range(3)]
        url = stack.enter_context(roost_server(folder / "home", databases[0]))
        roost = asyncio.run(bench_roost(url, count))
        plain = asyncio.run(bench_plain_sqlalchemy(databases[1], count))
        roost_db = asyncio.run(bench_roost_db(databases[2], count))
    print(f"\n== {backend}: {count} instances, concurrency {CONCURRENCY}")
    print(f"creates/s   roost API {roost.rate:6.0f}")
    for label, base in (("sqlalchemy", plain), ("roost-db", roost_db)):
        ratio = roost.rate / base.rate
        print(f"  baseline {label:10} {base.rate:6.0f}   roost API / baseline = {ratio:.2f}")
    print(f"page/100    roost API {summary(roost.pages)}")
    for label, base in (("sqlalchemy", plain), ("roost-db", roost_db)):
        print(f"  baseline {label:10} {summary(base.pages)}")
    print(f"tag filter  roost API {summary(roost.filters)} (page of 100 of {count // TAGS})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"registry benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for backend in args.backends.split(","):
        run_backend(backend, args.count)


if __name__ == "__main__":
    main()
