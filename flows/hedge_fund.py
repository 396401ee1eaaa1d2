"""The hedge_fund flow: fetch once, analyse many, then risk, then portfolio."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture, wait
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from hedgeflow.analysts.registry import resolve_analysts
from hedgeflow.request import validate_request
from hedgeflow.results import build_result
from hedgeflow.schemas import AgentSignal, Portfolio, RunRequest, RunResult, Snapshot
from tasks.analyst import analyst_signal
from tasks.decide import decide_orders, risk_limits
from tasks.fetch import DATASETS, assemble_snapshot_task, fetch_dataset, provider_named
from tasks.report import publish_artifacts

__all__ = ["hedge_fund", "run_name"]

MAX_WORKERS = 512  # every (analyst x ticker) at once: 19 x 7 = 133 model calls in flight, with room for users


def run_name() -> str:
    params = flow_run.parameters or {}
    tickers = ",".join(params.get("tickers") or [])
    return f"{tickers} to {params.get('end') or 'latest'} ({params.get('model', 'rules')})"


def _failure(future: PrefectFuture[Any]) -> str | None:
    state = future.state
    if state.is_completed():
        return None
    try:
        future.result(raise_on_failure=True)
    except BaseException as exc:  # noqa: BLE001 - the message is the point
        return f"{type(exc).__name__}: {exc}"
    return f"state {state.name}"


@flow(
    name="hedge-fund",
    flow_run_name=run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS),
    log_prints=False,
)
def hedge_fund(
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

    snapshot_futures: dict[str, PrefectFuture[Snapshot]] = {}
    for ticker in request.tickers:
        datasets = {ds: fetch_dataset.submit(data_provider, ds, ticker, start, end) for ds in DATASETS}
        snapshot_futures[ticker] = assemble_snapshot_task.submit(ticker, start, end, data_provider, datasets)
    signal_futures = [
        analyst_signal.submit(key, snapshot_futures[ticker], request.model)
        for ticker in request.tickers
        for key in keys
    ]

    errors = {t: why for t, f in snapshot_futures.items() if (why := _failure(f))}
    snapshots = [f.result() for t, f in snapshot_futures.items() if t not in errors]
    limits = risk_limits.submit(snapshots, request.portfolio) if snapshots else None
    wait(signal_futures)
    signals: list[AgentSignal] = []
    for key_ticker, future in zip(((k, t) for t in request.tickers for k in keys), signal_futures):
        if key_ticker[1] in errors:
            continue
        if why := _failure(future):
            errors[f"{key_ticker[1]}/{key_ticker[0]}"] = why
        else:
            signals.append(future.result())
    orders, pm_usage = ([], None)
    if limits is not None:
        orders, pm_usage = decide_orders.submit(signals, limits, request.portfolio, request.model).result()

    result = build_result(
        run_id=str(flow_run.id or "local"), request=request, start=start, end=end, started_at=started_at,
        signals=signals, limits=limits.result() if limits is not None else [], orders=orders,
        errors=errors, pm_usage=pm_usage,
    )
    publish_artifacts.submit(result).wait()
    return result
