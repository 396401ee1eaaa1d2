"""The backtest flow: the committee as of every rebalance date, mapped through the task runner.

Orchestration only. One task run per rebalance date D (``committee_task``)
builds each ticker's Snapshot as ``analyze --end D`` would and answers every
analyst from the analyst task's own cache records, computing (rules model)
and writing the misses: an overlapping backtest, a re-run, or a later
``analyze`` of D computes nothing twice, and the task is itself cached per
date, so a re-run reads one record per date. With another model the misses
go to the ordinary analyst task (retries, breaker, fallback). Then one task
runs the book (fills at the next open, costs, margin), the metrics and the
scorecard; artifacts and a JSON file record it. With a model that costs
money the dates run in chronological batches and the run stops cleanly
before a batch whose estimate would pass ``max_cost_usd``.

The task runner is a thread pool; ``backtest.with_options(task_runner=DaskTaskRunner(...))``
runs the same flow on a Dask cluster (docs/backtest.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, wait
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote, unmapped
from prefect.utilities.asyncutils import run_coro_as_sync

from hedgeflow.backtest.committee import DateCommittee
from hedgeflow.backtest.models import BacktestRequest, BacktestResult, Costs
from hedgeflow.backtest.plan import (
    batch_estimate,
    batches,
    history_start,
    total_usage,
    validate_backtest,
    within_budget,
)
from hedgeflow.schemas import AgentSignal, ModelUsage, Snapshot
from tasks.analyst import analyst_signal
from tasks.backtest import (
    chart_task,
    committee_cache_stats,
    committee_options,
    committee_task,
    persist_backtest,
    plan_task,
    publish_backtest_artifacts,
    result_task,
)
from tasks.caching import cache_backend, cache_options, cache_stats
from tasks.fetch import available_tickers, fetch_dataset

__all__ = ["backtest", "backtest_run_name"]

WORKERS = 16  # task runs in flight at once on the default thread pool


def backtest_run_name() -> str:
    params = flow_run.parameters or {}
    tickers = ",".join(params.get("tickers") or [])
    return f"backtest {tickers} {params.get('start')} to {params.get('end')} {params.get('frequency', 'monthly')}"


def _annotations_survive() -> bool:
    """Prefect's ``quote`` is a tuple, and Dask (2026.8) rebuilds tuple arguments without it.

    On a DaskTaskRunner values therefore pass bare: Prefect walks them on the
    workers (slower per task, the same results); elsewhere they pass quoted,
    so a large Snapshot or price history is never walked.
    """
    context = FlowRunContext.get()
    return context is None or "dask" not in type(context.task_runner).__name__.lower()


def _failure(future: PrefectFuture[Any]) -> tuple[Any, str | None]:
    """(result, None) for a completed run or a failed one's rules fallback; (None, why) otherwise."""
    state = future.state
    if state.is_completed():
        return future.result(), None
    error = state.result(raise_on_failure=False)
    if (fallback := getattr(error, "fallback", None)) is not None:
        return fallback, None
    return None, f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(state.message)


@flow(name="backtest", flow_run_name=backtest_run_name,
      task_runner=ThreadPoolTaskRunner(max_workers=WORKERS))  # type: ignore[arg-type]  # TaskRunner[F] is invariant
