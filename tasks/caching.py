"""Cache policies for fetch and analyst tasks, and the run's hit counts per tier.

Keys start with the ticker so ``hedgeflow cache clear --ticker T`` can find
them. SERIALIZABLE isolation takes a lock per key: two runs needing the same
key compute it once, and the other reads the result.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prefect.cache_policies import CacheKeyFnPolicy, CachePolicy
from prefect.client.schemas.objects import State
from prefect.context import TaskRunContext
from prefect.utilities.annotations import quote

from blocks.cache import MEMORY, CacheBackend, HedgeflowCache, TieredResultStorage
from hedgeflow.analysts.registry import analyst_version
from hedgeflow.cache_rules import data_version as _data_version
from hedgeflow.cache_rules import dataset_expiry, fingerprint
from hedgeflow.paths import home
from hedgeflow.schemas import CacheStats

__all__ = [
    "analyst_cache_key",
    "backtest_book_cache_key",
    "backtest_chart_cache_key",
    "backtest_committee_cache_key",
    "cache_backend",
    "cache_options",
    "cache_stats",
    "clear_cache",
    "fetch_cache_key",
    "portfolio_cache_key",
    "result_storage_name",
    "snapshot_cache_key",
]


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


_VERSION_LOCK = threading.Lock()


@functools.cache
def _data_version_once() -> str:
    return _data_version()


def data_version() -> str:
    """The data layer's code version, hashed once per process (its sources do not change under a run).

    Under a lock: it parses sources with ``ast``, which is not safe from many
    threads at once; ``cache_options`` computes it before any task runs.
    """
    with _VERSION_LOCK:
        return _data_version_once()


def fetch_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    """(provider, dataset, ticker, as-of window, the data layer's code version)."""
    p = parameters
    digest = _digest(p['provider'], p['dataset'], p['start'], p['end'], data_version())
    return f"{p['ticker']}-fetch-{p['dataset']}-{digest}"


def snapshot_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    """(provider, ticker, as-of window, the data layer's code version); its datasets are cached on their own too."""
    p = parameters
    return f"{p['ticker']}-snapshot-{_digest(p['provider'], p['start'], p['end'], data_version())}"


def analyst_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    """(analyst, its code version, ticker, window, model, snapshot fingerprint)."""
    snapshot = parameters["snapshot"]
    if isinstance(snapshot, quote):
        snapshot = snapshot.unquote()
    analyst = parameters["analyst"]
    version = analyst_version(analyst)
    digest = _digest(analyst, version, snapshot.start, snapshot.end, parameters["model"], snapshot.fingerprint or fingerprint(snapshot))
    return f"{snapshot.ticker}-analyst-{analyst}-{digest}"


def backtest_committee_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    """(provider, tickers, as-of window, each analyst and its code version, model, the data layer's code version).

    The backtest's per-date task: a re-run answers from one record per date; its
    signals are also written under ``analyst_cache_key``, which ``analyze`` reads.
    """
    p = parameters
    tickers = "-".join(sorted(p["tickers"]))
    analysts = [(key, analyst_version(key)) for key in p["analysts"]]
    digest = _digest(p["provider"], p["tickers"], p["day"], p["analysts"], analysts, p["model"], data_version())
    return f"{tickers[:80]}-backtest-{digest}"


def backtest_book_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    """(request, dates decided, every signal's view, errors, stop, the data layer's code version): not the run's
    id, start, spend or hits, which the flow stamps on the result afterwards."""
    p = parameters.get("parts", parameters)  # the book task takes its inputs as keyword arguments
    request = p["request"]
    signals = sorted((s.as_of, s.ticker, s.analyst, s.signal, s.confidence, s.degraded)
                     for s in (p["signals"].unquote() if isinstance(p["signals"], quote) else p["signals"]))
    digest = _digest(request.model_dump_json(), p["decided"], signals, sorted(p["errors"].items()),
                     p.get("stopped_reason"), data_version())
    return f"{'-'.join(sorted(request.tickers))[:80]}-backtest-book-{digest}"


def backtest_chart_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    """(request, equity curve): the same curve draws the same picture."""
    result = parameters["result"]
    result = result.unquote() if isinstance(result, quote) else result
    digest = _digest(result.model_dump_json(include={"request", "equity_curve"}))
    return f"{'-'.join(sorted(result.request.tickers))[:80]}-backtest-chart-{digest}"


def result_storage_name(backend: CacheBackend) -> str:
    """The saved result storage's block name: says what it is and where; one per location, so every process agrees.

    E.g. ``hedgeflow-task-results-local-3f2a9c1e``: Prefect requires a task's
    result storage to be saved as a block, so the Blocks page lists it; the
    name tells a reader it holds cached task results and is not for editing.
    """
    storage = backend.result_storage
    where = storage.redis_url.get_secret_value() if storage.redis_url else storage.local_path
    return f"hedgeflow-task-results-{backend.tier}-{_digest(where)[:8]}"


_BACKENDS: dict[tuple[str | None, str, str], CacheBackend] = {}


async def cache_backend() -> CacheBackend:
    """The process's cache backend for HEDGEFLOW_REDIS_URL, built once per process and API.

    Prefect wants a task's result storage saved server-side; the block's name
    is derived from its settings, so every process needs the same document. It
    is loaded when the server has it as wanted (one read) and saved otherwise
    (several writes, about ten times the time).
    """
    from prefect.settings import PREFECT_API_URL

    config = HedgeflowCache.from_env()
    url = config.redis_url.get_secret_value() if config.redis_url else None
    key = (url, str(PREFECT_API_URL.value()), str(home()))
    backend = _BACKENDS.get(key)
    if backend is None:
        backend = config.backend()
        name = result_storage_name(backend)
        try:
            saved: TieredResultStorage | None = await TieredResultStorage.aload(name)
        except ValueError:  # not on this server yet
            saved = None
        wanted = backend.result_storage
        if saved is not None and all(getattr(saved, f) == getattr(wanted, f) for f in type(wanted).model_fields):
            backend.result_storage = saved  # carries the document's id, which Prefect's result records name
        else:
            await wanted.asave(name, overwrite=True)
        _BACKENDS[key] = backend
    return backend


def portfolio_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    """(signals, limits, portfolio, model): the same committee and book give the same decision."""
    def unwrap(value: Any) -> Any:
        return value.unquote() if isinstance(value, quote) else value

    signals = [s.model_dump(mode="json", exclude={"elapsed_s", "usage"}) for s in unwrap(parameters["signals"])]
    limits = [lim.model_dump(mode="json") for lim in unwrap(parameters["limits"])]
    book = unwrap(parameters["portfolio"]).model_dump(mode="json")
    tickers = "-".join(sorted({s["ticker"] for s in signals})) or "none"
    return f"{tickers[:80]}-portfolio-{_digest(signals, limits, book, parameters['model'])}"


def _policy(fn: Any, backend: CacheBackend) -> CachePolicy:
    return CacheKeyFnPolicy(cache_key_fn=fn).configure(
        key_storage=backend.key_storage, lock_manager=backend.lock_manager, isolation_level="SERIALIZABLE"
    )


def cache_options(kind: str, backend: CacheBackend, refresh: bool, dataset: str | None = None,
                  end: dt.date | None = None) -> dict[str, Any]:
    """Task options for ``with_options``: policy, storage, expiry and refresh."""
    fn = {"fetch": fetch_cache_key, "snapshot": snapshot_cache_key, "analyst": analyst_cache_key,
          "portfolio": portfolio_cache_key, "backtest": backtest_committee_cache_key,
          "backtest-book": backtest_book_cache_key, "backtest-chart": backtest_chart_cache_key}[kind]
    options: dict[str, Any] = {
        "cache_policy": _policy(fn, backend),
        "result_storage": backend.result_storage,
        "persist_result": True,
        "refresh_cache": refresh,
    }
    if kind in ("fetch", "snapshot", "backtest"):
        data_version()  # in the flow's thread, before the fetch tasks' threads ask for it
    if kind in ("fetch", "backtest") and dataset is not None and end is not None:
        options["cache_expiration"] = dataset_expiry(dataset, end)
    if kind == "snapshot" and end is not None:  # as long as its shortest-lived dataset (prices)
        options["cache_expiration"] = dataset_expiry("prices", end)
    return options


def cache_stats(states: Iterable[State[Any]]) -> CacheStats:
    """Hits among cacheable task runs, split by the tier that served each."""
    stats = CacheStats()
    for state in states:
        stats.lookups += 1
        if state.name != "Cached":
            continue
        stats.hits += 1
        metadata = getattr(state.data, "metadata", None)
        key = Path(getattr(metadata, "storage_key", None) or "").name
        if MEMORY.served.get(key) == "memory":
            stats.memory_hits += 1
        else:
            stats.storage_hits += 1
    return stats


def clear_cache(ticker: str | None = None, cache: HedgeflowCache | None = None) -> int:
    """Delete cached results (all, or one ticker's) from every tier; returns how many entries went."""
    backend = (cache or HedgeflowCache.from_env()).backend()
    prefix = f"{ticker.upper()}-" if ticker else ""
    MEMORY.clear(prefix or None)
    removed = 0
    inner = backend.result_storage.inner
    if backend.tier == "redis":
        for store in (inner, backend.key_storage):
            client = store.client()  # type: ignore[union-attr]
            keys = list(client.scan_iter(match=f"{prefix}*-*"))
            removed += client.delete(*keys) if keys else 0
        locks = backend.lock_manager.client  # type: ignore[attr-defined]
        stale = list(locks.scan_iter(match=f"lock:{prefix}*-*"))
        if stale:
            locks.delete(*stale)
        return removed
    root = Path(inner.basepath)
    for path in root.glob(f"{prefix}*-*"):
        if path.is_file():
            path.unlink()
            removed += 1
    shutil.rmtree(root / ".locks", ignore_errors=True)
    return removed
