"""The task runner is swappable: the flow on Dask worker processes gives what the default thread pool gives.

Also the shared services under the flow's full concurrency: seven tickers
(133 analyst task runs at once) with the cache, keys and locks in Redis.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from hedgeflow.schemas import RunResult
from tests.flowkit import run_flow

END = dt.date(2025, 10, 8)
FEW = ["technicals", "fundamentals", "valuation", "warren_buffett"]
SEVEN = ["AAPL", "NVDA", "GOOGL", "TSLA", "META", "BRK-B", "V"]


def _decisions(result: RunResult) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    signals = sorted((s.analyst, s.ticker, s.signal, s.confidence, s.reasoning, s.source) for s in result.signals)
    return signals, [o.model_dump() for o in result.orders]


@pytest.mark.slow
def test_a_dask_cluster_of_processes_gives_the_same_signals_and_orders(cold_cache: None) -> None:
    from prefect_dask import DaskTaskRunner

    from flows.hedge_fund import hedge_fund

    threads = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END, analysts=FEW, persist=False)
    dask = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "processes": True, "threads_per_worker": 4,
                                          "dashboard_address": None})
    on_dask = run_flow(hedge_fund.with_options(task_runner=dask), tickers=["AAPL", "NVDA"], end=END,
                       analysts=FEW, persist=False, refresh=True)
    assert not on_dask.errors and len(on_dask.signals) == 8
    assert _decisions(on_dask) == _decisions(threads)
    assert on_dask.cache.hits == 0 and on_dask.cache.lookups == 2 + 8  # refresh: every snapshot (one per ticker) and analyst ran


@pytest.fixture
def redis_home(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HEDGEFLOW_REDIS_URL", redis_url)
    yield redis_url


@pytest.mark.slow
@pytest.mark.redis
def test_seven_tickers_with_redis_run_every_analyst_at_once(cold_cache: None, redis_home: str) -> None:
    """Issue 17: 133 task runs in flight once ran redis-py's pool of 100 dry (MaxConnectionsError)."""
    from flows.hedge_fund import hedge_fund

    # refresh: every task computes, locks its key and writes its result, without deleting shared keys
    result = run_flow(hedge_fund, tickers=SEVEN, end=END, persist=False, refresh=True)
    assert not result.errors and len(result.signals) == 133
    assert result.cache.lookups == 7 + 133 and result.cache.hits == 0
    again = run_flow(hedge_fund, tickers=SEVEN, end=END, persist=False)
    assert again.cache.hit_rate == 1.0 and _decisions(again) == _decisions(result)


def test_lock_managers_serve_any_event_loop_and_thread(redis_url: str, tmp_path: Any) -> None:
    """prefect-redis bound its async client to the first loop: "Lock ... is bound to a different event loop"."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from blocks.locking import AtomicFileLockManager
    from blocks.redis_locking import ExpiringRedisLockManager

    prefix = f"hf-test-{uuid.uuid4().hex[:8]}"
    for manager in (ExpiringRedisLockManager(connection_url=f"{redis_url.rstrip('/')}/2"),
                    AtomicFileLockManager(lock_files_directory=tmp_path)):

        async def take_and_release(key: str, manager: Any = manager) -> bool:
            taken = await manager.aacquire_lock(key, holder=key, hold_timeout=10)
            held = manager.is_lock_holder(key, key)
            manager.release_lock(key, key)
            return taken and held and not manager.is_locked(key)

        results = [asyncio.run(take_and_release(f"{prefix}-loop-{i}")) for i in range(3)]  # a new loop each time
        with ThreadPoolExecutor(8) as pool:
            results += pool.map(lambda i: asyncio.run(take_and_release(f"{prefix}-thread-{i}")), range(16))
        assert all(results)
