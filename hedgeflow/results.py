"""Putting a finished run together: totals, status and per-analyst usage."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Literal

from hedgeflow.schemas import (
    AgentSignal,
    CacheStats,
    ModelUsage,
    Order,
    PositionLimit,
    RunRequest,
    RunResult,
)

__all__ = ["build_result"]


def build_result(
    *,
    run_id: str,
    request: RunRequest,
    start: dt.date,
    end: dt.date,
    started_at: dt.datetime,
    signals: list[AgentSignal],
    limits: list[PositionLimit],
    orders: list[Order],
    errors: dict[str, str],
    pm_usage: ModelUsage | None = None,
    cache: CacheStats | None = None,
) -> RunResult:
    """Status: failed when no ticker could be analysed, partial when some failed, degraded when a signal fell back."""
    by_analyst: dict[str, ModelUsage] = defaultdict(ModelUsage)
    for signal in signals:
        by_analyst[signal.analyst] = by_analyst[signal.analyst] + signal.usage
    if pm_usage is not None and pm_usage.calls:
        by_analyst["portfolio_manager"] = pm_usage
    total = sum(by_analyst.values(), ModelUsage())
    status: Literal["completed", "degraded", "partial", "failed"]
    if errors and len(errors) >= len(request.tickers):
        status = "failed"
    elif errors:
        status = "partial"
    elif any(s.degraded for s in signals):
        status = "degraded"
    else:
        status = "completed"
    timings = {f"{s.analyst}/{s.ticker}": round(s.elapsed_s, 4) for s in signals}
    return RunResult(
        run_id=run_id,
        request=request,
        status=status,
        started_at=started_at,
        finished_at=dt.datetime.now(dt.timezone.utc),
        start=start,
        end=end,
        signals=sorted(signals, key=lambda s: (s.ticker, s.analyst)),
        limits=limits,
        orders=orders,
        errors=errors,
        usage=total,
        usage_by_analyst=dict(by_analyst),
        cache=cache or CacheStats(),
        timings_s=timings,
    )
