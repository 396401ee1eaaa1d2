"""The fake financialdatasets.ai server: envelopes, key check, paging, faults."""

from __future__ import annotations

import httpx

from tests.fakes import FAKE_KEY, FakeServer, fake_data, fake_data_server  # noqa: F401

HEADERS = {"X-API-KEY": FAKE_KEY}
PRICES = {"ticker": "AAPL", "interval": "day", "interval_multiplier": 1,
          "start_date": "2019-01-01", "end_date": "2024-06-28"}


def test_key_is_required(fake_data: FakeServer) -> None:
    assert httpx.get(f"{fake_data.url}/prices/", params=PRICES).status_code == 401
    assert httpx.get(f"{fake_data.url}/prices/", params=PRICES, headers={"X-API-KEY": "wrong"}).status_code == 401


def test_prices_page_through_next_page_url(fake_data: FakeServer) -> None:
    first = httpx.get(f"{fake_data.url}/prices/", params=PRICES, headers=HEADERS).json()
    assert len(first["prices"]) == 1000 and first["next_page_url"]
    second = httpx.get(first["next_page_url"], headers=HEADERS).json()
    assert second["prices"][0]["time"] > first["prices"][-1]["time"]


def test_envelopes(fake_data: FakeServer) -> None:
    metrics = httpx.get(f"{fake_data.url}/financial-metrics/", headers=HEADERS,
                        params={"ticker": "AAPL", "report_period_lte": "2024-06-28", "period": "ttm", "limit": 2})
    assert len(metrics.json()["financial_metrics"]) == 2
    items = httpx.post(f"{fake_data.url}/financials/search/line-items", headers=HEADERS, json={
        "tickers": ["AAPL"], "line_items": ["revenue"], "period": "annual", "limit": 3,
        "report_period_lte": "2024-06-28"}).json()["search_results"]
    assert len(items) == 3 and set(items[0]) == {"ticker", "report_period", "period", "currency", "revenue"}
    trades = httpx.get(f"{fake_data.url}/insider-trades/", headers=HEADERS,
                       params={"ticker": "AAPL", "filing_date_lte": "2024-06-28"}).json()
    news = httpx.get(f"{fake_data.url}/news/", headers=HEADERS, params={"ticker": "AAPL", "end_date": "2024-06-28"})
    facts = httpx.get(f"{fake_data.url}/company/facts/", headers=HEADERS, params={"ticker": "AAPL"}).json()
    assert trades == {"insider_trades": []} and news.json() == {"news": []}
    assert facts["company_facts"]["market_cap"] > 0


def test_faults_and_counters(fake_data: FakeServer) -> None:
    fake_data.mode(next=["rate_limit", "server_error"])
    limited = httpx.get(f"{fake_data.url}/prices/", params=PRICES, headers=HEADERS)
    failed = httpx.get(f"{fake_data.url}/prices/", params=PRICES, headers=HEADERS)
    assert (limited.status_code, limited.headers["retry-after"], failed.status_code) == (429, "2", 500)
    assert fake_data.counters()["by_status"] == {"429": 1, "500": 1}
