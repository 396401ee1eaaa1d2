"""The run's record: the RunResult kept in Prefect's result storage, and the artifacts the UI shows."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.context import TaskRunContext
from prefect.runtime import flow_run

from hedgeflow.report import orders_markdown, signal_rows, usage_rows
from hedgeflow.results import build_result
from hedgeflow.schemas import RunResult

__all__ = ["publish_artifacts", "record_result", "signals_description"]


def _per_flow_run(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    return f"run-{flow_run.id}-result"


# Persisted under a key per flow run: if the database is down later, the RunResult is still in
# Prefect's result storage, and a rerun of the same flow run finds it instead of recomputing.
@task(name="result", persist_result=True, cache_key_fn=_per_flow_run)
async def record_result(**parts: Any) -> RunResult:
    return build_result(**parts)


def signals_description(result: RunResult) -> str:
    """What the signals table holds, in the words of the run: tickers, window and model (no ids)."""
    tickers = ", ".join(result.request.tickers)
    return f"Every analyst's signal for {tickers}, {result.start} to {result.end}, model {result.request.model}"


async def publish_artifacts(result: RunResult) -> None:
    """The signals, usage and orders artifacts of the flow run it is called in (three API calls, no task run)."""
    await acreate_table_artifact(key="signals", table=signal_rows(result), description=signals_description(result))
    await acreate_table_artifact(key="usage", table=usage_rows(result),
                                 description="Per analyst: model calls, tokens, cost, time, degraded signals")
    await acreate_markdown_artifact(key="orders", markdown=orders_markdown(result), description="Orders and run totals")
