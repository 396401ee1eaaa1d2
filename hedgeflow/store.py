"""Every run in a SQL database: the tables, the engine, the migrations and the writer.

One run is one row in ``runs`` with its ``signals`` and ``orders``, written in
one transaction so a reader never sees half a run. The schema is owned by the
Alembic migrations shipped in ``hedgeflow/store_migrations``; the classes here
describe the same tables for typed reads and for ``alembic revision
--autogenerate``. SQLite (the offline default) and PostgreSQL are both
first-class. No Prefect here: the task in ``tasks/persist.py`` adds retries.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    Engine,
    ForeignKey,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hedgeflow.paths import home
from hedgeflow.schemas import RunResult

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "DATABASE_URL_ENV",
    "HEAD_REVISION",
    "MIGRATIONS_DIR",
    "OrderRow",
    "RunRow",
    "SignalRow",
    "StoreBase",
    "VERSION_TABLE",
    "alembic_config",
    "as_utc",
    "database_url",
    "downgrade",
    "ensure_schema",
    "get_engine",
    "make_engine",
    "order_rows",
    "persist_run",
    "run_row",
    "safe_url",
    "signal_rows",
    "upgrade",
]

DATABASE_URL_ENV = "HEDGEFLOW_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).with_name("store_migrations")
# Not "alembic_version": the Prefect server keeps its own there when both share one PostgreSQL database.
VERSION_TABLE = "hedgeflow_alembic_version"
# The newest migration's revision (store_migrations/versions): a database already there needs no Alembic, whose
# import costs a process a quarter of a second; tests/test_store.py checks it against Alembic's own head.
HEAD_REVISION = "0001"
_PG_MIGRATION_LOCK = 0x4845_4447  # "HEDG": one migrator at a time per PostgreSQL database

# Named constraints, so later migrations (and SQLite batch mode) can drop and alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")


class StoreBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # float -> Double as the migrations have it (SQLAlchemy 2.1's default, spelled out for the 2.0 Prefect needs)
    type_annotation_map = {dict[str, Any]: JSON_TYPE, dt.datetime: DateTime(timezone=True), float: Double()}


class RunRow(StoreBase):
    """One flow run; ``id`` is the Prefect flow run id, totals are the run's model usage."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(index=True)
    finished_at: Mapped[dt.datetime]
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    model: Mapped[str] = mapped_column(String(200))
    model_calls: Mapped[int]
    input_tokens: Mapped[int]
    output_tokens: Mapped[int]
    cached_tokens: Mapped[int]
    cost_usd: Mapped[float]
    cache_hit_rate: Mapped[float]
    degraded_count: Mapped[int]
    errors: Mapped[dict[str, Any]]


class SignalRow(StoreBase):
    """One analyst's signal on one ticker; usage columns let an AgentSignal round-trip."""

    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("run_id", "analyst", "ticker"),
        CheckConstraint("confidence >= 0 AND confidence <= 100", name="confidence_range"),
        CheckConstraint("signal IN ('bullish', 'bearish', 'neutral')", name="signal_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    analyst: Mapped[str] = mapped_column(String(64))
    ticker: Mapped[str] = mapped_column(String(32), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    signal: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float]
    reasoning: Mapped[str] = mapped_column(Text)
    degraded: Mapped[bool]
    degraded_reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8))
    model: Mapped[str] = mapped_column(String(200))
    elapsed_s: Mapped[float]
    model_calls: Mapped[int]
    input_tokens: Mapped[int]
    output_tokens: Mapped[int]
    cached_tokens: Mapped[int]
    cost_usd: Mapped[float]
    latency_s: Mapped[float]


class OrderRow(StoreBase):
    """One portfolio decision on one ticker."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        CheckConstraint("confidence >= 0 AND confidence <= 100", name="confidence_range"),
        CheckConstraint("action IN ('buy', 'sell', 'short', 'cover', 'hold')", name="action_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    ticker: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int]
    confidence: Mapped[float]
    reasoning: Mapped[str] = mapped_column(Text)


# --------------------------------------------------------------------------- connection


def database_url() -> str:
    """HEDGEFLOW_DATABASE_URL, else the offline default: a SQLite file in the Hedgeflow home."""
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    return configured or f"sqlite:///{home() / 'hedgeflow.db'}"


def safe_url(url: str | URL) -> str:
    """The URL with its password masked: the only form that goes into logs and errors."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores foreign keys unless asked, per connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str | URL) -> Engine:
    """An engine that survives restarts: pre-ping drops dead pooled connections before use.

    PostgreSQL gets a small pool (a run writes once; history reads once) and a
    connect timeout, so an unreachable server fails fast and the task's
    retries, not a hung socket, decide what happens next.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):  # psycopg 3 is the driver installed, not psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, pool_pre_ping=True, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(
        parsed, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_recycle=1800, connect_args=connect_args
    )


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process, with its schema at head: what tasks and the CLI use."""
    key = url or database_url()
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = make_engine(key)
    ensure_schema(engine)
    return engine


