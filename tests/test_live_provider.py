"""The live provider against fake SEC, chart and RSS servers that serve the bundled real data.

Equality with the offline provider is the main check: the fakes serve the very
companyfacts documents and daily bars the bundle holds, so every figure the
two providers share must come out identical. SCWO is a company the bundle does
not have (tests/live_fakes/synthetic.py: its figures follow simple rules, so
the expected values below are computed by hand from those rules).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgeflow.data.live import LiveProvider, LiveSettings
from hedgeflow.data.live.calendar import NEW_YORK
from hedgeflow.data.offline import OfflineProvider
from hedgeflow.data.snapshot import build_snapshot
from hedgeflow.errors import DataUnavailableError
from tests.fakes import FakeServer
from tests.live_fakes import live_fake, live_fake_server, synthetic  # noqa: F401 - fixtures

SHARED = ("prices", "metrics", "line_items", "quarterly_line_items", "market_cap")


@pytest.fixture
def live(live_fake: FakeServer) -> LiveProvider:
    return LiveProvider(LiveSettings.from_env())


@pytest.mark.parametrize(
    ("ticker", "start", "end"),
    [
        ("AAPL", dt.date(2025, 7, 9), dt.date(2025, 10, 8)),  # the bundle's last date
        ("NVDA", dt.date(2024, 4, 1), dt.date(2024, 6, 28)),  # across the 10:1 split
        ("TSLA", dt.date(2022, 6, 1), dt.date(2022, 9, 30)),  # across the 3:1 split
        ("BRK-B", dt.date(2023, 1, 3), dt.date(2023, 3, 31)),  # class-A-equivalent share counts
        ("V", dt.date(2021, 1, 4), dt.date(2021, 3, 31)),  # counts derived from dividends
        ("SPY", dt.date(2025, 7, 1), dt.date(2025, 10, 7)),  # a fund: prices only, SEC has no facts
    ],
)
def test_a_bundled_ticker_gives_the_offline_snapshot(live: LiveProvider, ticker: str, start: dt.date,
                                                     end: dt.date) -> None:
    online = build_snapshot(live, ticker, start, end)
    offline = build_snapshot(OfflineProvider(), ticker, start, end)
    for field in SHARED:
        assert getattr(online, field) == getattr(offline, field), field
    assert online.prices and online.prices[-1].time <= end.isoformat()
    assert online.insider_trades is not None  # SEC has Form 4 data: a list, maybe empty, never "not provided"


def test_market_cap_uses_the_close_as_traded_and_analysis_the_adjusted_bars(live: LiveProvider) -> None:
    end = dt.date(2024, 6, 10)  # a week after SCWO's 2-for-1 split (2024-06-03)
    snap = build_snapshot(live, "SCWO", dt.date(2024, 3, 11), end)
    # synthetic.raw_close: 4 + 0.5 sin(1253 / 15) + 0.002 * 1253, 1253 days after 2021-01-04 -> 6.9864.
    raw = 6.9864
    # The latest count filed by then is the Q1 10-Q (filed 2024-05-10, before the split): 136 M pre-split
    # shares, which the chart's split event doubles to 272 M on today's basis.
    assert snap.market_cap == pytest.approx(raw * 272_000_000, rel=1e-12)
    last = snap.prices[-1]
    assert last.time == "2024-06-10"
    # Dividends of 0.05 paid after 2024-06-10 pull the adjusted close below the close as traded,
    # and every price of the bar is scaled by the same factor (the bundle's auto-adjust rule).
    assert last.close < raw
    assert last.open / round(raw * 0.995, 4) == pytest.approx(last.close / raw, rel=1e-12)


def test_share_counts_filed_after_the_split_are_not_adjusted_again(live: LiveProvider) -> None:
    # The Q1 2025 10-Q (filed 2025-05-10) reports 276 M post-split shares (260 M + 16 quarters x 1 M).
    cap = live.get_market_cap("SCWO", dt.date(2025, 5, 30))
    # raw_close(2025-05-30) = 4 + 0.5 sin(1607 / 15) + 0.002 * 1607 -> 7.3709
    assert cap == pytest.approx(7.3709 * 276_000_000, rel=1e-12)


def test_a_company_the_bundle_lacks_has_filings_metrics_and_insider_data(live: LiveProvider) -> None:
    snap = build_snapshot(live, "SCWO", dt.date(2025, 3, 1), dt.date(2025, 6, 2))
    assert snap.line_items and snap.quarterly_line_items and snap.metrics
    # FY2024 revenue: quarters 12..15 at 10 M + 0.5 M i -> 4 x 10 M + 0.5 M x (12 + 13 + 14 + 15) = 67 M
    assert snap.line_items[0].report_period == "2024-12-31" and snap.line_items[0].revenue == 67_000_000
    assert snap.insider_trades == ()  # its one Form 4 (filed 2025-05-02) holds grants only (code A)
    assert math.isfinite(snap.metrics[0].price_to_earnings_ratio or math.nan)


def test_insider_trades_are_point_in_time_by_filing_date(live: LiveProvider) -> None:
    # The recorded Apple Form 4 was filed 2022-05-06 for sales made 2022-05-04.
    assert live.get_insider_trades("AAPL", dt.date(2022, 2, 4), dt.date(2022, 5, 5)) == []
    trades = live.get_insider_trades("AAPL", dt.date(2022, 2, 5), dt.date(2022, 5, 6))
    assert trades is not None and len(trades) == 7
    # The document's seven S rows: 9136 + 5316 + 4006 + 900 + 1550 + 1800 + 2292 shares sold.
    assert sum(t.transaction_shares or 0 for t in trades) == -25_000
    first = trades[0]
    assert (first.name, first.title, first.is_board_director) == ("Adams Katherine L.", "SVP, GC and Secretary", False)
    assert first.transaction_value == pytest.approx(-9136 * 159.94)
    assert first.shares_owned_before_transaction == 468_198 + 9136
    assert all(t.filing_date == "2022-05-06" for t in trades)


def test_headlines_are_never_taken_from_after_the_as_of_date(live: LiveProvider) -> None:
    today = dt.datetime.now(NEW_YORK).date()
    end = today - dt.timedelta(days=1)
    news = live.get_company_news("SCWO", end - dt.timedelta(days=30), end)
    assert news, "the feed has headlines up to 5 days old, some on or before yesterday"
    assert all(dt.datetime.fromisoformat(n.date).astimezone(NEW_YORK).date() <= end for n in news)
    everything = live.get_company_news("SCWO", end - dt.timedelta(days=30), today)
    assert everything is not None and len(everything) > len(news)  # the newer ones exist but were left out


def test_headlines_for_a_past_date_the_feed_does_not_reach_are_missing(live: LiveProvider) -> None:
    snap = build_snapshot(live, "AAPL", dt.date(2025, 7, 9), dt.date(2025, 10, 8))
    assert snap.news is None and any(m.startswith("news:") for m in snap.missing)


def test_an_unknown_ticker_is_refused_and_one_the_price_service_lacks_is_unavailable(live: LiveProvider) -> None:
    with pytest.raises(DataUnavailableError, match="SEC lists no ticker 'NOPE'"):
        live.get_prices("NOPE", dt.date(2025, 1, 2), dt.date(2025, 3, 3))
    # MSFT is in SEC's list, but the fake chart has no bars for it: the recorded 404 body.
    with pytest.raises(DataUnavailableError, match="No data found, symbol may be delisted"):
        live.get_prices("MSFT", dt.date(2025, 1, 2), dt.date(2025, 3, 3))


def test_search_finds_tickers_by_company_name(live: LiveProvider) -> None:
    found = live.search("apple")
    assert [c.ticker for c in found] == ["AAPL"] and found[0].cik == 320193
    assert "BRK-B" in live.tickers() and "SCWO" in live.tickers()


def test_each_document_is_fetched_once_for_all_datasets(live: LiveProvider, live_fake: FakeServer) -> None:
    build_snapshot(live, "TSLA", dt.date(2024, 1, 2), dt.date(2024, 3, 28))
    build_snapshot(live, "TSLA", dt.date(2024, 1, 2), dt.date(2024, 3, 28))
    paths = live_fake.counters()["by_path"]
    assert paths["/v8/finance/chart/TSLA"] == 1
    assert paths["/api/xbrl/companyfacts/CIK0001318605.json"] == 1
    assert paths["/files/company_tickers.json"] == 1
    # A new provider (a new process) reads the ticker list from the file kept for a day.
    build_snapshot(LiveProvider(LiveSettings.from_env()), "TSLA", dt.date(2024, 1, 2), dt.date(2024, 3, 28))
    assert live_fake.counters()["by_path"]["/files/company_tickers.json"] == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(end=st.dates(dt.date(2021, 3, 1), dt.date(2025, 10, 31)))
def test_nothing_dated_after_the_as_of_date_is_seen(live: LiveProvider, end: dt.date) -> None:
    start = end - dt.timedelta(days=91)
    assert all(p.time <= end.isoformat() for p in live.get_prices("SCWO", start, end))
    trades = live.get_insider_trades("SCWO", start, end)
    assert trades is not None and all(start.isoformat() <= t.filing_date <= end.isoformat() for t in trades)
    for item in live.get_line_items("SCWO", end, "quarterly", 12) + live.get_line_items("SCWO", end, "annual", 10):
        # a period is known once filed: 40 days after a quarter, 60 after a year (synthetic.filed_on)
        assert dt.date.fromisoformat(item.report_period) + dt.timedelta(days=40) <= end
    cap = live.get_market_cap("SCWO", end)
    sessions = [d for d in synthetic.sessions(end) if d <= end]
    if cap is not None:  # the close as traded on the last session up to the as-of date x a share count,
        shares = cap / synthetic.raw_close(sessions[-1])  # and SCWO's counts are whole multiples of 500,000
        assert abs(shares - round(shares)) < 1e-3 and round(shares) % 500_000 == 0
