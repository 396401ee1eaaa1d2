"""Putting a finished run together: totals, status and per-analyst usage; the exit code it earns."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
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

__all__ = ["EXIT_CODES", "EXIT_NOT_PERSISTED", "build_result", "exit_code", "run_status"]

Status = Literal["completed", "degraded", "partial", "failed"]

# What the CLI returns per status: a run that delivered every order succeeds (0), even from rules.
EXIT_CODES: dict[str, int] = {"completed": 0, "degraded": 0, "partial": 3, "failed": 1}
EXIT_NOT_PERSISTED = 4  # the result was printed and saved as JSON, but the database did not take it


def exit_code(result: RunResult) -> int:
    """The status's code; a delivered run the database did not take is 4."""
    code = EXIT_CODES[result.status]
    return EXIT_NOT_PERSISTED if code == 0 and result.persist_error else code


def run_status(result: RunResult) -> Status:
    """From what was delivered: failed = no orders; partial = a requested ticker has no order or an
    analyst produced nothing; degraded = a signal or order came from the rules fallback, or an
    optional dataset is missing; else completed."""
    ordered = {o.ticker for o in result.orders}
    if not ordered:
        return "failed"
    if result.errors or result.analyst_errors or any(t not in ordered for t in result.request.tickers):
        return "partial"
    if result.degraded_orders or result.data_gaps or any(s.degraded for s in result.signals):
        return "degraded"
    return "completed"


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
    analyst_errors: dict[str, str] | None = None,
    degraded_orders: dict[str, str] | None = None,
    data_gaps: dict[str, str] | None = None,
    pm_usage: ModelUsage | None = None,
    pm_cached: bool = False,
    cached_signals: Collection[tuple[str, str]] = (),
    cache: CacheStats | None = None,
) -> RunResult:
    """The run's record. Usage counts only calls made in this run: a signal (ticker, analyst) in
    ``cached_signals``, or a cached portfolio decision, reports its cost under ``cache_savings``."""
    by_analyst: dict[str, ModelUsage] = defaultdict(ModelUsage)
    savings = ModelUsage()
    kept: list[AgentSignal] = []
    for signal in signals:
        if (signal.ticker, signal.analyst) in cached_signals:
            savings = savings + signal.usage
            signal = signal.model_copy(update={"usage": ModelUsage()})
        by_analyst[signal.analyst] = by_analyst[signal.analyst] + signal.usage
        kept.append(signal)
    if pm_usage is not None and pm_usage.calls:
        if pm_cached:
            savings = savings + pm_usage
        else:
            by_analyst["portfolio_manager"] = pm_usage
    total = sum(by_analyst.values(), ModelUsage())
    timings = {f"{s.analyst}/{s.ticker}": round(s.elapsed_s, 4) for s in kept}
    result = RunResult(
        run_id=run_id,
        request=request,
        started_at=started_at,
        finished_at=dt.datetime.now(dt.timezone.utc),
        start=start,
        end=end,
        signals=sorted(kept, key=lambda s: (s.ticker, s.analyst)),
        limits=limits,
        orders=orders,
        errors=errors,
        analyst_errors=analyst_errors or {},
        degraded_orders=degraded_orders or {},
        data_gaps=data_gaps or {},
        usage=total,
        usage_by_analyst=dict(by_analyst),
        cache_savings=savings,
        cache=cache or CacheStats(),
        timings_s=timings,
    )
    return result.model_copy(update={"status": run_status(result)})
