"""Operations statistics from the stored runs: samples read from the store, pure summaries, the HTML page."""

from hedgeflow.stats.compute import (
    AnalystLatency,
    DayStats,
    RunSample,
    StatsReport,
    error_rate,
    percentile,
    summarize,
)
from hedgeflow.stats.health import Breach, breaches
from hedgeflow.stats.page import figures_png, render_html, render_markdown, render_text
from hedgeflow.stats.read import load_samples

__all__ = [
    "AnalystLatency",
    "Breach",
    "DayStats",
    "RunSample",
    "StatsReport",
    "breaches",
    "error_rate",
    "figures_png",
    "load_samples",
    "percentile",
    "render_html",
    "render_markdown",
    "render_text",
    "summarize",
]
