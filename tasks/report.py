"""The run's record: the RunResult kept in Prefect's result storage, and the artifacts the UI shows."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from hedgeflow.report import orders_markdown, signal_rows, usage_rows
from hedgeflow.results import build_result
from hedgeflow.schemas import RunResult

__all__ = ["publish_artifacts", "record_result"]


# persist_result: if the database is down later, the RunResult is still in Prefect's storage.
@task(name="result", persist_result=True, cache_policy=NO_CACHE)
async def record_result(**parts: Any) -> RunResult:
    return build_result(**parts)


@task(name="artifacts")
async def publish_artifacts(result: RunResult) -> None:
    await acreate_table_artifact(key="signals", table=signal_rows(result), description=f"Signals of run {result.run_id}")
    await acreate_table_artifact(key="usage", table=usage_rows(result),
                                 description="Per analyst: model calls, tokens, cost, time, degraded signals")
    await acreate_markdown_artifact(key="orders", markdown=orders_markdown(result), description="Orders and run totals")
