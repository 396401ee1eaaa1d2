"""Put one ticker's datasets together into the Snapshot every analyst reads."""

from __future__ import annotations

import datetime as dt

from hedgeflow.cache_rules import fingerprint
from hedgeflow.data import PRICE_ADJUSTMENT, DataProvider
from hedgeflow.schemas import CompanyNews, FinancialMetrics, InsiderTrade, LineItem, Price, Snapshot

__all__ = ["assemble_snapshot", "build_snapshot", "price_history_start"]

PRICE_LOOKBACK_DAYS = 400  # a year of sessions: 6-month momentum, EMA 55, Hurst need it
METRICS_HISTORY = 10
LINE_ITEM_HISTORY = 10
QUARTERS_HISTORY = 12


def assemble_snapshot(
    *,
    ticker: str,
    start: dt.date,
    end: dt.date,
    provider: str,
    prices: list[Price],
    metrics: list[FinancialMetrics],
    line_items: list[LineItem],
    quarterly_line_items: list[LineItem],
    insider_trades: list[InsiderTrade] | None,
    news: list[CompanyNews] | None,
    market_cap: float | None,
    unavailable: dict[str, str] | None = None,
) -> Snapshot:
    """Assemble fetched datasets; name every dataset the provider lacks, or that failed (``unavailable``: why)."""
    failed = unavailable or {}
    missing: list[str] = []
    if insider_trades is None:
        missing.append(f"insider_trades: {failed.get('insider_trades', f'not provided by {provider}')}")
    if news is None:
        missing.append(f"news: {failed.get('news', f'not provided by {provider}')}")
    if not line_items:
        missing.append(f"line_items: no filings on or before {end}")
    if not metrics:
        missing.append(f"financial_metrics: no filings on or before {end}")
    snapshot = Snapshot(
        ticker=ticker,
        start=start,
        end=end,
        provider=provider,
        prices=tuple(prices),
        metrics=tuple(metrics),
        line_items=tuple(line_items),
        quarterly_line_items=tuple(quarterly_line_items),
        insider_trades=None if insider_trades is None else tuple(insider_trades),
        news=None if news is None else tuple(news),
        market_cap=market_cap,
        price_adjustment=PRICE_ADJUSTMENT.get(provider),
        missing=tuple(missing),
    )
    return snapshot.model_copy(update={"fingerprint": fingerprint(snapshot)})


def price_history_start(start: dt.date, end: dt.date) -> dt.date:
    """Prices are fetched from here: the window, or a year before ``end`` if that is earlier."""
    return min(start, end - dt.timedelta(days=PRICE_LOOKBACK_DAYS))


def build_snapshot(provider: DataProvider, ticker: str, start: dt.date, end: dt.date) -> Snapshot:
    """Fetch every dataset one after another: for tests and scripts, not the flow."""
    return assemble_snapshot(
        ticker=ticker,
        start=start,
        end=end,
        provider=provider.name,
        prices=provider.get_prices(ticker, price_history_start(start, end), end),
        metrics=provider.get_financial_metrics(ticker, end, "ttm", METRICS_HISTORY),
        line_items=provider.get_line_items(ticker, end, "annual", LINE_ITEM_HISTORY),
        quarterly_line_items=provider.get_line_items(ticker, end, "quarterly", QUARTERS_HISTORY),
        insider_trades=provider.get_insider_trades(ticker, start, end),
        news=provider.get_company_news(ticker, start, end),
        market_cap=provider.get_market_cap(ticker, end),
    )
