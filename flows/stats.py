"""The stats flow: the performance dashboard over the stored runs, published as a Prefect artifact."""

from __future__ import annotations

from prefect import flow

from hedgeflow.stats import Breach, StatsReport
from tasks.stats import check_health, publish_stats, stats_report

__all__ = ["health", "stats"]


@flow(name="stats", log_prints=False)
async def stats(days: int = 7) -> StatsReport:
    """Summarise the runs of the last ``days`` days (0: every stored run) and publish the page.

    Args:
        days: How many days back from now to summarise; 0 for every stored run.
    """
    report = stats_report(days)
    await publish_stats(report)
    return report


@flow(name="health", log_prints=False)
async def health(settings_block: str = "default") -> list[Breach]:
    """Check the success and error rates over the rolling window; the alert automations act on the events.

    Args:
        settings_block: The Hedgeflow Alerts block holding the thresholds and the window.
    """
    return await check_health(settings_block)
