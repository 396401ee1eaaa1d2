"""Artifacts: what a run shows in the Prefect UI."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from hedgeflow.report import orders_markdown, signal_rows
from hedgeflow.schemas import RunResult

__all__ = ["publish_artifacts"]


@task(name="artifacts")
def publish_artifacts(result: RunResult) -> None:
    create_table_artifact(key="signals", table=signal_rows(result), description=f"Signals of run {result.run_id}")
    create_markdown_artifact(key="orders", markdown=orders_markdown(result), description="Orders and run totals")
