"""The stages both flows share: fetch one Snapshot per ticker, then run the committee on them.

Orchestration only: which task runs when, with which cache options.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger
from prefect.states import State
from prefect.utilities.annotations import quote

from hedgeflow.schemas import AgentSignal, CacheStats, ModelUsage, Order, Portfolio, PositionLimit, Snapshot
from tasks.analyst import analyst_signal
from blocks.cache import CacheBackend
from tasks.caching import cache_backend, cache_options, cache_stats
from tasks.decide import decide_orders
from tasks.fetch import DATASETS, assemble_snapshot_task, fetch_dataset
from tasks.progress import Progress

__all__ = ["Stages", "outcome"]


async def outcome(state: State[Any]) -> tuple[Any, str | None]:
    """(result, None) for a completed task run, or a failed one's fallback; (None, why) otherwise."""
    if state.is_completed():
        return await state.result(), None
    error = await state.result(raise_on_failure=False)
    if (fallback := getattr(error, "fallback", None)) is not None:
        return fallback, None
    return None, f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(state.message)


@dataclass
class Stages:
    """One run's cached tasks; every cacheable task state is kept for the hit rate."""

    provider: str
    start: dt.date
    end: dt.date
    refresh: bool = False
    cacheable: list[State[Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    backend: CacheBackend = field(init=False)

    async def prepare(self) -> None:
        self.backend = backend = await cache_backend()
        if backend.notice:
            get_run_logger().warning(backend.notice)
        self._fetchers = {
            ds: fetch_dataset.with_options(**cache_options("fetch", backend, self.refresh, ds, self.end))
            for ds in DATASETS
        }
        self._analyst = analyst_signal.with_options(**cache_options("analyst", backend, self.refresh))
        self.decide = decide_orders.with_options(**cache_options("portfolio", backend, self.refresh))

    async def _snapshot(self, ticker: str) -> Snapshot | None:
        states = await asyncio.gather(
            *(self._fetchers[ds](self.provider, ds, ticker, self.start, self.end, return_state=True) for ds in DATASETS)
        )
        self.cacheable.extend(states)
        datasets: dict[str, Any] = {}
        for dataset, state in zip(DATASETS, states):
            value, why = await outcome(state)
            if why:
                self.errors[ticker] = f"fetching {dataset} failed: {why}"
                return None
            datasets[dataset] = value
        state = await assemble_snapshot_task(
            ticker, self.start, self.end, self.provider, quote(datasets), return_state=True
        )
        snapshot, why = await outcome(state)
        if why:
            self.errors[ticker] = why
        return snapshot

    async def snapshots(self, tickers: list[str]) -> list[Snapshot]:
        """Every dataset of every ticker at once; a ticker that fails is recorded in ``errors`` alone."""
        fetched = await asyncio.gather(*(self._snapshot(t) for t in tickers))
        return [s for s in fetched if s is not None]

    async def committee(self, snapshots: list[Snapshot], keys: list[str], model: str) -> list[AgentSignal]:
        """Every (analyst x ticker) at once."""
        pairs = [(snap, key) for snap in snapshots for key in keys]
        progress = Progress(len(pairs))
        await progress.start()

        async def one(snap: Snapshot, key: str) -> State[Any]:
            state = await self._analyst(key, quote(snap), model, return_state=True)
            await progress.step(snap.ticker)
            return state

        states = await asyncio.gather(*(one(snap, key) for snap, key in pairs))
        self.cacheable.extend(states)
        signals: list[AgentSignal] = []
        for (snap, key), state in zip(pairs, states):
            signal, why = await outcome(state)
            if why:
                self.errors[f"{snap.ticker}/{key}"] = why
            else:
                signals.append(signal)
        return signals

    async def decide_orders(
        self, signals: list[AgentSignal], limits: list[PositionLimit], portfolio: Portfolio, model: str
    ) -> tuple[list[Order], ModelUsage]:
        state = await self.decide(quote(signals), quote(limits), portfolio, model, return_state=True)
        decision, why = await outcome(state)
        if why:
            raise RuntimeError(f"the portfolio manager failed: {why}")
        return decision  # type: ignore[no-any-return]

    def cache(self) -> CacheStats:
        return cache_stats(self.cacheable)
