"""Trading sessions and rebalance dates.

A session is a date on which the price data has a bar. Rebalance dates are
sessions: every session (daily), or the first session of each ISO week
(weekly) or calendar month (monthly) inside the window. The committee decides
on a rebalance date's close and its orders fill at the next session's open.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal

__all__ = ["Frequency", "next_session", "rebalance_dates", "sessions_between"]

Frequency = Literal["daily", "weekly", "monthly"]


def sessions_between(sessions: Iterable[dt.date], start: dt.date, end: dt.date) -> list[dt.date]:
    """The distinct sessions from ``start`` to ``end`` inclusive, oldest first."""
    return sorted({d for d in sessions if start <= d <= end})


def _period(day: dt.date, frequency: Frequency) -> tuple[int, int] | dt.date:
    if frequency == "weekly":
        iso = day.isocalendar()
        return (iso.year, iso.week)
    if frequency == "monthly":
        return (day.year, day.month)
    return day


def rebalance_dates(sessions: Sequence[dt.date], frequency: Frequency) -> list[dt.date]:
    """The first session of each period (every session when daily), oldest first.

    ``sessions`` must be sorted; the first session of the window is always a
    rebalance date, so a backtest starts invested from its first open.
    """
    dates: list[dt.date] = []
    seen: set[object] = set()
    for day in sessions:
        key = _period(day, frequency)
        if key not in seen:
            seen.add(key)
            dates.append(day)
    return dates


def next_session(sessions: Sequence[dt.date], day: dt.date) -> dt.date | None:
    """The first session after ``day``, or None when ``day`` is the last one (orders cannot fill)."""
    i = bisect.bisect_right(sessions, day)
    return sessions[i] if i < len(sessions) else None
