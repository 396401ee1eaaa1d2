"""Daily bars from the keyless v8 chart endpoint, raw and adjusted closes kept apart.

``/v8/finance/chart/{symbol}?period1=&period2=&interval=1d&events=div,split``
answers ``{"chart": {"result": [{meta, timestamp, events, indicators}], "error": null}}``:
``indicators.quote[0]`` holds open/high/low/close/volume (adjusted for every
split up to the time of the request, not for dividends) and
``indicators.adjclose[0].adjclose`` the close adjusted for dividends too.
``events.dividends`` / ``events.splits`` are objects keyed by the event's
timestamp; the ``events`` key is absent when there are none. Errors come as
``{"chart": {"result": null, "error": {"code", "description"}}}``, with HTTP
404/400 or, sometimes, 200.

Prices for analysis are adjusted the way the bundled files are (yfinance's
``auto_adjust``: every price times adjclose / close); market cap uses the
close as traded (split-adjusted only), times a split-adjusted share count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hedgeflow.errors import DataError, DataUnavailableError
from hedgeflow.schemas import Price

__all__ = ["Chart", "chart_params", "chart_path", "parse_chart"]

HISTORY_FIRST = dt.date(2009, 1, 1)  # XBRL filings start in 2009: every split that touches a filed count
NEW_YORK = "America/New_York"


@dataclass(frozen=True)
class Chart:
    dates: tuple[dt.date, ...]
    adjusted: tuple[Price, ...]  # split- and dividend-adjusted bars: returns, volatility, momentum
    closes: tuple[float, ...]  # the close as traded, on today's split basis: market cap
    splits: tuple[tuple[dt.date, float], ...]  # (effective date, new shares per old share), oldest first
    dividends: tuple[tuple[dt.date, float], ...]


def chart_path(symbol: str) -> str:
    return f"/v8/finance/chart/{quote(symbol, safe='')}"


def chart_params(first: dt.date, now: dt.datetime) -> dict[str, str]:
    """Every daily bar from ``first`` to ``now``, with dividends and splits."""
    period1 = int(dt.datetime.combine(first, dt.time(), dt.UTC).timestamp())
    return {"period1": str(period1), "period2": str(int(now.timestamp())), "interval": "1d", "events": "div,split"}


def _zone(meta: Mapping[str, Any]) -> dt.tzinfo:
    try:
        return ZoneInfo(str(meta.get("exchangeTimezoneName") or NEW_YORK))
    except (ZoneInfoNotFoundError, ValueError):
        return dt.timezone(dt.timedelta(seconds=int(meta.get("gmtoffset") or 0)))


def _error(body: Any, symbol: str) -> DataError | None:
    chart = body.get("chart") if isinstance(body, dict) else None
    if not isinstance(chart, dict):
        return DataError(f"the price service sent no chart for {symbol}")
    error = chart.get("error")
    if error:
        code = str(error.get("code", "")) if isinstance(error, dict) else str(error)
        description = str(error.get("description", "")) if isinstance(error, dict) else ""
        if code in ("Not Found", "Bad Request"):
            return DataUnavailableError(f"the price service has no prices for {symbol}: {description or code}")
        return DataError(f"the price service refused prices for {symbol}: {code} {description}".strip())
    if not chart.get("result"):
        return DataUnavailableError(f"the price service has no prices for {symbol}")
    return None


def parse_chart(body: Any, symbol: str) -> Chart:
    """The chart's daily bars and events; DataUnavailableError for a symbol it does not know."""
    if (error := _error(body, symbol)) is not None:
        raise error
    result = body["chart"]["result"][0]
    zone = _zone(result.get("meta") or {})

    def day(ts: Any) -> dt.date:
        return dt.datetime.fromtimestamp(int(ts), zone).date()

    stamps = result.get("timestamp") or []
    quote_ = (result.get("indicators", {}).get("quote") or [{}])[0]
    adjclose = ((result.get("indicators", {}).get("adjclose") or [{}])[0]).get("adjclose")
    dates: list[dt.date] = []
    bars: list[Price] = []
    closes: list[float] = []
    for i, ts in enumerate(stamps):
        o, h, low, c = (quote_.get(k, [None] * len(stamps))[i] for k in ("open", "high", "low", "close"))
        if o is None or h is None or low is None or c is None or c <= 0:
            continue  # a bar without prices (a halt, or the current session not yet quoted)
        a = adjclose[i] if adjclose and adjclose[i] is not None else c
        factor = a / c
        volume = quote_.get("volume", [None] * len(stamps))[i]
        when = day(ts)
        if dates and when <= dates[-1]:
            continue  # a duplicate session (the live bar repeated)
        dates.append(when)
        closes.append(float(c))
        bars.append(Price(open=o * factor, high=h * factor, low=low * factor, close=c * factor,
                          volume=int(volume or 0), time=when.isoformat()))
    events = result.get("events") or {}
    splits = sorted((day(e["date"]), float(e["numerator"]) / float(e["denominator"]))
                    for e in (events.get("splits") or {}).values() if e.get("denominator"))
    dividends = sorted((day(e["date"]), float(e["amount"])) for e in (events.get("dividends") or {}).values())
    return Chart(tuple(dates), tuple(bars), tuple(closes), tuple(splits), tuple(dividends))
