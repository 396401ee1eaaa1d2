"""Rolling-window health: which rate thresholds a window of runs crosses (pure; the alerts act on it)."""

from __future__ import annotations

from pydantic import BaseModel

from hedgeflow.stats.compute import StatsReport

__all__ = ["Breach", "breaches"]


class Breach(BaseModel):
    """One crossed threshold; ``kind`` names the event ``hedgeflow.health.<kind>``."""

    kind: str
    value: float
    threshold: float
    runs: int

    @property
    def message(self) -> str:
        what = "success rate" if self.kind == "success-rate-low" else "error rate"
        side = "under" if self.kind == "success-rate-low" else "over"
        return f"{what} {self.value * 100:.1f} % {side} {self.threshold * 100:.1f} % over the last {self.runs} runs"


def breaches(report: StatsReport, success_rate_min: float, error_rate_max: float, min_runs: int = 1) -> list[Breach]:
    """Success rate strictly under ``success_rate_min``, error rate strictly over ``error_rate_max``; none below ``min_runs``."""
    if report.runs < max(1, min_runs):
        return []
    found = []
    if report.success_rate < success_rate_min:
        found.append(Breach(kind="success-rate-low", value=report.success_rate, threshold=success_rate_min,
                            runs=report.runs))
    if report.error_rate > error_rate_max:
        found.append(Breach(kind="error-rate-high", value=report.error_rate, threshold=error_rate_max, runs=report.runs))
    return found