def backtest(
    tickers: list[str],
    start: dt.date,
    end: dt.date,
    frequency: str = "monthly",
    analysts: list[str] | None = None,
    model: str = "rules",
    cash: float = 100_000.0,
    margin_requirement: float = 0.5,
    commission_per_share: float = 0.0,
    commission_bps: float = 0.0,
    slippage_bps: float = 0.0,
    benchmark: str = "SPY",
    data_provider: str = "offline",
    max_cost_usd: float | None = None,
    weight_analysts: bool = False,
    refresh: bool = False,
    persist: bool = True,
    output_dir: str | None = None,
) -> BacktestResult:
    """Replay the committee over a window and trade its decisions on a simulated book.

    Args:
        tickers: Tickers to trade, e.g. ["AAPL", "NVDA"].
        start: First session of the window.
        end: Last session of the window.
        frequency: Rebalance daily, weekly or monthly (the first session of each period).
        analysts: Analyst keys; empty for the whole committee of 19.
        model: rules, anthropic:<model>, openai:<model> or openai-compatible:<model>@<base_url>.
        cash: Starting cash in USD.
        margin_requirement: Collateral per USD shorted (0.5 is Reg T).
        commission_per_share: USD per share traded.
        commission_bps: Basis points of each fill's value.
        slippage_bps: Basis points each fill is worse than the open.
        benchmark: Ticker whose buy-and-hold the equity curve is compared with.
        data_provider: offline (bundled data) or financialdatasets.
        max_cost_usd: Stop cleanly before model spend would pass this (USD).
        weight_analysts: Weight each analyst by its scorecard so far (rank IC, no future data); off by default.
        refresh: Recompute and rewrite cached results.
        persist: Write the result as JSON (and the chart as PNG) under the data directory.
        output_dir: Write them here instead.
    """
    started_at = dt.datetime.now(dt.UTC)
    logger = get_run_logger()
    wrap = _annotations_survive()
    keep: Any = quote if wrap else (lambda value: value)
    request = BacktestRequest(
        tickers=tickers, start=start, end=end, frequency=frequency, analysts=analysts, model=model, cash=cash,  # type: ignore[arg-type]
        margin_requirement=margin_requirement, benchmark=benchmark, data_provider=data_provider,
        max_cost_usd=max_cost_usd, weight_analysts=weight_analysts,
        costs=Costs(commission_per_share=commission_per_share, commission_bps=commission_bps, slippage_bps=slippage_bps),
    )
    keys = validate_backtest(request, available_tickers.submit(data_provider).result())
    backend = run_coro_as_sync(cache_backend())

    symbols = list(dict.fromkeys([*request.tickers, request.benchmark]))
    history = fetch_dataset.with_options(**cache_options("fetch", backend, refresh, "prices", request.end)).map(
        unmapped(data_provider), unmapped("prices"), symbols, unmapped(history_start(request.start)), unmapped(request.end)
    )
    prices = dict(zip(symbols, history.result()))
    plan = plan_task.submit(request, keys, keep(prices)).result()
    logger.info("%d sessions, %d rebalance dates, %d analysts x %d tickers; estimate: %d model calls, $%.4f (%s)",
                len(plan.sessions), len(plan.rebalance), len(keys), len(request.tickers), plan.estimate.calls,
                plan.estimate.cost_usd, plan.estimate.note)

    committee = committee_task.with_options(**committee_options(backend, refresh, keys, request.end))
    analyst = analyst_signal.with_options(**cache_options("analyst", backend, refresh))
    signals: list[AgentSignal] = []
    errors: dict[str, str] = {}
    decided: list[dt.date] = []
    fresh: list[AgentSignal] = []
    spent = ModelUsage()
    stopped: str | None = None
    dates: list[tuple[State[Any], DateCommittee]] = []
    for batch in batches(plan.rebalance, request.model):
        if not within_budget(spent.cost_usd, batch_estimate(plan, batch), request.max_cost_usd):
            stopped = (f"max cost ${request.max_cost_usd:.4f}: spent ${spent.cost_usd:.4f}, the next {len(batch)} "
                       f"dates would cost about ${batch_estimate(plan, batch):.4f}; stopped before {batch[0]}")
            logger.warning(stopped)
            break
        runs = committee.map(unmapped(data_provider), unmapped(request.tickers), batch, unmapped(keys),
                             unmapped(request.model), unmapped(refresh))
        wait(list(runs))
        pending: list[tuple[str, Snapshot]] = []
        for day, run in zip(batch, runs):
            done, why = _failure(run)
            if why:
                errors.update({f"{ticker}@{day}": why for ticker in request.tickers})
                continue
            dates.append((run.state, done))
            signals.extend(done.signals)
            errors.update(done.errors)
            pending.extend((key, snapshot) for snapshot, missing in done.pending for key in missing)
        calls = analyst.map([key for key, _ in pending], keep([snapshot for _, snapshot in pending]),
                            unmapped(request.model))  # with a model: what no cache had, asked as in `analyze`
        wait(list(calls))
        for (key, snapshot), future in zip(pending, calls):
            signal, why = _failure(future)
            if why:
                errors[f"{snapshot.ticker}@{snapshot.end}/{key}"] = why
                continue
            signals.append(signal)
            if future.state.name != "Cached":  # a run reports what it spent, never what a cache spent
                fresh.append(signal)
        spent = total_usage(fresh)
        decided.extend(batch)

    cache = cache_stats(f.state for f in history) + committee_cache_stats(dates)
    book = result_task.with_options(**cache_options("backtest-book", backend, refresh)).submit(
        run_id=str(flow_run.id or "local"), request=request, plan=keep(plan), decided=decided,
        bars=keep({t: prices[t] for t in request.tickers}), benchmark=keep(prices[request.benchmark]),
        signals=keep(signals), errors=errors, usage=spent, started_at=started_at, stopped_reason=stopped,
        cache=cache,
    ).result()
    result = book.model_copy(update={  # this run's own fields: a cached book carries the writer's
        "run_id": str(flow_run.id or "local"), "started_at": started_at, "usage": spent, "cache": cache,
        "finished_at": dt.datetime.now(dt.UTC)})
    png = chart_task.with_options(**cache_options("backtest-chart", backend, refresh)).submit(keep(result)).result()
    publish_backtest_artifacts.submit(keep(result), png).result()
    if persist:
        path = persist_backtest.submit(keep(result), png, output_dir).result()
        logger.info("backtest written to %s", path)
    return result
