"""The precompute flow: warm every snapshot and analyst signal of popular tickers for the default window."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from blocks.popular import PopularTickers
from flows.committee import TASKS_IN_FLIGHT, Committee, settle, shared_api_client
from flows.naming import typed_name
from hedgeflow.analysts.registry import resolve_analysts
from hedgeflow.parameters import CheckedDataProvider
from hedgeflow.request import validate_request
from hedgeflow.schemas import CacheStats, ModelSpec, RunRequest, Tickers
from tasks.fetch import available_tickers
from tasks.model_calls import model_setup

__all__ = ["precompute", "run_name"]


def run_name() -> str:
    """The name a person typed, else "warm AAPL,NVDA (rules)" or "warm the popular tickers (rules)"."""
    if (typed := typed_name()) is not None:
        return typed
    params = flow_run.parameters or {}
    tickers = ",".join(str(t).upper() for t in params.get("tickers") or []) or "the popular tickers"
    return f"warm {tickers} ({params.get('model') or 'rules'})"


@flow(name="precompute", flow_run_name=run_name, log_prints=False,
      task_runner=ThreadPoolTaskRunner(max_workers=TASKS_IN_FLIGHT))  # type: ignore[arg-type]  # TaskRunner[F] is invariant
async def precompute(
    tickers: Tickers | None = None,
    model: ModelSpec = "rules",
    data_provider: CheckedDataProvider = "offline",
) -> CacheStats:
    """Warm the caches so the next analyze of these tickers answers at once.

    Args:
        tickers: Tickers to warm ("bundled" to pick, "any symbol" to type); None for the list in the
            "default" Hedgeflow Popular Tickers block.
        model: The model whose signals to warm: rules, anthropic:MODEL, openai:MODEL,
            openai-compatible:MODEL@BASE_URL or block:BLOCK_TYPE_SLUG/BLOCK_NAME.
        data_provider: offline (bundled data), live (SEC EDGAR facts and Form 4s, keyless prices and
            news; any US ticker), block:NAME (a saved Hedgeflow Data Provider block) or financialdatasets
            (FINANCIAL_DATASETS_API_KEY).
    """
    tickers = tickers or await PopularTickers.current()
    request = RunRequest(tickers=list(tickers), model=model)
    (known,) = await settle([available_tickers.submit(data_provider)])
    available = await known.aresult()
    windows: dict[tuple[dt.date, dt.date], list[str]] = defaultdict(list)
    for ticker in request.tickers:  # each ticker's own default window, as `analyze --tickers T` resolves it
        windows[validate_request(RunRequest(tickers=[ticker], model=model), available)].append(ticker)
    setup = await model_setup(model)

    async def warm(start: dt.date, end: dt.date, group: list[str]) -> Committee:
        committee = Committee(provider=data_provider, start=start, end=end)
        await committee.prepare()
        await committee.signals(await committee.snapshots(group), resolve_analysts(None), model, setup)
        return committee

    # each window's tasks are all on the task runner at once; the flow only waits for them
    with shared_api_client():
        runs = await asyncio.gather(*(warm(start, end, group) for (start, end), group in windows.items()))
    for committee in runs:
        for what, why in committee.errors.items():
            get_run_logger().warning("could not warm %s: %s", what, why)
    return sum((committee.cache() for committee in runs), CacheStats())
