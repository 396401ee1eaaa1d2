"""Thin tasks for the stats flow: read the stored runs into the dashboard's figures, publish the page."""

from __future__ import annotations

import datetime as dt

from prefect import task
from prefect.artifacts import acreate_markdown_artifact
from prefect.events import emit_event

from blocks.alerts import AlertSettings
from hedgeflow.stats import Breach, StatsReport, breaches, load_samples, render_markdown, summarize
from hedgeflow.store import get_engine

__all__ = ["ARTIFACT_KEY", "HEALTH_RESOURCE", "check_health", "publish_stats", "stats_report"]

ARTIFACT_KEY = "hedgeflow-stats"
HEALTH_RESOURCE = "hedgeflow.health"


@task(retries=2, retry_delay_seconds=[2, 10])
def stats_report(days: int = 7) -> StatsReport:
    """The dashboard's figures over the runs started in the last ``days`` days (0: every stored run)."""
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days) if days > 0 else None
    return summarize(load_samples(get_engine(), since), since=since)


@task
async def publish_stats(report: StatsReport) -> None:
    """The page as a markdown artifact (figures table and inline PNG plots), under one key so it has a history."""
    await acreate_markdown_artifact(
        key=ARTIFACT_KEY, markdown=render_markdown(report), description=f"Hedgeflow performance over {report.runs} runs"
    )


@task(retries=2, retry_delay_seconds=[2, 10])
async def check_health(settings_block: str = "default") -> list[Breach]:
    """Rates over the rolling window against the Hedgeflow Alerts block; one ``hedgeflow.health.<kind>`` event each."""
    try:
        settings: AlertSettings = await AlertSettings.aload(settings_block)
    except ValueError:  # no saved block: the defaults
        settings = AlertSettings()
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=settings.window_minutes)
    report = summarize(load_samples(get_engine(), since), since=since)
    found = breaches(report, settings.success_rate_min, settings.error_rate_max, settings.min_runs)
    for breach in found:
        emit_event(
            event=f"hedgeflow.health.{breach.kind}",
            resource={"prefect.resource.id": HEALTH_RESOURCE, "prefect.resource.name": "hedgeflow runs"},
            payload={**breach.model_dump(), "message": breach.message, "window_minutes": settings.window_minutes},
        )
    return found
