"""The offline provider: real daily prices and SEC XBRL facts bundled with the package.

No key, no network. Each file is parsed once per process; the point-in-time
view of one ticker on one date is cached too, so a warm snapshot costs a few
milliseconds. The bundled set has no insider trades or news: those datasets
answer ``None`` (missing), never an invented list.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import functools
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from hedgeflow.data.catalogue import bundled_ranges
from hedgeflow.data.metrics import compute_metrics
from hedgeflow.data.xbrl import (
    CompanyFacts,
    Periods,
    PeriodValues,
    derive_periods,
    known_at,
    parse_company_facts,
    to_line_item,
)
from hedgeflow.errors import DataUnavailableError
from hedgeflow.schemas import CompanyNews, FinancialMetrics, InsiderTrade, LineItem, Period, Price

__all__ = ["BUNDLED_DIR", "OfflineProvider", "periods_known_at"]

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
MAX_SHARE_COUNT_AGE_DAYS = 400  # an older count (BRK-B's last is from 2015) gives no market cap
PRIOR_YEAR_DAYS = (350, 380)  # how far back "the same period a year earlier" ends


@dataclass(frozen=True)
class _PriceTable:
    dates: tuple[dt.date, ...]
    bars: tuple[Price, ...]


@functools.cache
def _price_files() -> dict[str, Path]:
    return {p.name.removesuffix(".csv.gz"): p for p in sorted((BUNDLED_DIR / "prices").glob("*.csv.gz"))}


@functools.cache
def _prices(ticker: str) -> _PriceTable:
    with gzip.open(_price_files()[ticker], "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    bars = tuple(
        Price(
            open=float(r["open"]), high=float(r["high"]), low=float(r["low"]),
            close=float(r["close"]), volume=int(float(r["volume"])), time=r["date"],
        )
        for r in rows
    )
    return _PriceTable(tuple(dt.date.fromisoformat(b.time) for b in bars), bars)


@functools.cache
def _bundle_last() -> dt.date:
    """The bundle's as-of date. SPY's file ends a session before the stocks (2025-10-07 vs
    2025-10-08); up to this date it answers with its last close, as on a holiday, so the
    benchmark exists on every date the stocks do."""
    return max(_prices(t).dates[-1] for t in _price_files())


@functools.cache
def _facts(ticker: str) -> CompanyFacts | None:
    path = BUNDLED_DIR / "sec" / f"{ticker}.json.gz"
    if not path.exists():
        return None  # SPY: a benchmark with prices only
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return parse_company_facts(json.load(handle), ticker)


def periods_known_at(facts: CompanyFacts | None, day: dt.date) -> Periods:
    """One company's periods as known on ``day``: the point-in-time rule both offline and live apply."""
    return Periods() if facts is None else derive_periods(known_at(facts, day))


@functools.cache
def _filing_dates(ticker: str) -> tuple[dt.date, ...]:
    facts = _facts(ticker) or {}
    return tuple(sorted({f.filed for series in facts.values() for f in series}))


def _periods(ticker: str, day: dt.date) -> Periods:
    """What is known on ``day`` changes only on a filing date: derived once per filing (a backtest asks often)."""
    filed = _filing_dates(ticker)
    i = bisect.bisect_right(filed, day)
    return _periods_filed(ticker, filed[i - 1] if i else dt.date.min)


@functools.lru_cache(maxsize=1024)
def _periods_filed(ticker: str, day: dt.date) -> Periods:
    return periods_known_at(_facts(ticker), day)


def _close_on_or_before(ticker: str, day: dt.date) -> float | None:
    table = _prices(ticker)
    i = bisect.bisect_right(table.dates, day)
    return table.bars[i - 1].close if i else None


def _prior_year(series: list[PeriodValues], current: PeriodValues) -> PeriodValues | None:
    """The entry ending about a year before ``current`` (same fiscal period, previous year)."""
    for candidate in series:
        if PRIOR_YEAR_DAYS[0] <= (current.end - candidate.end).days <= PRIOR_YEAR_DAYS[1]:
            return candidate
    return None


