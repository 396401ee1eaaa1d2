"""The phases both flows share, fanned out on the flow's task runner: snapshots, then the committee.

Orchestration only: which tasks are mapped or submitted, with which cache
options, and what the flow waits for. Every task runs on the task runner the
flow declares (or a deployment swaps in), so the same code runs on threads or
on Dask worker processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext, SyncClientContext, TagsContext
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote, unmapped

from blocks.breaker import redis_reported
from blocks.cache import CacheBackend
from hedgeflow.schemas import AgentSignal, CacheStats, Snapshot
from tasks.analyst import analyst_signal
from tasks.caching import cache_backend, cache_options, cache_stats
from tasks.decide import decide_orders
from tasks.fetch import ticker_snapshot
from tasks.model_calls import ModelSetup
from tasks.progress import Progress

__all__ = ["TASKS_IN_FLIGHT", "Committee", "large", "outcome", "settle", "shared_api_client", "untagged"]

# The default runner's threads: every analyst of the seven bundled companies (7 x 19) at once,
# with room for the risk, portfolio and persist tasks. Redis pools are sized above it (blocks.redis_pool).
TASKS_IN_FLIGHT = 7 * 19 + 27


def large(value: Any) -> Any:
    """``quote(value)`` on the thread pool, so Prefect does not walk a snapshot's every price for futures.

    Other runners get the value as is: Dask rebuilds tuple subclasses as
    ``type(t)(items)``, which turns a quote (a 1-tuple) into a tuple holding a tuple.
    """
    context = FlowRunContext.get()
    return quote(value) if context is not None and isinstance(context.task_runner, ThreadPoolTaskRunner) else value


def shared_api_client() -> AbstractContextManager[SyncClientContext]:
    """One Prefect API client for every task run the flow submits to a thread pool.

    Each task run copies the flow's context; without a client in it, every run
    in a pool thread builds its own (an SSL context each: most of a task run's
    cost here, measured). Processes (Dask) build one per task run regardless.
    """
    return SyncClientContext.get_or_create()


def untagged() -> AbstractContextManager[TagsContext]:
    """Task runs submitted inside carry no tags (the flow run keeps its own).

    Prefect asks the API for a concurrency slot per tag before every tagged
    task run (tag concurrency limits): one round trip per task run for the
    tags ``hedgeflow analyze`` puts on its flow run. A deployment's runs never
    passed their tags on to task runs either.
    """
    return TagsContext(current_tags=set())


async def settle(futures: Sequence[PrefectFuture[Any]],
                 on_each: Callable[[int], Awaitable[None]] | None = None) -> list[State[Any]]:
    """Every future's final state, waited for off the event loop; ``on_each(index)`` after each one finishes."""
    if not futures:
        return []
    loop = asyncio.get_running_loop()
    finished: asyncio.Queue[BaseException | int] = asyncio.Queue()
    index = {id(future): i for i, future in enumerate(futures)}

    def watch() -> None:
        try:
            for future in as_completed(list(futures)):
                future.wait()  # done already: this records its final state
                loop.call_soon_threadsafe(finished.put_nowait, index[id(future)])
        except BaseException as exc:  # noqa: BLE001 - handed to the flow, which raises it
            loop.call_soon_threadsafe(finished.put_nowait, exc)

    watcher = loop.run_in_executor(None, watch)
    for _ in futures:
        done = await finished.get()
        if isinstance(done, BaseException):
            raise done
        if on_each is not None:
            await on_each(done)
    await watcher
    return [future.state for future in futures]


async def outcome(state: State[Any]) -> tuple[Any, str | None]:
    """(result, None) for a completed task run; (None, why) otherwise."""
    if state.is_completed():
        return await state.aresult(), None
    error = await state.aresult(raise_on_failure=False)
    return None, f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(state.message)


@dataclass
class Committee:
    """One window's cached tasks; every cacheable task state is kept for the hit rate.

    ``errors``: ticker -> why it has no snapshot; ``analyst_errors``: ticker/analyst -> why no signal;
    ``data_gaps``: ticker/dataset -> why an optional dataset is missing; ``cached``: (ticker, analyst)
    pairs whose signal came from the cache.
    """

    provider: str
    start: dt.date
    end: dt.date
    refresh: bool = False
    cacheable: list[State[Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    analyst_errors: dict[str, str] = field(default_factory=dict)
    data_gaps: dict[str, str] = field(default_factory=dict)
    cached: set[tuple[str, str]] = field(default_factory=set)
    backend: CacheBackend = field(init=False)

    async def prepare(self) -> None:
        self.backend = backend = await cache_backend()
        if backend.notice:  # one warning for the cache and the breaker, which share the Redis
            redis_reported(backend.notice.rsplit(": ", 1)[0])
            get_run_logger().warning("%s (the circuit breaker too)", backend.notice)
        self._snapshot = ticker_snapshot.with_options(**cache_options("snapshot", backend, self.refresh, end=self.end))
        self._analyst = analyst_signal.with_options(**cache_options("analyst", backend, self.refresh))
        self.decide = decide_orders.with_options(**cache_options("portfolio", backend, self.refresh))

    async def snapshots(self, tickers: list[str]) -> list[Snapshot]:
        """One task run per ticker fetches its datasets at once and assembles its Snapshot; a failing ticker fails alone."""
        futures = self._snapshot.map(unmapped(self.provider), tickers, unmapped(self.start), unmapped(self.end))
        snapshots: list[Snapshot] = []
        for ticker, state in zip(tickers, await settle(futures)):
            self.cacheable.append(state)
            value, why = await outcome(state)
            if why:
                self.errors[ticker] = f"fetching its data failed: {why}"
                continue
            snapshot, gaps = value
            for dataset, gap in gaps.items():
                self.data_gaps[f"{ticker}/{dataset}"] = gap
            snapshots.append(snapshot)
        return snapshots

    async def signals(self, snapshots: list[Snapshot], keys: list[str], model: str,
                      setup: ModelSetup) -> list[AgentSignal]:
        """Every (analyst x ticker) mapped at once; the progress artifact counts them as they finish."""
        pairs = [(snap, key) for snap in snapshots for key in keys]
        progress = Progress(len(pairs))
        await progress.start()
        futures = self._analyst.map(
            [key for _, key in pairs], large([snap for snap, _ in pairs]), unmapped(model), unmapped(large(setup))
        )
        states = await settle(futures, lambda i: progress.step(pairs[i][0].ticker))
        self.cacheable.extend(states)
        signals: list[AgentSignal] = []
        for (snap, key), state in zip(pairs, states):
            signal, why = await outcome(state)
            if why:
                self.analyst_errors[f"{snap.ticker}/{key}"] = why
            else:
                signals.append(signal)
                if state.name == "Cached":
                    self.cached.add((snap.ticker, key))
        return signals

    def cache(self) -> CacheStats:
        return cache_stats(self.cacheable)
