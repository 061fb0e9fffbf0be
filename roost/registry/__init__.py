"""The registry: SQLAlchemy tables, the engine, migrations and the queries over them."""
