"""The hedge_fund flow: fetch once, analyse many, then risk, then portfolio.

Fetch, analyst, risk, portfolio and persist tasks are mapped or submitted on
the flow's task runner: a ThreadPoolTaskRunner wide enough for every analyst
of seven tickers at once, swappable per run or deployment
(``hedge_fund.with_options(task_runner=DaskTaskRunner(...))``). The flow body
is async: it waits for futures off its event loop and updates the progress
artifact as task runs finish.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
from typing import Any

from prefect import flow
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.committee import TASKS_IN_FLIGHT, Committee, large, outcome, settle, shared_api_client, untagged
from flows.naming import typed_name
from hedgeflow.analysts.registry import resolve_analysts
from hedgeflow.parameters import CheckedDataProvider
from hedgeflow.request import resolve_window, validate_request
from hedgeflow.schemas import AnalystKey, ModelSpec, Portfolio, RunRequest, RunResult, Tickers
from tasks.decide import risk_limits
from tasks.fetch import available_tickers, provider_named
from tasks.model_calls import model_setup
from tasks.report import publish_artifacts, record_result

__all__ = ["hedge_fund", "run_name"]


def run_name() -> str:
    """The name a person typed, else "AAPL,NVDA as of 2025-10-08 (rules)": "latest" resolved to the data's date."""
    if (typed := typed_name()) is not None:
        return typed
    params = flow_run.parameters or {}
    tickers = [str(t).upper() for t in params.get("tickers") or []]
    end = params.get("end")
    if end is None:
        try:
            available = provider_named(str(params.get("data_provider") or "offline")).tickers()
            end = resolve_window(RunRequest(tickers=tickers), available)[1]
        except Exception:  # noqa: BLE001 - a name must not fail the run; the flow reports the real problem
            end = "latest"
    return f"{','.join(tickers)} as of {end} ({params.get('model') or 'rules'})"


@flow(name="hedge-fund", flow_run_name=run_name, log_prints=False,
      task_runner=ThreadPoolTaskRunner(max_workers=TASKS_IN_FLIGHT))  # type: ignore[arg-type]  # TaskRunner[F] is invariant
async def hedge_fund(
    tickers: Tickers,
    start: dt.date | None = None,
    end: dt.date | None = None,
    analysts: list[AnalystKey] | None = None,
    model: ModelSpec = "rules",
    portfolio: Portfolio | None = None,
    refresh: bool = False,
    data_provider: CheckedDataProvider = "offline",
    persist: bool = True,
    breaker_block: str | None = None,
    database_block: str | None = None,
) -> RunResult:
    """Analyse ``tickers`` with the committee and decide orders.

    Args:
        tickers: Tickers to analyse: "bundled" to pick from the offline data's, "any symbol" to type
            others for financialdatasets.
        start: First date of the window; default three months before end.
        end: As-of date; default the latest date the data has (2025-10-08 for the bundled data).
        analysts: Analysts to ask; empty for the whole committee of 19.
        model: rules (no model call), anthropic:MODEL, openai:MODEL, openai-compatible:MODEL@BASE_URL or
            block:BLOCK_TYPE_SLUG/BLOCK_NAME; e.g. anthropic:claude-sonnet-4-5.
        portfolio: Cash, margin requirement and current positions; default 100,000 cash and no positions.
        refresh: Recompute and rewrite cached results.
        data_provider: offline (bundled data), live (SEC EDGAR facts and Form 4s, keyless prices and
            news; any US ticker), block:NAME (a saved Hedgeflow Data Provider block) or financialdatasets
            (FINANCIAL_DATASETS_API_KEY).
        breaker_block: Name of a saved Hedgeflow Circuit Breaker block; default from the environment.
        persist: Write the run, its signals and orders to the database (HEDGEFLOW_DATABASE_URL, default SQLite).
        database_block: Name of a saved Hedgeflow Database block to write to instead.
    """
    started_at = dt.datetime.now(dt.UTC)
    # SQLAlchemy and Alembic load in a thread while the run waits for its data and models
    persisting = asyncio.ensure_future(asyncio.to_thread(importlib.import_module, "tasks.persist")) if persist else None
    request = RunRequest(
        tickers=list(tickers), start=start, end=end, model=model,
        analysts=None if analysts is None else list(analysts),
        portfolio=portfolio or Portfolio(), refresh=refresh,
    )
    with shared_api_client(), untagged():  # one API client for the pool's threads; no slot request per task run
        (known,) = await settle([available_tickers.submit(data_provider)])
        start, end = validate_request(request, await known.aresult())
        setup = await model_setup(request.model, breaker_block)
        committee = Committee(provider=data_provider, start=start, end=end, refresh=refresh)
        await committee.prepare()

        snapshots = await committee.snapshots(request.tickers)
        limits_run = risk_limits.submit(large(snapshots), request.portfolio)
        signals = await committee.signals(snapshots, resolve_analysts(request.analysts), request.model, setup)
        (limits_state,) = await settle([limits_run])
        limits = await limits_state.aresult()
        (decided,) = await settle([committee.decide.submit(large(signals), large(limits), request.portfolio,
                                                           request.model, large(setup))])
        decision, why = await outcome(decided)
        if why:
            raise RuntimeError(f"the portfolio manager failed: {why}")
        orders, pm_usage, degraded_orders = decision

        parts: dict[str, Any] = {
            "run_id": str(flow_run.id), "request": request, "start": start, "end": end, "started_at": started_at,
            "signals": signals, "limits": limits, "orders": orders, "errors": committee.errors,
            "analyst_errors": committee.analyst_errors, "degraded_orders": degraded_orders,
            "data_gaps": committee.data_gaps, "pm_usage": pm_usage, "pm_cached": decided.name == "Cached",
            "cached_signals": committee.cached, "cache": committee.cache(),
        }  # quoted: Prefect need not walk every signal for futures
        result = await record_result.with_options(result_storage=committee.backend.result_storage)(
            **{name: quote(value) for name, value in parts.items()})
        await publish_artifacts(result)
        if persisting is not None:
            persistence = await persisting
            database = await persistence.HedgeflowDatabase.aload(database_block) if database_block else None
            (written,) = await settle([persistence.persist_run_task.submit(large(result), database)])
            _, not_written = await outcome(written)
            if not_written:  # retries spent: keep it as JSON for `hedgeflow history --replay`
                result = await persistence.keep_unwritten(quote(result), not_written)
    return result