# --------------------------------------------------------------------------- migrations


def alembic_config(url: str | URL | None = None) -> Config:
    """Alembic configured from Python: no alembic.ini is needed at run time."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    if url is not None:  # only for env.py's own engine; "%" escaped for configparser
        rendered = make_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def _migrate(engine: Engine, revision: str, *, up: bool) -> None:
    """Run Alembic on a connection of ``engine`` in one transaction (DDL is transactional on PostgreSQL)."""
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # two processes starting at once must not both create tables
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        if up:
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)


_at_head: set[str] = set()
_at_head_lock = threading.Lock()


def _url_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate up; always runs (unlike ensure_schema)."""
    _migrate(engine, revision, up=True)
    with _at_head_lock:
        if revision == "head":
            _at_head.add(_url_key(engine))
        else:
            _at_head.discard(_url_key(engine))


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate down, and forget that this URL was at head."""
    with _at_head_lock:
        _at_head.discard(_url_key(engine))
    _migrate(engine, revision, up=False)


def _recorded_revisions(engine: Engine) -> list[str]:
    """The revisions Alembic recorded in ``engine``'s database; none before its first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return []
        return list(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def ensure_schema(engine: Engine) -> None:
    """``alembic upgrade head`` once per URL per process, unless the database says it is at head already;
    later calls cost a set lookup."""
    key = _url_key(engine)
    with _at_head_lock:
        if key in _at_head:
            return
        if _recorded_revisions(engine) != [HEAD_REVISION]:
            _migrate(engine, "head", up=True)
        _at_head.add(key)


# --------------------------------------------------------------------------- writer


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC, naive read as UTC: SQLite drops the offset, so times are stored, and read back, in UTC."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


def run_row(result: RunResult) -> dict[str, Any]:
    """The ``runs`` row; the request is the JSON form of the validated RunRequest, nothing else."""
    usage = result.usage
    return {
        "id": result.run_id,
        "request": result.request.model_dump(mode="json"),
        "status": result.status,
        "started_at": as_utc(result.started_at),
        "finished_at": as_utc(result.finished_at),
        "window_start": result.start,
        "window_end": result.end,
        "model": result.request.model,
        "model_calls": usage.calls,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens,
        "cost_usd": usage.cost_usd,
        "cache_hit_rate": result.cache.hit_rate,
        "degraded_count": result.degraded_count,
        "errors": {**result.errors, **result.analyst_errors},
    }


# Named, not "everything": a field added to a schema must not break the insert before a migration adds its column.
_SIGNAL_FIELDS = {
    "analyst", "ticker", "as_of", "signal", "confidence", "reasoning",
    "source", "model", "degraded", "degraded_reason", "elapsed_s",
}
_ORDER_FIELDS = {"ticker", "action", "quantity", "confidence", "reasoning"}


def signal_rows(result: RunResult) -> list[dict[str, Any]]:
    """``signals`` rows: the AgentSignal's fields, its usage flattened into columns."""
    return [
        {
            "run_id": result.run_id,
            **s.model_dump(include=_SIGNAL_FIELDS),
            "model_calls": s.usage.calls,
            **s.usage.model_dump(include={"input_tokens", "output_tokens", "cached_tokens", "cost_usd", "latency_s"}),
        }
        for s in result.signals
    ]


def order_rows(result: RunResult) -> list[dict[str, Any]]:
    """``orders`` rows: an Order's fields are the columns."""
    return [{"run_id": result.run_id, **o.model_dump(include=_ORDER_FIELDS)} for o in result.orders]


def persist_run(engine: Engine, result: RunResult) -> bool:
    """Write a whole run in one transaction; True when new, False when it replaced a stored copy.

    Idempotent by run id, last write wins: an existing run is deleted with its
    signals and orders and rewritten inside the same transaction, so a retried
    task or a re-persisted result leaves exactly one, newest, copy and readers
    see either the old run or the new one, never a mix. Rows go in as bulk
    inserts (one executemany per table). Any failure rolls the whole run back.
    """
    signals, orders = signal_rows(result), order_rows(result)
    with engine.begin() as connection:
        existed = connection.execute(select(RunRow.id).where(RunRow.id == result.run_id)).first() is not None
        if existed:
            connection.execute(delete(SignalRow).where(SignalRow.run_id == result.run_id))
            connection.execute(delete(OrderRow).where(OrderRow.run_id == result.run_id))
            connection.execute(delete(RunRow).where(RunRow.id == result.run_id))
        connection.execute(insert(RunRow), [run_row(result)])
        if signals:  # an empty parameter list would insert one row of defaults
            connection.execute(insert(SignalRow), signals)
        if orders:
            connection.execute(insert(OrderRow), orders)
    return not existed
