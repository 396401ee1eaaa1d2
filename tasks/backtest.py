"""Thin backtest tasks: the committee as of a date, plan, simulate and summarise, publish, persist.

``committee_task`` is the per-date work: one task run evaluates every analyst
on every ticker as of its date, reading and writing the analyst task's own
cache records (tasks/analyst.py: same keys, same result storage), so an
``analyze`` of that date, or an overlapping backtest, reuses each signal. The
task itself is cached per (tickers, date, analysts, model): a re-run of the
same backtest reads one record per date. The tasks after it have large inputs
and results cheap to recompute, so they are not cached.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
from pathlib import Path
from typing import Any, cast

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.results import ResultStore, default_cache, get_result_store
from prefect.transactions import get_transaction
from prefect.utilities.asyncutils import run_coro_as_sync

from blocks.cache import MEMORY, CacheBackend
from hedgeflow.analysts.registry import analyst_version
from hedgeflow.backtest.chart import equity_png
from hedgeflow.backtest.committee import DateCommittee, committee_as_of
from hedgeflow.backtest.models import BacktestRequest, BacktestResult
from hedgeflow.backtest.plan import BacktestPlan, plan_backtest
from hedgeflow.backtest.storage import save_result
from hedgeflow.backtest.summary import (
    assemble_result,
    metrics_markdown,
    scorecard_markdown,
)
from hedgeflow.schemas import AgentSignal, CacheStats, Price, Snapshot
from tasks.analyst import analyst_signal
from tasks.caching import analyst_cache_key, cache_backend, cache_options
from tasks.fetch import provider_named
from tasks.retrying import retry_options

__all__ = ["chart_task", "committee_cache_stats", "committee_options", "committee_task", "persist_backtest", "plan_task",
           "publish_backtest_artifacts", "result_task"]

UNCACHED: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


def _analyst_store(refresh: bool) -> ResultStore:
    """The result store the analyst task of this process's cache backend reads and writes (Prefect's own)."""
    backend = run_coro_as_sync(cache_backend())
    analyst = analyst_signal.with_options(**cache_options("analyst", backend, refresh))
    store = cast(ResultStore, get_result_store().update_for_task(analyst, _sync=True))  # type: ignore[call-arg]
    # its own record cache: a copy shares the parent's LRU, which concurrent task runs would corrupt
    return store.model_copy(update={"cache_result_in_memory": False, "cache": default_cache()})


def _served_from_memory(record: str) -> bool:
    """Module level, not in the task's body: a task's function pickles by value for Dask, and MEMORY holds a lock."""
    return MEMORY.served.get(record) == "memory"


def committee_options(backend: CacheBackend, refresh: bool, analysts: list[str], end: dt.date) -> dict[str, Any]:
    """``committee_task``'s cache options; each analyst's code version is hashed here, once, before threads ask."""
    for key in analysts:
        analyst_version(key)  # parses sources with ``ast``: many pool threads at once would repeat it
    return cache_options("backtest", backend, refresh, "prices", end)


@task(name="backtest-committee", task_run_name="committee-{day}", **retry_options())
def committee_task(provider: str, tickers: list[str], day: dt.date, analysts: list[str], model: str,
                   refresh: bool = False) -> DateCommittee:
    """Every analyst on every ticker as of ``day`` (hedgeflow.backtest.committee); a result with errors is not cached."""
    store = _analyst_store(refresh)

    def key(analyst: str, snapshot: Snapshot) -> str:
        return analyst_cache_key(None, {"analyst": analyst, "snapshot": snapshot, "model": model})

    memory: list[str] = []

    def lookup(record: str) -> AgentSignal | None:
        if refresh or not store.exists(record):
            return None
        found: AgentSignal = store.read(record).result
        if _served_from_memory(record):
            memory.append(record)
        return found

    def write(record: str, signal: AgentSignal) -> None:
        with contextlib.suppress(RuntimeError):  # another run holds the key's lock: it writes the same signal
            store.write(signal, key=record)

    done = committee_as_of(provider_named(provider), tickers, day, analysts, model, key, lookup, write)
    done.memory_hits = len(memory)
    if done.errors and (transaction := get_transaction()) is not None:
        transaction.write_on_commit = False  # a failure is retried by the next run, not remembered
    return done


def committee_cache_stats(runs: list[tuple[State[Any], DateCommittee]]) -> CacheStats:
    """A cached date counts each of its signals as a hit (in the tier that served the record); else its own lookups."""
    stats = CacheStats()
    for state, done in runs:
        if state.name != "Cached":
            stats += CacheStats(lookups=done.lookups, hits=done.hits, memory_hits=done.memory_hits,
                                storage_hits=done.hits - done.memory_hits)
            continue
        served = len(done.signals) + sum(len(keys) for _, keys in done.pending)
        metadata = getattr(state.data, "metadata", None)
        path = Path(getattr(metadata, "storage_key", None) or "").name
        tier = {"memory_hits": served} if MEMORY.served.get(path) == "memory" else {"storage_hits": served}
        stats += CacheStats(lookups=served, hits=served, **tier)
    return stats


@task(name="backtest-plan", **UNCACHED)
def plan_task(request: BacktestRequest, analysts: list[str], prices: dict[str, list[Price]]) -> BacktestPlan:
    return plan_backtest(request, analysts, prices)


@task(name="backtest-book")
def result_task(**parts: Any) -> BacktestResult:
    """Simulate the book, then metrics and the scorecard (hedgeflow.backtest.summary.assemble_result).

    Cached with ``cache_options("backtest-book", ...)``: a hit carries the run fields of the run that wrote it.
    """
    return assemble_result(**parts)


@task(name="backtest-artifacts", **UNCACHED)
def publish_backtest_artifacts(result: BacktestResult, png: bytes | None) -> None:
    create_markdown_artifact(key="backtest-metrics", markdown=metrics_markdown(result),
                             description=f"Backtest {result.run_id}: {result.status}")
    create_markdown_artifact(key="backtest-scorecard", markdown=scorecard_markdown(result.scorecard),
                             description="Each analyst's signals against forward returns")
    if png is not None:
        image = base64.b64encode(png).decode()
        create_markdown_artifact(key="backtest-equity", markdown=f"![equity and drawdown](data:image/png;base64,{image})",
                                 description="Equity against the benchmark, and the drawdown")


@task(name="backtest-chart")
def chart_task(result: BacktestResult) -> bytes | None:
    return equity_png(result) if len(result.equity_curve) > 1 else None


@task(name="backtest-persist", **UNCACHED)
def persist_backtest(result: BacktestResult, png: bytes | None, directory: str | None = None) -> str:
    """The result as JSON under the data directory (PNG beside it); returns the JSON path."""
    return str(save_result(result, png, Path(directory) if directory else None))
