"""The hedge_fund flow: fetch once, analyse many, then risk, then portfolio.

An async flow: every task run of a phase is in flight at once on one event
loop (measured faster than a thread-pool task runner here), and it avoids the
sync engine's one-second heartbeat join at the end of a run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import State

from hedgeflow.analysts.registry import resolve_analysts
from hedgeflow.request import validate_request
from hedgeflow.results import build_result
from hedgeflow.schemas import AgentSignal, Portfolio, RunRequest, RunResult, Snapshot
from tasks.analyst import analyst_signal
from tasks.caching import cache_backend, cache_options, cache_stats
from tasks.decide import decide_orders, risk_limits
from tasks.fetch import DATASETS, assemble_snapshot_task, fetch_dataset, provider_named
from tasks.report import publish_artifacts

__all__ = ["hedge_fund", "run_name"]


def run_name() -> str:
    params = flow_run.parameters or {}
    tickers = ",".join(params.get("tickers") or [])
    return f"{tickers} to {params.get('end') or 'latest'} ({params.get('model', 'rules')})"


async def _outcome(state: State[Any]) -> tuple[Any, str | None]:
    """(result, None) for a completed task run, (None, why) otherwise."""
    if state.is_completed():
        return await state.result(), None
    error = await state.result(raise_on_failure=False)
    return None, f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(state.message)


async def _snapshot(
    ticker: str, start: dt.date, end: dt.date, provider: str, fetchers: dict[str, Any], seen: list[State[Any]]
) -> tuple[Snapshot | None, str | None]:
    states = await asyncio.gather(
        *(fetchers[ds](provider, ds, ticker, start, end, return_state=True) for ds in DATASETS)
    )
    seen.extend(states)
    datasets: dict[str, Any] = {}
    for dataset, state in zip(DATASETS, states):
        value, why = await _outcome(state)
        if why:
            return None, f"fetching {dataset} failed: {why}"
        datasets[dataset] = value
    return await _outcome(await assemble_snapshot_task(ticker, start, end, provider, datasets, return_state=True))


@flow(name="hedge-fund", flow_run_name=run_name, log_prints=False)
async def hedge_fund(
    tickers: list[str],
    start: dt.date | None = None,
    end: dt.date | None = None,
    analysts: list[str] | None = None,
    model: str = "rules",
    portfolio: Portfolio | None = None,
    refresh: bool = False,
    data_provider: str = "offline",
) -> RunResult:
    """Analyse ``tickers`` with the committee and decide orders.

    Args:
        tickers: Tickers to analyse, e.g. ["AAPL", "NVDA"].
        start: First date of the window; default three months before end.
        end: As-of date; default the latest date the data has.
        analysts: Analyst keys; empty for the whole committee of 19.
        model: rules, anthropic:<model>, openai:<model> or openai-compatible:<model>@<base_url>.
        portfolio: Cash, margin requirement and positions; default 100,000 cash.
        refresh: Recompute and rewrite cached results.
        data_provider: offline (bundled data) or financialdatasets.
    """
    started_at = dt.datetime.now(dt.timezone.utc)
    request = RunRequest(
        tickers=tickers, start=start, end=end, analysts=analysts, model=model,
        portfolio=portfolio or Portfolio(), refresh=refresh,
    )
    start, end = validate_request(request, provider_named(data_provider).tickers())
    keys = resolve_analysts(request.analysts)
    backend = await cache_backend()
    if backend.notice:
        get_run_logger().warning(backend.notice)
    fetchers = {ds: fetch_dataset.with_options(**cache_options("fetch", backend, refresh, ds, end)) for ds in DATASETS}
    analyst = analyst_signal.with_options(**cache_options("analyst", backend, refresh))
    cacheable: list[State[Any]] = []

    fetched = await asyncio.gather(
        *(_snapshot(t, start, end, data_provider, fetchers, cacheable) for t in request.tickers)
    )
    errors = {t: why for t, (_, why) in zip(request.tickers, fetched) if why}
    snapshots = [snap for snap, _ in fetched if snap is not None]

    limits_state, *signal_states = await asyncio.gather(
        risk_limits(snapshots, request.portfolio, return_state=True),
        *(analyst(key, snap, request.model, return_state=True) for snap in snapshots for key in keys),
    )
    cacheable.extend(signal_states)
    signals: list[AgentSignal] = []
    for (snap, key), state in zip(((s, k) for s in snapshots for k in keys), signal_states):
        signal, why = await _outcome(state)
        if why:
            errors[f"{snap.ticker}/{key}"] = why
        else:
            signals.append(signal)
    limits = await limits_state.result()
    orders, pm_usage = await decide_orders(signals, limits, request.portfolio, request.model)

    result = build_result(
        run_id=str(flow_run.id or "local"), request=request, start=start, end=end, started_at=started_at,
        signals=signals, limits=limits, orders=orders, errors=errors, pm_usage=pm_usage, cache=cache_stats(cacheable),
    )
    await publish_artifacts(result)
    return result