class OfflineProvider:
    """DataProvider over ``hedgeflow/data/bundled``: 7 companies and SPY, 2018-01-02 to 2025-10-08."""

    name = "offline"

    def tickers(self) -> dict[str, tuple[dt.date, dt.date]]:
        return dict(bundled_ranges())  # a copy: callers may change theirs

    def _check(self, ticker: str, end: dt.date) -> str:
        """The canonical ticker, or DataUnavailableError naming what the bundle has."""
        symbol = ticker.strip().upper().replace(".", "-")
        if symbol not in _price_files():
            raise DataUnavailableError(
                f"offline data has no ticker {ticker!r}; available: {', '.join(_price_files())}"
            )
        first, last = _prices(symbol).dates[0], _prices(symbol).dates[-1]
        if not first <= end <= max(last, _bundle_last()):
            raise DataUnavailableError(
                f"offline data for {symbol} covers {first} to {last}; {end} is outside that range"
            )
        return symbol

    def get_prices(self, ticker: str, start: dt.date, end: dt.date) -> list[Price]:
        """Daily bars from ``start`` to ``end``; a start before the first bar is clamped (lookback)."""
        table = _prices(self._check(ticker, end))
        lo = bisect.bisect_left(table.dates, start)
        hi = bisect.bisect_right(table.dates, end)
        return list(table.bars[lo:hi])

    def get_line_items(
        self, ticker: str, end: dt.date, period: Period = "annual", limit: int = 10
    ) -> list[LineItem]:
        symbol = self._check(ticker, end)
        series = self._series(symbol, end, period)
        return [to_line_item(symbol, values, period) for values in series[:limit]]

    def get_financial_metrics(
        self, ticker: str, end: dt.date, period: Period = "ttm", limit: int = 10
    ) -> list[FinancialMetrics]:
        """Newest first; the newest valued at the close on ``end``, older ones at their report date."""
        symbol = self._check(ticker, end)
        series = self._series(symbol, end, period)
        out = []
        for i, values in enumerate(series[:limit]):
            if i == 0:
                market_cap = self.get_market_cap(symbol, end)
            else:
                close = self._market_close(symbol, values.end)
                shares = values.values.get("outstanding_shares")
                market_cap = close * shares if close is not None and shares is not None else None
            out.append(compute_metrics(symbol, values, _prior_year(series[i + 1 :], values), period, market_cap))
        return out

    def get_insider_trades(self, ticker: str, start: dt.date, end: dt.date) -> list[InsiderTrade] | None:
        self._check(ticker, end)
        return None  # not in the bundled data

    def get_company_news(self, ticker: str, start: dt.date, end: dt.date) -> list[CompanyNews] | None:
        self._check(ticker, end)
        return None  # not in the bundled data

    def get_market_cap(self, ticker: str, end: dt.date) -> float | None:
        """Close on ``end`` x the latest split-adjusted share count filed by then (``None`` if that
        count is older than MAX_SHARE_COUNT_AGE_DAYS).

        The bundled closes are the only ones there are, and they are adjusted for dividends
        too: for dividend payers older market caps come out low (AAPL 2019-06-28 by about 4 %).
        Snapshots say so in ``price_adjustment``.
        """
        symbol = self._check(ticker, end)
        counts = self._periods_at(symbol, end).share_counts
        close = self._market_close(symbol, end)
        if not counts or close is None:
            return None
        as_of, shares = counts[-1]
        if (end - as_of).days > MAX_SHARE_COUNT_AGE_DAYS:
            return None
        return close * shares

    def _periods_at(self, symbol: str, day: dt.date) -> Periods:
        """The periods known on ``day`` (the live provider reads other facts through the same rule)."""
        return _periods(symbol, day)

    def _market_close(self, symbol: str, day: dt.date) -> float | None:
        """The close that values the company on ``day``: the bundle holds adjusted closes only."""
        return _close_on_or_before(symbol, day)

    def _series(self, symbol: str, end: dt.date, period: Period) -> list[PeriodValues]:
        periods = self._periods_at(symbol, end)
        return {"annual": periods.annual, "quarterly": periods.quarterly, "ttm": periods.ttm}[period]
