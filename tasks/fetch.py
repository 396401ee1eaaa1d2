"""Fetch tasks: one per ticker for a run (``ticker_snapshot``), one per (dataset, ticker) for backtests.

``ticker_snapshot`` fetches a ticker's datasets at once and assembles its
Snapshot in one task run; each dataset is still cached on its own, under the
key ``fetch_dataset`` uses (provider, dataset, ticker, window, data version)
and with its own expiry, in the task's result store: when the snapshot is
recomputed, only the datasets that expired or are missing are fetched again.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, Literal

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.runtime import task_run
from prefect.transactions import get_transaction

from hedgeflow.cache_rules import dataset_expiry
from hedgeflow.data import DataProvider, get_provider
from hedgeflow.data.snapshot import (
    LINE_ITEM_HISTORY,
    METRICS_HISTORY,
    QUARTERS_HISTORY,
    assemble_snapshot,
    price_history_start,
)
from hedgeflow.errors import TransientDataError
from hedgeflow.retry import RETRY
from hedgeflow.schemas import Snapshot
from tasks.caching import fetch_cache_key
from tasks.limits import data_api, provider_limits
from tasks.retrying import retry_options, wait_retry_after

__all__ = ["DATASETS", "OPTIONAL_DATASETS", "Dataset", "assemble_snapshot_task", "available_tickers", "fetch_dataset",
           "provider_named", "reset_providers", "ticker_snapshot"]

Dataset = Literal["prices", "metrics", "line_items", "quarterly_line_items", "insider_trades", "news", "market_cap"]
DATASETS: tuple[Dataset, ...] = (
    "prices",
    "metrics",
    "line_items",
    "quarterly_line_items",
    "insider_trades",
    "news",
    "market_cap",
)
# Datasets a ticker is analysed without: when their fetch fails, only the analysts reading them lose that part.
OPTIONAL_DATASETS = frozenset({"insider_trades", "news"})


TICKER_LIST_TTL_S = 300.0
_TICKERS: dict[str, tuple[float, dict[str, tuple[dt.date, dt.date]]]] = {}


_PROVIDER_LOCK = threading.Lock()


@cache
def _provider(name: str) -> DataProvider:
    if name != "live" and not name.startswith("block:"):
        return get_provider(name)
    # the live provider's modules (calendars, SEC clients) load only when a run needs them
    from tasks.live_data import build_provider

    return build_provider(name)


def provider_named(name: str) -> DataProvider:
    """One provider per process and name: parsed files and HTTP pools are reused across runs.

    Built in a worker thread (loading a block, registering SEC's rate limit), once: concurrent
    first calls wait for it.
    """
    with _PROVIDER_LOCK:
        return _provider(name)


def fetch_named(provider: str, dataset: Dataset, ticker: str, start: dt.date, end: dt.date) -> Any:
    return fetch(provider_named(provider), dataset, ticker, start, end)


def fetch(provider: DataProvider, dataset: Dataset, ticker: str, start: dt.date, end: dt.date) -> Any:
    """The provider call behind each dataset."""
    if dataset == "prices":
        return provider.get_prices(ticker, price_history_start(start, end), end)
    if dataset == "metrics":
        return provider.get_financial_metrics(ticker, end, "ttm", METRICS_HISTORY)
    if dataset == "line_items":
        return provider.get_line_items(ticker, end, "annual", LINE_ITEM_HISTORY)
    if dataset == "quarterly_line_items":
        return provider.get_line_items(ticker, end, "quarterly", QUARTERS_HISTORY)
    if dataset == "insider_trades":
        return provider.get_insider_trades(ticker, start, end)
    if dataset == "news":
        return provider.get_company_news(ticker, start, end)
    return provider.get_market_cap(ticker, end)


@task(name="fetch", task_run_name="fetch-{dataset}-{ticker}", **retry_options())
def fetch_dataset(provider: str, dataset: Dataset, ticker: str, start: dt.date, end: dt.date) -> Any:
    try:
        with provider_limits(data_api(provider)):  # the data API's shared limits, where the server has them
            return fetch_named(provider, dataset, ticker, start, end)
    except TransientDataError as exc:
        wait_retry_after(exc)
        raise


def reset_providers() -> None:
    """Forget providers and ticker lists (after their configuration changed)."""
    _provider.cache_clear()
    _TICKERS.clear()


@task(name="tickers", cache_policy=NO_CACHE, **retry_options())
def available_tickers(provider: str) -> dict[str, tuple[dt.date, dt.date]]:
    """What the provider has: checked before any other work, asked at most every few minutes."""
    now = time.monotonic()
    known = _TICKERS.get(provider)
    if known is None or now - known[0] > TICKER_LIST_TTL_S:
        with provider_limits(data_api(provider)):
            known = _TICKERS[provider] = (now, provider_named(provider).tickers())
    return known[1]


@task(name="snapshot", task_run_name="snapshot-{ticker}")
def assemble_snapshot_task(
    ticker: str, start: dt.date, end: dt.date, provider: str, datasets: dict[str, Any]
) -> Snapshot:
    return assemble_snapshot(ticker=ticker, start=start, end=end, provider=provider, **datasets)


def _dataset_key(provider: str, dataset: str, ticker: str, start: dt.date, end: dt.date) -> str:
    """The key ``fetch_dataset``'s cache policy gives the same dataset: both read each other's entries."""
    return fetch_cache_key(None, {"provider": provider, "dataset": dataset, "ticker": ticker, "start": start, "end": end})


def _cached_or_fetched(provider: str, ticker: str, start: dt.date, end: dt.date) -> tuple[dict[str, Any], dict[str, BaseException]]:
    """Each dataset from the task's result store when it holds a fresh copy, else fetched, all at once."""
    context = TaskRunContext.get()
    store = context.result_store if context is not None else None
    refresh = bool(context is not None and context.task.refresh_cache)
    values: dict[str, Any] = {}
    keys = {ds: _dataset_key(provider, ds, ticker, start, end) for ds in DATASETS}
    if store is not None and not refresh:
        for ds, key in keys.items():
            if store.exists(key):
                values[ds] = store.read(key).result
    missing = [ds for ds in DATASETS if ds not in values]
    failures: dict[str, BaseException] = {}

    def one(ds: Dataset) -> None:
        try:
            with provider_limits(data_api(provider)):  # the data API's shared limits, where the server has them
                values[ds] = fetch_named(provider, ds, ticker, start, end)
        except Exception as exc:  # noqa: BLE001 - judged below: retried, a gap, or the ticker's failure
            failures[ds] = exc
            return
        if store is not None:
            expiry = dataset_expiry(ds, end)
            expires = dt.datetime.now(dt.UTC) + expiry if expiry is not None else None
            # locked by a backtest's fetch task writing the same key: it will be there
            with contextlib.suppress(RuntimeError):
                store.write(values[ds], key=keys[ds], expiration=expires)  # type: ignore[arg-type]

    if len(missing) > 1:  # each thread in a copy of the task run's context (Prefect's client, rate limits, logger)
        contexts = {ds: contextvars.copy_context() for ds in missing}
        with ThreadPoolExecutor(len(missing), thread_name_prefix=f"fetch-{ticker}") as pool:
            list(pool.map(lambda ds: contexts[ds].run(one, ds), missing))
    elif missing:
        one(missing[0])
    return values, failures


@task(name="snapshot", task_run_name="snapshot-{ticker}", **retry_options())
def ticker_snapshot(provider: str, ticker: str, start: dt.date, end: dt.date) -> tuple[Snapshot, dict[str, str]]:
    """(the ticker's Snapshot, dataset -> why it is missing): every dataset fetched at once, each cached on its own.

    A failed dataset is retried with the task while retries are left (the ones
    already fetched are read back from the cache); then an optional dataset
    (news, insider trades) is left out and named, and any other fails the
    ticker. A snapshot with a gap is not cached.
    """
    values, failures = _cached_or_fetched(provider, ticker, start, end)
    attempts_left = (task_run.run_count or 1) <= RETRY.retries
    for ds, exc in failures.items():
        if ds not in OPTIONAL_DATASETS or (attempts_left and isinstance(exc, TransientDataError)):
            if isinstance(exc, TransientDataError):
                wait_retry_after(exc)
            raise exc
    gaps = {ds: f"fetch failed: {type(exc).__name__}: {exc}" for ds, exc in failures.items()}
    if gaps and (transaction := get_transaction()) is not None:
        transaction.write_on_commit = False  # a gap is retried by the next run, not kept
    snapshot = assemble_snapshot(
        ticker=ticker, start=start, end=end, provider=provider, prices=values["prices"], metrics=values["metrics"],
        line_items=values["line_items"], quarterly_line_items=values["quarterly_line_items"],
        insider_trades=values.get("insider_trades"), news=values.get("news"), market_cap=values.get("market_cap"),
        unavailable=dict(gaps),
    )
    return snapshot, gaps
