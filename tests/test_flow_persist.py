"""The flow writes every run: SQLite with no set-up, PostgreSQL through a block, nothing lost when it is down."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.flowkit import run_flow

END = dt.date(2025, 10, 8)
FEW = ["technicals", "fundamentals"]


def test_every_run_lands_in_sqlite_by_default(cold_cache: None, _isolated_home: Path) -> None:
    from flows.hedge_fund import hedge_fund
    from hedgeflow.history import load_history
    from hedgeflow.store import get_engine

    result = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END, analysts=FEW)
    assert (_isolated_home / "hedgeflow.db").exists()
    (record,) = load_history(get_engine(), limit=5)
    assert record.run_id == result.run_id
    assert len(record.signals) == 4 and {o.ticker for o in record.orders} == {"AAPL", "NVDA"}


@pytest.mark.postgres
def test_a_database_block_sends_runs_to_postgres(cold_cache: None, postgres_url: str) -> None:
    from blocks.database import HedgeflowDatabase
    from flows.hedge_fund import hedge_fund
    from hedgeflow.history import load_history
    from hedgeflow.store import get_engine

    HedgeflowDatabase(url=SecretStr(postgres_url)).save("test-postgres", overwrite=True)
    result = run_flow(hedge_fund, tickers=["V"], end=END, analysts=FEW, database_block="test-postgres")
    records = load_history(get_engine(postgres_url), ticker="V", limit=50)
    assert result.run_id in {r.run_id for r in records}


def test_a_database_that_stays_down_keeps_the_result_as_json(cold_cache: None) -> None:
    from blocks.database import HedgeflowDatabase
    from flows.hedge_fund import hedge_fund
    from hedgeflow.paths import home
    from hedgeflow.schemas import RunResult

    HedgeflowDatabase(url=SecretStr("postgresql+psycopg://hf:s3cret-pw@127.0.0.1:1/none")).save("down", overwrite=True)
    result: RunResult = run_flow(hedge_fund, tickers=["V"], end=END, analysts=FEW, database_block="down")
    assert result.persist_error and "could not persist run" in result.persist_error
    assert "s3cret-pw" not in result.persist_error
    kept = home() / "unwritten" / f"{result.run_id}.json"
    assert result.saved_to == str(kept)
    assert len(RunResult.model_validate_json(kept.read_text()).signals) == 2
