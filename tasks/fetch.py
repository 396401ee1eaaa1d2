"""Fetch tasks: one per (dataset, ticker), so each dataset is fetched once and cached on its own."""

from __future__ import annotations

import datetime as dt
import threading
import time
from functools import cache
from typing import Any, Literal

from prefect import task

from hedgeflow.data import DataProvider
from hedgeflow.errors import TransientDataError
from hedgeflow.data.snapshot import (
    LINE_ITEM_HISTORY,
    METRICS_HISTORY,
    QUARTERS_HISTORY,
    assemble_snapshot,
    price_history_start,
)
from hedgeflow.schemas import Snapshot
from tasks.limits import data_api, provider_limits
from tasks.live_data import build_provider
from tasks.retrying import retry_options, wait_retry_after

__all__ = ["DATASETS", "Dataset", "assemble_snapshot_task", "available_tickers", "fetch_dataset", "provider_named", "reset_providers"]

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


TICKER_LIST_TTL_S = 300.0
_TICKERS: dict[str, tuple[float, dict[str, tuple[dt.date, dt.date]]]] = {}


_PROVIDER_LOCK = threading.Lock()


@cache
def _provider(name: str) -> DataProvider:
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


@task(name="tickers", **retry_options())
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
