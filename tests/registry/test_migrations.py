from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, inspect, text

from roost.registry.database import MIGRATIONS
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


def test_0007_marks_the_apps_that_were_products(tmp_path: Path) -> None:
    """Before 0007 a product was a bare app named after it whose instances hold key
    pairs: those apps become products, and no other."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
        now = datetime.now(UTC)
        for pk, name in ((1, "my-product"), (2, "default")):
            conn.execute(
                text(
                    "INSERT INTO apps (pk, name, version, spec, created_at, updated_at)"
                    " VALUES (:pk, :name, '1', '{}', :now, :now)"
                ),
                {"pk": pk, "name": name, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO instances (pk, instance_id, app_pk, version, name, ordinal,"
                    " state, health, config, tags, created_at, updated_at) VALUES (:pk, :id, :pk,"
                    " '1', :id, 1, 'active', 'unknown', '{}', '[]', :now, :now)"
                ),
                {"pk": pk, "id": f"i{pk}", "now": now},
            )
        conn.execute(
            text(
                "INSERT INTO instance_keys (instance_pk, public_pem, private_encrypted,"
                " created_at) VALUES (1, 'pem', 'sealed', :now)"
            ),
            {"now": now},
        )
        command.upgrade(config, "head")
        rows = conn.execute(text("SELECT name, product FROM apps ORDER BY pk")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("my-product", "my-product"), ("default", None)]
