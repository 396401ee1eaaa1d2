"""Market-data providers behind one interface.

A provider answers per dataset, so the task layer can fetch and cache each
dataset on its own; ``build_snapshot`` puts one ticker's datasets together.
Point in time: every method sees only what was known on ``end``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from hedgeflow.schemas import CompanyNews, FinancialMetrics, InsiderTrade, LineItem, Period, Price, PriceAdjustment

__all__ = ["PRICE_ADJUSTMENT", "DataProvider", "get_provider"]

# How each provider's daily closes are adjusted. The bundled prices are yfinance auto_adjust
# (splits and dividends; PROVENANCE.md). financialdatasets does not document it: None.
PRICE_ADJUSTMENT: dict[str, PriceAdjustment | None] = {"offline": "splits_and_dividends", "financialdatasets": None}


class DataProvider(Protocol):
    """What every market-data source offers. ``None`` means the dataset does not exist there."""

    name: str

    def tickers(self) -> dict[str, tuple[dt.date, dt.date]]:
        """Tickers this provider knows, with the first and last price date."""
        ...

    def get_prices(self, ticker: str, start: dt.date, end: dt.date) -> list[Price]: ...

    def get_financial_metrics(
        self, ticker: str, end: dt.date, period: Period = "ttm", limit: int = 10
    ) -> list[FinancialMetrics]: ...

    def get_line_items(
        self, ticker: str, end: dt.date, period: Period = "annual", limit: int = 10
    ) -> list[LineItem]: ...

    def get_insider_trades(
        self, ticker: str, start: dt.date, end: dt.date
    ) -> list[InsiderTrade] | None: ...

    def get_company_news(self, ticker: str, start: dt.date, end: dt.date) -> list[CompanyNews] | None: ...

    def get_market_cap(self, ticker: str, end: dt.date) -> float | None: ...


def get_provider(name: str = "offline", **options: Any) -> DataProvider:
    """The provider called ``name``: ``offline`` (bundled data), ``live`` (SEC EDGAR, keyless prices) or ``financialdatasets``."""
    if name == "offline":
        from hedgeflow.data.offline import OfflineProvider

        return OfflineProvider()
    if name == "financialdatasets":
        from hedgeflow.data.financialdatasets import FinancialDatasetsProvider

        return FinancialDatasetsProvider(**options)
    if name == "live":
        from hedgeflow.data.live import LiveProvider

        return LiveProvider(**options)
    raise ValueError(f"unknown data provider {name!r}; choose offline, live or financialdatasets")
