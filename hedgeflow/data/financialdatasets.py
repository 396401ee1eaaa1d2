"""The financialdatasets.ai HTTP API as a DataProvider.

Failures are classified, not retried here: 429, 5xx, timeouts and dropped
connections raise TransientDataError (with the server's Retry-After) so the
Prefect task layer owns retries; an unknown ticker (404/400) raises
DataUnavailableError. The API key travels only in the X-API-KEY header and
never appears in a message, a log line or a repr.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from hedgeflow.errors import DataError, DataUnavailableError, TransientDataError
from hedgeflow.llm.errors import retry_after_seconds, scrub
from hedgeflow.schemas import LINE_ITEM_FIELDS, CompanyNews, FinancialMetrics, InsiderTrade, LineItem, Period, Price

__all__ = ["DEFAULT_BASE_URL", "FinancialDatasetsProvider"]

DEFAULT_BASE_URL = "https://api.financialdatasets.ai"
MAX_PAGES = 200  # a guard against a server that keeps paging
OPEN_RANGE_FIRST = dt.date(1970, 1, 1)  # the API lists tickers without their date range


class FinancialDatasetsProvider:
    """DataProvider over the financialdatasets.ai REST API (one pooled, thread-safe httpx.Client)."""

    name = "financialdatasets"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._key = api_key or os.environ.get("FINANCIAL_DATASETS_API_KEY") or None
        self.base_url = (base_url or os.environ.get("FINANCIAL_DATASETS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        headers = {"X-API-KEY": self._key} if self._key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers,
                                  timeout=httpx.Timeout(timeout, connect=connect_timeout))

    def __repr__(self) -> str:
        return f"FinancialDatasetsProvider(base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ HTTP

    def _request(self, method: str, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise TransientDataError(f"financialdatasets timed out fetching {what}") from None
        except httpx.TransportError as exc:
            raise TransientDataError(f"financialdatasets connection failed fetching {what} ({type(exc).__name__})") from None
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
            except ValueError:
                raise TransientDataError(f"financialdatasets sent an unreadable answer for {what}") from None
            if not isinstance(body, dict):
                raise DataError(f"financialdatasets sent an unexpected answer for {what}")
            return body
        detail = scrub(_message(response), self._key)[:200]
        if status == 429 or status >= 500 or status == 408:
            wait = retry_after_seconds(response.headers)
            raise TransientDataError(f"financialdatasets HTTP {status} fetching {what}: {detail}", retry_after_s=wait)
        if status in (401, 402, 403):
            raise DataError(f"financialdatasets refused the request for {what} (HTTP {status}); "
                            "check FINANCIAL_DATASETS_API_KEY or the data block")
        if status in (400, 404):
            raise DataUnavailableError(f"financialdatasets has no {what}: {detail}")
        raise DataError(f"financialdatasets HTTP {status} fetching {what}: {detail}")

    def _same_host(self, url: str) -> str:
        """Follow a next_page_url only on our own host: the key must not travel elsewhere."""
        absolute = urljoin(self.base_url + "/", url)
        if urlsplit(absolute).netloc != urlsplit(self.base_url).netloc:
            raise DataError(f"financialdatasets paged to another host ({urlsplit(absolute).netloc})")
        return absolute

    # ------------------------------------------------------------------ DataProvider

    def tickers(self) -> dict[str, tuple[dt.date, dt.date]]:
        """Tickers with prices; the API gives no date ranges, so each runs from 1970 to today."""
        body = self._request("GET", "/prices/tickers/", "the ticker list")
        today = dt.date.today()
        return {str(t).upper(): (OPEN_RANGE_FIRST, today) for t in body.get("tickers", [])}

    def get_prices(self, ticker: str, start: dt.date, end: dt.date) -> list[Price]:
        what = f"prices for {ticker}"
        params = {"ticker": ticker, "interval": "day", "interval_multiplier": 1,
                  "start_date": start.isoformat(), "end_date": end.isoformat()}
        body = self._request("GET", "/prices/", what, params=params)
        rows = list(body.get("prices") or [])
        for _ in range(MAX_PAGES):
            next_url = body.get("next_page_url")
            if not next_url:
                break
            body = self._request("GET", self._same_host(next_url), what)
            rows += body.get("prices") or []
        bars = [Price.model_validate({**row, "time": str(row["time"])[:10]}) for row in rows]
        return sorted((b for b in bars if start.isoformat() <= b.time <= end.isoformat()), key=lambda b: b.time)

    def get_financial_metrics(
        self, ticker: str, end: dt.date, period: Period = "ttm", limit: int = 10
    ) -> list[FinancialMetrics]:
        params = {"ticker": ticker, "report_period_lte": end.isoformat(), "period": period, "limit": limit}
        body = self._request("GET", "/financial-metrics/", f"financial metrics for {ticker}", params=params)
        return [FinancialMetrics.model_validate(row) for row in body.get("financial_metrics") or []][:limit]

    def get_line_items(
        self, ticker: str, end: dt.date, period: Period = "annual", limit: int = 10
    ) -> list[LineItem]:
        payload = {"tickers": [ticker], "line_items": list(LINE_ITEM_FIELDS), "period": period,
                   "limit": limit, "report_period_lte": end.isoformat()}
        body = self._request("POST", "/financials/search/line-items", f"line items for {ticker}", json=payload)
        rows = [LineItem.model_validate(row) for row in body.get("search_results") or []]
        return [row for row in rows if row.report_period <= end.isoformat()][:limit]

    def get_insider_trades(self, ticker: str, start: dt.date, end: dt.date) -> list[InsiderTrade] | None:
        params = {"ticker": ticker, "filing_date_gte": start.isoformat(), "filing_date_lte": end.isoformat(),
                  "limit": 1000}
        body = self._request("GET", "/insider-trades/", f"insider trades for {ticker}", params=params)
        return [InsiderTrade.model_validate(row) for row in body.get("insider_trades") or []]

    def get_company_news(self, ticker: str, start: dt.date, end: dt.date) -> list[CompanyNews] | None:
        params = {"ticker": ticker, "start_date": start.isoformat(), "end_date": end.isoformat(), "limit": 1000}
        body = self._request("GET", "/news/", f"news for {ticker}", params=params)
        return [CompanyNews.model_validate({"ticker": ticker, **row}) for row in body.get("news") or []]

    def get_market_cap(self, ticker: str, end: dt.date) -> float | None:
        """The newest TTM metrics' market cap as of ``end``; today's company facts when ``end`` is today."""
        metrics = self.get_financial_metrics(ticker, end, "ttm", 1)
        if metrics and metrics[0].market_cap is not None:
            return metrics[0].market_cap
        if end < dt.date.today():
            return None  # company facts hold today's value: wrong for a past date
        body = self._request("GET", "/company/facts/", f"company facts for {ticker}", params={"ticker": ticker})
        value = (body.get("company_facts") or {}).get("market_cap")
        return float(value) if value is not None else None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message", error))
        return str(body.get("message") or error or body)
    return str(body)

