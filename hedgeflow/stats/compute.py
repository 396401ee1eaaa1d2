"""The figures of the performance dashboard, computed from plain run samples (no I/O, no Prefect).

Definitions (one run is one row of the ``runs`` table):

- run time: ``finished_at - started_at`` in seconds;
- p50 / p95: linear interpolation between closest ranks (numpy's default,
  "type 7" of Hyndman and Fan 1996): for sorted x of length n the q-th
  percentile is x[h] + (h - floor h)(x[floor h + 1] - x[floor h]) with
  h = (n - 1) q / 100; nan for no samples;
- success rate: runs whose status is ``completed`` over all runs;
- degraded rate: runs whose status is ``degraded`` over all runs;
- error rate: runs ``degraded``, ``partial`` or ``failed`` over all runs
  (the complement of the success rate);
- cache hit rate: the mean of the runs' own hit rates (each run weighs the same);
- per day (UTC date of ``started_at``): runs, model calls, tokens (input +
  output) and cost summed;
- per-analyst latency: p50 / p95 / max of each signal's ``elapsed_s``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

__all__ = [
    "AnalystLatency",
    "DayStats",
    "ERROR_STATUSES",
    "RunSample",
    "StatsReport",
    "error_rate",
    "percentile",
    "summarize",
]

ERROR_STATUSES = frozenset({"degraded", "partial", "failed"})


class RunSample(BaseModel):
    """What the dashboard needs of one stored run."""

    run_id: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cache_hit_rate: float = 0.0
    analyst_elapsed_s: dict[str, list[float]] = Field(
        default_factory=dict, description="Analyst -> each of its signals' elapsed seconds in this run."
    )

    @property
    def run_time_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class DayStats(BaseModel):
    """One UTC day's totals."""

    day: dt.date
    runs: int
    model_calls: int
    tokens: int
    cost_usd: float
    p50_run_time_s: float
    success_rate: float


class AnalystLatency(BaseModel):
    analyst: str
    signals: int
    p50_s: float
    p95_s: float
    max_s: float


class StatsReport(BaseModel):
    """The dashboard's figures; rates are fractions in [0, 1], nan when there is no run."""

    since: dt.datetime | None = None
    runs: int
    p50_run_time_s: float
    p95_run_time_s: float
    max_run_time_s: float
    success_rate: float
    degraded_rate: float
    error_rate: float
    cache_hit_rate: float
    model_calls: int
    tokens: int
    cost_usd: float
    status_counts: dict[str, int]
    days: list[DayStats]
    analysts: list[AnalystLatency]
    run_times_s: list[float] = Field(description="Every run's time, oldest first: the distribution plot's data.")
    run_started_at: list[dt.datetime] = Field(description="Each run's start, same order as run_times_s.")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    h = (len(ordered) - 1) * q / 100.0
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def _share(count: int, total: int) -> float:
    return count / total if total else math.nan


def error_rate(statuses: Iterable[str]) -> float:
    """Share of runs ending degraded, partial or failed; nan for none."""
    listed = list(statuses)
    return _share(sum(1 for s in listed if s in ERROR_STATUSES), len(listed))


def _day(samples: list[RunSample], day: dt.date) -> DayStats:
    return DayStats(
        day=day,
        runs=len(samples),
        model_calls=sum(s.model_calls for s in samples),
        tokens=sum(s.input_tokens + s.output_tokens for s in samples),
        cost_usd=sum(s.cost_usd for s in samples),
        p50_run_time_s=percentile([s.run_time_s for s in samples], 50),
        success_rate=_share(sum(1 for s in samples if s.status == "completed"), len(samples)),
    )


def _analysts(samples: list[RunSample]) -> list[AnalystLatency]:
    elapsed: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        for analyst, seconds in sample.analyst_elapsed_s.items():
            elapsed[analyst].extend(seconds)
    return [
        AnalystLatency(analyst=a, signals=len(v), p50_s=percentile(v, 50), p95_s=percentile(v, 95), max_s=max(v))
        for a, v in sorted(elapsed.items())
        if v
    ]


def summarize(samples: Iterable[RunSample], since: dt.datetime | None = None) -> StatsReport:
    """Every figure of the dashboard for ``samples`` (any order)."""
    runs = sorted(samples, key=lambda s: s.started_at)
    times = [s.run_time_s for s in runs]
    statuses = [s.status for s in runs]
    by_day: dict[dt.date, list[RunSample]] = defaultdict(list)
    for sample in runs:
        by_day[sample.started_at.astimezone(dt.timezone.utc).date()].append(sample)
    counts: dict[str, int] = defaultdict(int)
    for status in statuses:
        counts[status] += 1
    return StatsReport(
        since=since,
        runs=len(runs),
        p50_run_time_s=percentile(times, 50),
        p95_run_time_s=percentile(times, 95),
        max_run_time_s=max(times) if times else math.nan,
        success_rate=_share(counts["completed"], len(runs)),
        degraded_rate=_share(counts["degraded"], len(runs)),
        error_rate=error_rate(statuses),
        cache_hit_rate=sum(s.cache_hit_rate for s in runs) / len(runs) if runs else math.nan,
        model_calls=sum(s.model_calls for s in runs),
        tokens=sum(s.input_tokens + s.output_tokens for s in runs),
        cost_usd=sum(s.cost_usd for s in runs),
        status_counts=dict(sorted(counts.items())),
        days=[_day(group, day) for day, group in sorted(by_day.items())],
        analysts=_analysts(runs),
        run_times_s=times,
        run_started_at=[s.started_at for s in runs],
    )
