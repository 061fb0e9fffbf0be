"""Alembic environment: roost always hands it an open connection (see database.py)."""

from __future__ import annotations

from alembic import context

from roost.registry.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("roost migrations run through roost.registry.database.upgrade_schema")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
