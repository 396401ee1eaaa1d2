"""Thin backtest tasks: plan, simulate and summarise, publish, persist. One domain call each.

The per-date work (fetch, snapshot, analyst) reuses the ordinary cached tasks
of tasks/fetch.py and tasks/analyst.py; these tasks only run what comes after.
Their inputs are large and their results cheap to recompute, so they are not cached.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from hedgeflow.backtest.chart import equity_png
from hedgeflow.backtest.models import BacktestRequest, BacktestResult
from hedgeflow.backtest.plan import BacktestPlan, plan_backtest
from hedgeflow.backtest.storage import save_result
from hedgeflow.backtest.summary import assemble_result, metrics_markdown, scorecard_markdown
from hedgeflow.schemas import Price

__all__ = ["chart_task", "persist_backtest", "plan_task", "publish_backtest_artifacts", "result_task"]

UNCACHED: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="backtest-plan", **UNCACHED)
def plan_task(request: BacktestRequest, analysts: list[str], prices: dict[str, list[Price]]) -> BacktestPlan:
    return plan_backtest(request, analysts, prices)


@task(name="backtest-book", **UNCACHED)
def result_task(**parts: Any) -> BacktestResult:
    """Simulate the book, then metrics and the scorecard (hedgeflow.backtest.summary.assemble_result)."""
    return assemble_result(**parts)


@task(name="backtest-artifacts", **UNCACHED)
def publish_backtest_artifacts(result: BacktestResult, png: bytes | None) -> None:
    create_markdown_artifact(key="backtest-metrics", markdown=metrics_markdown(result),
                             description=f"Backtest {result.run_id}: {result.status}")
    create_markdown_artifact(key="backtest-scorecard", markdown=scorecard_markdown(result.scorecard),
                             description="Each analyst's signals against forward returns")
    if png is not None:
        image = base64.b64encode(png).decode()
        create_markdown_artifact(key="backtest-equity", markdown=f"![equity and drawdown](data:image/png;base64,{image})",
                                 description="Equity against the benchmark, and the drawdown")


@task(name="backtest-chart", **UNCACHED)
def chart_task(result: BacktestResult) -> bytes | None:
    return equity_png(result) if len(result.equity_curve) > 1 else None


@task(name="backtest-persist", **UNCACHED)
def persist_backtest(result: BacktestResult, png: bytes | None, directory: str | None = None) -> str:
    """The result as JSON under the data directory (PNG beside it); returns the JSON path."""
    return str(save_result(result, png, Path(directory) if directory else None))
