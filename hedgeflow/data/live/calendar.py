"""The last completed NYSE session: the live provider's default as-of date.

Trading days are weekdays that are not NYSE holidays (the ``holidays``
package's NYSE calendar, special closures included); a session is complete
at the 16:00 New York close (early-close days are complete by then too).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

import holidays

__all__ = ["NEW_YORK", "is_trading_day", "last_completed_session"]

NEW_YORK = ZoneInfo("America/New_York")
CLOSE = dt.time(16, 0)


@cache
def _nyse(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.financial_holidays("NYSE", years=year))


def is_trading_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _nyse(day.year)


def last_completed_session(now: dt.datetime | None = None) -> dt.date:
    """The latest trading day whose 16:00 New York close is at or before ``now`` (default: now)."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(NEW_YORK)
    day = local.date() if local.time() >= CLOSE else local.date() - dt.timedelta(days=1)
    while not is_trading_day(day):
        day -= dt.timedelta(days=1)
    return day
