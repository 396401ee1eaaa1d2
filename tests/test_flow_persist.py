"""The flow writes every run: SQLite with no set-up, PostgreSQL through a block, nothing lost when it is down."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.flowkit import cold_cache, prefect_server, run_flow  # noqa: F401 - fixtures

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


def test_a_database_that_stays_down_fails_the_run_and_keeps_the_result(cold_cache: None) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from blocks.database import HedgeflowDatabase
    from flows.hedge_fund import hedge_fund
    from hedgeflow.schemas import RunResult

    HedgeflowDatabase(url=SecretStr("postgresql+psycopg://hf:s3cret-pw@127.0.0.1:1/none")).save("down", overwrite=True)
    state = asyncio.run(hedge_fund(tickers=["V"], end=END, analysts=FEW, database_block="down", return_state=True))
    assert state.is_failed()
    assert "could not persist run" in str(state.message) and "s3cret-pw" not in str(state.message)

    async def kept() -> RunResult:
        async with get_client() as client:
            for _ in range(50):  # task runs reach the server as events: wait for them
                runs = await client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
                )
                found = [r for r in runs if r.name.startswith("result") and r.state and r.state.is_completed()]
                if found:
                    return await found[0].state.result()  # type: ignore[union-attr, no-any-return]
                await asyncio.sleep(0.2)
        raise AssertionError("the result task run never reached the server")

    result = asyncio.run(kept())
    assert result.run_id == str(state.state_details.flow_run_id) and len(result.signals) == 2
