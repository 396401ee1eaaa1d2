"""The run store against both real engines: SQLite files and the PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from deployments.history_view import history_command, render_history
from hedgeflow import store
from hedgeflow.history import load_history
from hedgeflow.schemas import AgentSignal, CacheStats, ModelUsage, Order, RunRequest, RunResult
from hedgeflow.store import OrderRow, RunRow, SignalRow, downgrade, ensure_schema, make_engine, persist_run, upgrade

UTC = dt.timezone.utc
TABLES = {"runs", "signals", "orders"}


def make_result(
    run_id: str = "run-1",
    tickers: tuple[str, ...] = ("AAPL", "NVDA"),
    started_at: dt.datetime = dt.datetime(2025, 6, 2, 14, 30, tzinfo=UTC),
    orders: list[Order] | None = None,
) -> RunResult:
    """A small, fully populated run: two analysts per ticker, one degraded signal with usage."""
    as_of = dt.date(2025, 5, 30)
    signals = []
    for ticker in tickers:
        signals.append(
            AgentSignal(analyst="warren_buffett", ticker=ticker, as_of=as_of, signal="bullish", confidence=72.5,
                        reasoning=f"{ticker} ROE 31% above 15%", source="model", model="anthropic:claude",
                        usage=ModelUsage(calls=1, input_tokens=900, output_tokens=120, cached_tokens=600,
                                         cost_usd=0.0042, latency_s=1.25), elapsed_s=1.5)
        )
        signals.append(
            AgentSignal(analyst="technicals", ticker=ticker, as_of=as_of, signal="bearish", confidence=40.0,
                        reasoning="momentum -0.4", degraded=True, degraded_reason="breaker open", elapsed_s=0.01)
        )
    if orders is None:
        orders = [Order(ticker=t, action="buy" if i == 0 else "hold", quantity=12 if i == 0 else 0,
                        confidence=55.0, reasoning="net conviction +0.32") for i, t in enumerate(tickers)]
    return RunResult(
        run_id=run_id,
        request=RunRequest(tickers=list(tickers), end=as_of, model="anthropic:claude"),
        status="degraded",
        started_at=started_at,
        finished_at=started_at + dt.timedelta(seconds=42),
        start=dt.date(2025, 3, 1),
        end=as_of,
        signals=signals,
        orders=orders,
        errors={"TSLA": "no prices in window"},
        usage=ModelUsage(calls=2, input_tokens=1800, output_tokens=240, cached_tokens=1200, cost_usd=0.0084),
        cache=CacheStats(lookups=10, hits=4, memory_hits=1, storage_hits=3),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL: a fresh SQLite file, or a PostgreSQL schema of its own dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    schema = f"hf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    engine = make_engine(database)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def counts(engine: Engine, run_id: str) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return (
            connection.scalar(select(func.count()).select_from(RunRow).where(RunRow.id == run_id)) or 0,
            connection.scalar(select(func.count()).select_from(SignalRow).where(SignalRow.run_id == run_id)) or 0,
            connection.scalar(select(func.count()).select_from(OrderRow).where(OrderRow.run_id == run_id)) or 0,
        )


def test_a_run_is_written_whole_and_reads_back_equal(engine: Engine) -> None:
    result = make_result()
    assert persist_run(engine, result) is True
    assert counts(engine, "run-1") == (1, 4, 2)

    with engine.connect() as connection:
        row = connection.execute(select(RunRow.__table__)).one()
    assert row.request == result.request.model_dump(mode="json")
    assert (row.model, row.model_calls, row.input_tokens, row.cached_tokens) == ("anthropic:claude", 2, 1800, 1200)
    assert row.cache_hit_rate == pytest.approx(0.4)
    assert row.degraded_count == 2
    assert row.errors == {"TSLA": "no prices in window"}

    [record] = load_history(engine)
    assert record.started_at == result.started_at and record.started_at.tzinfo is not None
    assert (record.start, record.end, record.tickers) == (result.start, result.end, ["AAPL", "NVDA"])
    assert sorted(record.signals, key=lambda s: (s.ticker, s.analyst)) == sorted(
        result.signals, key=lambda s: (s.ticker, s.analyst)
    )
    assert record.orders == result.orders


def test_a_failure_mid_write_leaves_no_row_of_the_run(engine: Engine) -> None:
    # The runs and signals inserts succeed, then an order breaks the quantity >= 0 constraint.
    bad = Order.model_construct(ticker="AAPL", action="buy", quantity=-5, confidence=50.0, reasoning="bad")
    with pytest.raises(IntegrityError):
        persist_run(engine, make_result(orders=[bad]))
    assert counts(engine, "run-1") == (0, 0, 0)


def test_a_failed_replace_keeps_the_stored_copy(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    persist_run(engine, make_result())
    real_insert = store.insert

    def failing_insert(table: object) -> object:
        if table is OrderRow:  # after the deletes and the runs and signals inserts of the replacement
            raise RuntimeError("disk full")
        return real_insert(table)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "insert", failing_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        persist_run(engine, make_result(tickers=("NVDA",)))
    monkeypatch.undo()
    assert counts(engine, "run-1") == (1, 4, 2)


def test_persisting_twice_keeps_one_copy_and_the_last_wins(engine: Engine) -> None:
    assert persist_run(engine, make_result()) is True
    assert persist_run(engine, make_result()) is False
    assert counts(engine, "run-1") == (1, 4, 2)

    one_order = [Order(ticker="NVDA", action="short", quantity=3, confidence=80.0, reasoning="rewritten")]
    assert persist_run(engine, make_result(tickers=("NVDA",), orders=one_order)) is False
    assert counts(engine, "run-1") == (1, 2, 1)
    [record] = load_history(engine)
    assert record.tickers == ["NVDA"] and record.orders == one_order


def test_history_filters_by_ticker_newest_first_and_limits(engine: Engine) -> None:
    day = dt.datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    persist_run(engine, make_result("old", ("AAPL",), day))
    persist_run(engine, make_result("new", ("AAPL", "NVDA"), day + dt.timedelta(days=1)))
    persist_run(engine, make_result("other", ("TSLA",), day + dt.timedelta(hours=1)))

    assert [r.run_id for r in load_history(engine)] == ["new", "other", "old"]
    assert [r.run_id for r in load_history(engine, ticker="aapl")] == ["new", "old"]
    assert [r.run_id for r in load_history(engine, ticker="NVDA")] == ["new"]
    assert [r.run_id for r in load_history(engine, limit=1)] == ["new"]
    assert load_history(engine, ticker="MSFT") == [] and load_history(engine, limit=0) == []


def test_history_text_shows_the_run_its_order_and_signals(engine: Engine) -> None:
    persist_run(engine, make_result())
    table = render_history(load_history(engine))
    lines = table.splitlines()
    assert lines[0].split() == ["RUN", "ID", "STARTED", "(UTC)", "STATUS", "MODEL", "TICKERS", "COST", "USD"]
    assert "run-1" in lines[2] and "2025-06-02 14:30" in lines[2] and "AAPL,NVDA" in lines[2]
    assert any("order" in line and "AAPL" in line and "buy" in line and "12" in line for line in lines)
    assert any("signals" in line and "AAPL" in line and "1 bullish, 1 bearish, 0 neutral" in line for line in lines)
    assert any("TSLA: no prices in window" in line for line in lines)
    assert render_history([]) == "No runs recorded."


def test_history_command_reads_the_configured_database(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(store.DATABASE_URL_ENV, database)
    assert "No runs recorded for AAPL" in history_command("AAPL", 20, as_json=False)  # creates the schema
    engine = make_engine(database)
    persist_run(engine, make_result())
    engine.dispose()

    text_out = history_command("AAPL", 20, as_json=False)
    assert "run-1" in text_out and "AAPL" in text_out and "buy" in text_out
    runs = json.loads(history_command(None, 20, as_json=True))
    assert [r["run_id"] for r in runs] == ["run-1"]
    assert {o["ticker"]: o["action"] for o in runs[0]["orders"]} == {"AAPL": "buy", "NVDA": "hold"}
    assert len(runs[0]["signals"]) == 4 and runs[0]["signals"][0]["usage"]["input_tokens"] in (0, 900)
    assert json.loads(history_command("MSFT", 20, as_json=True)) == []


def test_migrations_upgrade_and_downgrade_an_empty_database(database: str) -> None:
    engine = make_engine(database)
    try:
        upgrade(engine)
        assert TABLES <= set(inspect(engine).get_table_names())
        assert {ix["name"] for ix in inspect(engine).get_indexes("signals")} >= {"ix_signals_ticker"}
        assert {ix["name"] for ix in inspect(engine).get_indexes("runs")} >= {"ix_runs_started_at"}
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": store.VERSION_TABLE})
            assert context.get_current_revision() == "0001"
            assert compare_metadata(context, store.StoreBase.metadata) == []  # models and migrations agree
        downgrade(engine)
        assert not TABLES & set(inspect(engine).get_table_names())
        ensure_schema(engine)  # the downgrade forgot "at head", so this migrates again
        assert TABLES <= set(inspect(engine).get_table_names())
        ensure_schema(engine)  # cheap and harmless at head
    finally:
        engine.dispose()


def test_head_revision_is_alembics_head() -> None:
    """The constant that lets a process skip Alembic must move with every new migration."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(store.alembic_config()).get_current_head() == store.HEAD_REVISION


