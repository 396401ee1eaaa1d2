"""The same backtest on a Dask cluster (prefect-dask's DaskTaskRunner, a local cluster) gives identical results."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hedgeflow.backtest import BacktestResult

PARAMS = {"tickers": ["AAPL", "V"], "analysts": ["technicals", "fundamentals"], "start": dt.date(2024, 1, 1),
          "end": dt.date(2024, 4, 30), "commission_per_share": 0.005, "slippage_bps": 5.0}


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_backtest(cold_cache: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL
    from prefect_dask import DaskTaskRunner

    from blocks.cache import MEMORY
    from flows.backtest import backtest

    threads: BacktestResult = backtest(output_dir=str(tmp_path / "threads"), **PARAMS)
    MEMORY.clear()
    # worker processes inherit the environment: point them at the test server and recompute everything
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 2, "processes": True,
                                            "dashboard_address": None})
    on_dask: BacktestResult = backtest.with_options(task_runner=runner)(
        output_dir=str(tmp_path / "dask"), refresh=True, **PARAMS
    )
    assert on_dask.status == threads.status == "completed"
    assert on_dask.cache.hits == 0 and on_dask.cache.lookups == threads.cache.lookups
    assert on_dask.signals == threads.signals
    assert on_dask.trades == threads.trades
    assert on_dask.equity_curve == threads.equity_curve
    assert on_dask.metrics is not None and threads.metrics is not None
    assert on_dask.metrics.model_dump_json() == threads.metrics.model_dump_json()
