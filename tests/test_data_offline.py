"""OfflineProvider against the bundled real data; every expected figure names its source fact.

Sources: hedgeflow/data/bundled/sec/<TICKER>.json.gz (SEC company facts; concept,
accession number and filed date given per figure) and prices/<TICKER>.csv.gz.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from hedgeflow.data import DataProvider
from hedgeflow.data.offline import OfflineProvider
from hedgeflow.data.snapshot import build_snapshot
from hedgeflow.errors import DataUnavailableError
from hedgeflow.schemas import LineItem

D = dt.date
LAST = D(2025, 10, 8)
COMPANIES = ("AAPL", "NVDA", "GOOGL", "TSLA", "META", "BRK-B", "V")


@pytest.fixture(scope="module")
def provider() -> OfflineProvider:
    return OfflineProvider()


def _annual(provider: OfflineProvider, ticker: str, end: dt.date, report_period: str) -> LineItem:
    items = provider.get_line_items(ticker, end, "annual", 10)
    return next(i for i in items if i.report_period == report_period)


def test_conforms_to_the_protocol(provider: OfflineProvider) -> None:
    typed: DataProvider = provider  # mypy checks the structural match
    assert typed.name == "offline"


def test_tickers_and_ranges(provider: OfflineProvider) -> None:
    ranges = provider.tickers()
    assert set(ranges) == {*COMPANIES, "SPY"}
    assert ranges["AAPL"] == (D(2018, 1, 2), D(2025, 10, 8))  # data README table
    assert ranges["SPY"] == (D(2018, 1, 2), D(2025, 10, 7))


def test_aapl_fy2024(provider: OfflineProvider) -> None:
    item = _annual(provider, "AAPL", LAST, "2024-09-28")
    # RevenueFromContractWithCustomerExcludingAssessedTax 2023-10-01..2024-09-28,
    # accn 0000320193-24-000123, filed 2024-11-01.
    assert item.revenue == 391_035_000_000
    # NetIncomeLoss, same period and accn.
    assert item.net_income == 93_736_000_000
    # NetCashProvidedByUsedInOperatingActivities 118,254 M
    # - PaymentsToAcquirePropertyPlantAndEquipment 9,447 M (same accn).
    assert item.capital_expenditure == -9_447_000_000
    assert item.free_cash_flow == 108_807_000_000


def test_nvda_fy2025(provider: OfflineProvider) -> None:
    item = _annual(provider, "NVDA", LAST, "2025-01-26")
    # Revenues 2024-01-29..2025-01-26, accn 0001045810-25-000023, filed 2025-02-26.
    assert item.revenue == 130_497_000_000
    # NetIncomeLoss, same period and accn.
    assert item.net_income == 72_880_000_000


def test_aapl_derived_q4_fy2024(provider: OfflineProvider) -> None:
    quarters = provider.get_line_items("AAPL", LAST, "quarterly", 12)
    q4 = next(q for q in quarters if q.report_period == "2024-09-28")
    # No three-month fact exists: FY 391,035 M (accn 0000320193-24-000123) minus 9M 296,105 M
    # (RevenueFromContract..., 2023-10-01..2024-06-29, accn 0000320193-24-000081, filed 2024-08-02).
    assert q4.revenue == 94_930_000_000
    # NetIncomeLoss FY 93,736 M minus 9M 79,000 M (same 10-Q).
    assert q4.net_income == 14_736_000_000


def test_ttm_is_four_quarters(provider: OfflineProvider) -> None:
    ttm = provider.get_line_items("AAPL", LAST, "ttm", 1)[0]
    quarters = provider.get_line_items("AAPL", LAST, "quarterly", 4)
    assert ttm.report_period == quarters[0].report_period == "2025-06-28"  # FY2025 10-K filed 2025-10-31
    assert ttm.revenue == pytest.approx(sum(q.revenue or 0 for q in quarters), abs=1.0)
    assert ttm.shareholders_equity == quarters[0].shareholders_equity


def test_visa_sanity(provider: OfflineProvider) -> None:
    item = _annual(provider, "V", LAST, "2024-09-30")
    # StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest at 2024-09-30, accn 0001403161-24-000058.
    assert item.shareholders_equity == 39_137_000_000
    # RevenueFromContractWithCustomerExcludingAssessedTax FY2024, same accn.
    assert item.revenue == 35_926_000_000
    # Visa reports no gross profit, cost of revenue or R&D concept: they stay None, never 0.
    assert item.gross_profit is None and item.research_and_development is None
    assert item.capital_expenditure is not None and item.capital_expenditure < 0  # PaymentsToAcquireProductiveAssets


def test_berkshire_sanity(provider: OfflineProvider) -> None:
    item = _annual(provider, "BRK-B", LAST, "2024-12-31")
    # Revenues (the total) FY2024, accn 0000950170-25-025210, filed 2025-02-24; the larger of the candidates.
    assert item.revenue == 371_433_000_000
    # StockholdersEquity at 2024-12-31, same accn.
    assert item.shareholders_equity == 649_368_000_000
    assert item.net_income == 88_995_000_000
    # An insurer reports no current assets, no gross profit, no debt total under these tags.
    assert item.current_assets is None and item.working_capital is None and item.gross_profit is None


def test_point_in_time_hides_later_filings(provider: OfflineProvider) -> None:
    # NVDA's FY2025 10-K (accn 0001045810-25-000023) was filed on 2025-02-26.
    before = provider.get_line_items("NVDA", D(2025, 2, 25), "annual", 10)
    after = provider.get_line_items("NVDA", D(2025, 2, 26), "annual", 10)
    assert before[0].report_period == "2024-01-28"  # FY2024: NetIncomeLoss 29,760 M
    assert before[0].net_income == 29_760_000_000
    assert all(i.report_period != "2025-01-26" for i in before)
    assert after[0].report_period == "2025-01-26"
    ttm_before = provider.get_financial_metrics("NVDA", D(2025, 2, 25), "ttm", 1)[0]
    assert ttm_before.report_period == "2024-10-27"


def test_prices_stop_at_the_as_of_date(provider: OfflineProvider) -> None:
    prices = provider.get_prices("NVDA", D(2025, 1, 1), D(2025, 2, 25))
    assert prices[-1].time == "2025-02-25" and prices[0].time == "2025-01-02"


def test_nvda_market_cap_is_split_adjusted(provider: OfflineProvider) -> None:
    # Close 189.11 on 2025-10-08 (prices/NVDA.csv.gz) x 24.3 bn shares (dei EntityCommonStockSharesOutstanding
    # at 2025-08-22, accn 0001045810-25-000209, filed 2025-08-27) = 4.595 trn; reality was about 4.5 trn USD.
    cap = provider.get_market_cap("NVDA", LAST)
    assert cap is not None and abs(cap / 4.5e12 - 1.0) < 0.10
    # In 2019 NVDA had ~609 M pre-split shares at ~$160; after 40x, the same ~$100 bn value.
    cap_2019 = provider.get_market_cap("NVDA", D(2019, 6, 28))
    assert cap_2019 is not None and 80e9 < cap_2019 < 120e9


def test_metrics_history(provider: OfflineProvider) -> None:
    metrics = provider.get_financial_metrics("NVDA", LAST, "ttm", 10)
    assert len(metrics) == 10
    periods = [m.report_period for m in metrics]
    assert periods == sorted(periods, reverse=True)
    assert metrics[0].market_cap == provider.get_market_cap("NVDA", LAST)
    # Older entries are valued at their own report dates, so multiples have a history.
    assert all(m.enterprise_value_to_ebitda_ratio is not None for m in metrics[:6])
    assert metrics[0].price_to_earnings_ratio is not None and 20 < metrics[0].price_to_earnings_ratio < 100
    annual = provider.get_financial_metrics("AAPL", LAST, "annual", 3)
    assert [m.report_period for m in annual] == ["2024-09-28", "2023-09-30", "2022-09-24"]
    # FY2024 vs FY2023 revenue: 391,035 / 383,285 M - 1, both RevenueFromContract... in the FY2024
    # 10-K (accn 0000320193-24-000123, filed 2024-11-01; FY2023 first in accn 0000320193-23-000106).
    assert annual[0].revenue_growth == pytest.approx(391_035 / 383_285 - 1, abs=1e-9)


def test_missing_datasets_are_none_not_invented(provider: OfflineProvider) -> None:
    assert provider.get_insider_trades("AAPL", D(2025, 1, 1), LAST) is None
    assert provider.get_company_news("AAPL", D(2025, 1, 1), LAST) is None
    assert provider.get_line_items("SPY", LAST, "annual", 5) == []
    assert provider.get_financial_metrics("SPY", LAST, "ttm", 5) == []
    assert provider.get_market_cap("SPY", LAST) is None


def test_unknown_ticker_names_the_available_ones(provider: OfflineProvider) -> None:
    with pytest.raises(DataUnavailableError, match="MSFT") as info:
        provider.get_prices("MSFT", D(2025, 1, 1), LAST)
    assert all(t in str(info.value) for t in (*COMPANIES, "SPY"))


@pytest.mark.parametrize("end", [D(2017, 12, 29), D(2025, 10, 9)])
def test_dates_outside_the_range_name_it(provider: OfflineProvider, end: dt.date) -> None:
    with pytest.raises(DataUnavailableError, match="2018-01-02 to 2025-10-08"):
        provider.get_prices("AAPL", D(2017, 1, 1), end)
    with pytest.raises(DataUnavailableError, match="2018-01-02 to 2025-10-08"):
        provider.get_financial_metrics("AAPL", end)


def test_a_start_before_the_data_is_clamped(provider: OfflineProvider) -> None:
    prices = provider.get_prices("AAPL", D(2017, 1, 1), D(2018, 1, 5))
    assert [p.time for p in prices] == ["2018-01-02", "2018-01-03", "2018-01-04", "2018-01-05"]


@pytest.mark.parametrize("end", [LAST, D(2019, 6, 28)])
@pytest.mark.parametrize("ticker", [*COMPANIES, "SPY"])
def test_build_snapshot(provider: OfflineProvider, ticker: str, end: dt.date) -> None:
    snapshot = build_snapshot(provider, ticker, end - dt.timedelta(days=90), end)
    assert snapshot.prices and dt.date.fromisoformat(snapshot.prices[-1].time) <= end
    assert snapshot.insider_trades is None and snapshot.news is None
    if ticker == "SPY":
        assert not snapshot.metrics and not snapshot.line_items
        return
    assert snapshot.metrics and snapshot.line_items and snapshot.quarterly_line_items
    for item in (*snapshot.line_items, *snapshot.quarterly_line_items):
        assert dt.date.fromisoformat(item.report_period) < end
    # Market cap is missing only where no share count was filed within ~a year: BRK-B
    # (none after 2015) and V before its FY2020 10-K (no dividend-per-share tag yet).
    has_cap = snapshot.market_cap is not None
    assert has_cap == (ticker not in ("BRK-B",) and not (ticker == "V" and end.year == 2019))


def test_warm_snapshot_is_fast(provider: OfflineProvider) -> None:
    for ticker in COMPANIES:
        build_snapshot(provider, ticker, D(2025, 7, 1), LAST)  # parse each file once
    started = time.perf_counter()
    for ticker in COMPANIES:
        build_snapshot(provider, ticker, D(2025, 7, 1), LAST)
    assert (time.perf_counter() - started) / len(COMPANIES) < 0.05