def test_a_database_at_head_is_not_migrated_again_by_a_new_process(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(database)
    try:
        upgrade(engine)
        monkeypatch.setattr(store, "_at_head", set())  # a new process: nothing known yet

        def migrate(*args: object, **kwargs: object) -> None:
            raise AssertionError("Alembic ran on a database already at head")

        monkeypatch.setattr(store, "_migrate", migrate)
        ensure_schema(engine)
        with engine.begin() as connection:  # a database a revision behind is migrated
            connection.execute(text(f"UPDATE {store.VERSION_TABLE} SET version_num = 'older'"))
        monkeypatch.setattr(store, "_at_head", set())
        with pytest.raises(AssertionError, match="Alembic ran"):
            ensure_schema(engine)
    finally:
        engine.dispose()


def test_database_url_defaults_to_sqlite_in_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEDGEFLOW_HOME", str(tmp_path))
    monkeypatch.delenv(store.DATABASE_URL_ENV, raising=False)
    assert store.database_url() == f"sqlite:///{tmp_path}/hedgeflow.db"
    monkeypatch.setenv(store.DATABASE_URL_ENV, "postgresql+psycopg://u:pw@db:5432/hf")
    assert store.database_url() == "postgresql+psycopg://u:pw@db:5432/hf"
    assert store.safe_url(store.database_url()) == "postgresql+psycopg://u:***@db:5432/hf"


def test_engines_ping_and_postgres_pools_are_bounded(tmp_path: Path) -> None:
    sqlite = make_engine(f"sqlite:///{tmp_path}/x.db")
    postgres = make_engine("postgresql://u:pw@127.0.0.1:1/hf")  # nothing connects until used
    assert postgres.url.drivername == "postgresql+psycopg"  # psycopg 3, whatever the URL says
    assert sqlite.pool._pre_ping and postgres.pool._pre_ping  # type: ignore[attr-defined]
    assert postgres.pool.size() == 5  # type: ignore[attr-defined]
    sqlite.dispose()
    postgres.dispose()


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/fk.db")
    ensure_schema(engine)
    row = store.order_rows(make_result("ghost"))[0]
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(store.insert(OrderRow), [row])
    engine.dispose()


def test_times_are_stored_as_utc_instants(engine: Engine) -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    persist_run(engine, make_result(started_at=dt.datetime(2025, 6, 2, 16, 30, tzinfo=paris)))
    [record] = load_history(engine)
    assert record.started_at == dt.datetime(2025, 6, 2, 14, 30, tzinfo=UTC)
    assert record.started_at.utcoffset() == dt.timedelta(0)


def test_the_store_and_history_do_not_import_prefect() -> None:
    code = (
        "import sys, hedgeflow.store, hedgeflow.history\n"
        "sys.exit(any(m.split('.')[0] == 'prefect' for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
