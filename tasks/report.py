"""Artifacts: what a run shows in the Prefect UI."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from hedgeflow.report import orders_markdown, signal_rows
from hedgeflow.schemas import RunResult

__all__ = ["publish_artifacts"]


@task(name="artifacts")
async def publish_artifacts(result: RunResult) -> None:
    await acreate_table_artifact(key="signals", table=signal_rows(result), description=f"Signals of run {result.run_id}")
    await acreate_markdown_artifact(key="orders", markdown=orders_markdown(result), description="Orders and run totals")
