"""FinancialDatasetsProvider against the fake API: offline-identical snapshots and classified failures."""

from __future__ import annotations

import datetime as dt

import pytest

from hedgeflow.data.financialdatasets import FinancialDatasetsProvider
from hedgeflow.data.offline import OfflineProvider
from hedgeflow.data.snapshot import build_snapshot
from hedgeflow.errors import DataError, DataUnavailableError, TransientDataError
from tests.fakes import FAKE_KEY, FakeServer, fake_data, fake_data_server  # noqa: F401

SAME = ("ticker", "start", "end", "prices", "metrics", "line_items", "quarterly_line_items", "market_cap")


@pytest.fixture
def provider(fake_data: FakeServer) -> FinancialDatasetsProvider:
    return FinancialDatasetsProvider(api_key=FAKE_KEY, base_url=fake_data.url, timeout=1.0)


@pytest.mark.parametrize(("ticker", "end"), [("AAPL", dt.date(2024, 6, 28)), ("NVDA", dt.date(2021, 3, 31)),
                                              ("BRK-B", dt.date(2023, 12, 29))])
def test_snapshots_match_the_offline_provider(provider: FinancialDatasetsProvider, ticker: str, end: dt.date) -> None:
    start = end - dt.timedelta(days=90)
    live = build_snapshot(provider, ticker, start, end)
    offline = build_snapshot(OfflineProvider(), ticker, start, end)
    for field in SAME:
        assert getattr(live, field) == getattr(offline, field), field
    assert live.insider_trades == () and live.news == ()  # the API answers empty lists, not "missing"


def test_prices_follow_pagination(provider: FinancialDatasetsProvider, fake_data: FakeServer) -> None:
    bars = provider.get_prices("AAPL", dt.date(2018, 1, 1), dt.date(2025, 1, 1))
    assert len(bars) > 1000 and bars == sorted(bars, key=lambda b: b.time)
    assert fake_data.counters()["by_path"]["/prices/"] == 2


def test_rate_limit_and_server_errors_are_transient(provider: FinancialDatasetsProvider, fake_data: FakeServer) -> None:
    fake_data.mode(next=["rate_limit", "server_error", "timeout"])
    with pytest.raises(TransientDataError) as limited:
        provider.get_financial_metrics("AAPL", dt.date(2024, 6, 28))
    assert limited.value.retry_after_s == 2.0
    with pytest.raises(TransientDataError):
        provider.get_line_items("AAPL", dt.date(2024, 6, 28))
    with pytest.raises(TransientDataError, match="timed out"):
        provider.get_company_news("AAPL", dt.date(2024, 1, 1), dt.date(2024, 6, 28))


def test_unknown_ticker_is_unavailable(provider: FinancialDatasetsProvider) -> None:
    with pytest.raises(DataUnavailableError, match="ZZZZ"):
        provider.get_prices("ZZZZ", dt.date(2024, 1, 1), dt.date(2024, 6, 28))


def test_bad_key_never_appears_in_the_error(fake_data: FakeServer) -> None:
    secret = "fd-live-DO-NOT-LEAK-1234567890"
    provider = FinancialDatasetsProvider(api_key=secret, base_url=fake_data.url)
    with pytest.raises(DataError) as caught:
        provider.get_prices("AAPL", dt.date(2024, 1, 1), dt.date(2024, 6, 28))
    assert "401" in str(caught.value) and secret not in str(caught.value) + repr(caught.value) + repr(provider)


def test_key_and_url_from_the_environment(monkeypatch: pytest.MonkeyPatch, fake_data: FakeServer) -> None:
    monkeypatch.setenv("FINANCIAL_DATASETS_API_KEY", FAKE_KEY)
    monkeypatch.setenv("FINANCIAL_DATASETS_BASE_URL", fake_data.url)
    assert "AAPL" in FinancialDatasetsProvider().tickers()
