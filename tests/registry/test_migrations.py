from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from roost.registry.tables import metadata
from roost.services.context import Context


async def test_migrated_schema_matches_the_tables_module(context: Context) -> None:
    def diff(conn: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    assert await context.registry.read(diff) == []


async def test_opening_twice_is_idempotent(context: Context) -> None:
    await context.registry.open()

    def tables(conn: Connection) -> set[str]:
        return set(inspect(conn).get_table_names())

    assert {
        "apps",
        "instances",
        "events",
        "usage",
        "instance_keys",
        "alembic_version",
    } <= await context.registry.read(tables)


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(context: Context) -> None:
    if context.registry.dialect != "sqlite":
        pytest.skip("SQLite pragmas")

    def pragmas(conn: Connection) -> tuple[str, int]:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        keys = conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
        return str(mode), int(keys)

    assert await context.registry.read(pragmas) == ("wal", 1)
