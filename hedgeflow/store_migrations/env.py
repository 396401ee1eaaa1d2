"""Alembic environment for the Hedgeflow store, configured from Python (no alembic.ini).

``hedgeflow.store`` passes an open connection in ``config.attributes["connection"]``
so migrations run inside its transaction (and its PostgreSQL advisory lock);
with only ``sqlalchemy.url`` set, as from ``alembic_config(url)``, an engine is
made here. SQLite uses batch mode so later ALTERs work by table copy.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from hedgeflow.store import VERSION_TABLE, StoreBase, make_engine

config = context.config
target_metadata = StoreBase.metadata
version_table = config.get_main_option("version_table") or VERSION_TABLE


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """``alembic upgrade --sql``: emit the DDL for review instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        version_table=version_table,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    shared = config.attributes.get("connection")
    if shared is not None:
        run_with(shared)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes['connection']")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
