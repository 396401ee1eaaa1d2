"""Figures an analyst would sign (issue 14, sections 2-6), each checked against the bundled data by hand.

Sources: hedgeflow/data/bundled/sec/<TICKER>.json.gz (SEC company facts: concept,
accession number and filed date per figure) and prices/<TICKER>.csv.gz. Amounts
in millions of USD unless stated.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from hedgeflow import cache_rules, finmath
from hedgeflow.analysts import aswath_damodaran, growth, stanley_druckenmiller, warren_buffett
from hedgeflow.analysts.common import latest_metric, market_cap
from hedgeflow.analysts.registry import dependencies, load_analyst
from hedgeflow.cache_rules import code_version
from hedgeflow.data.offline import OfflineProvider
from hedgeflow.data.snapshot import build_snapshot
from hedgeflow.risk import correlation, dated_returns
from hedgeflow.schemas import Snapshot

D = dt.date
M = 1e6
COMPANIES = ("AAPL", "NVDA", "GOOGL", "TSLA", "META", "BRK-B", "V")
FLOW_FIELDS = ("revenue", "net_income", "operating_income", "gross_profit", "research_and_development",
               "interest_expense", "free_cash_flow", "capital_expenditure", "depreciation_and_amortization",
               "dividends_and_other_cash_distributions", "issuance_or_purchase_of_equity_shares", "ebit", "ebitda")


@pytest.fixture(scope="module")
def provider() -> OfflineProvider:
    return OfflineProvider()


def _snapshot(provider: OfflineProvider, ticker: str, end: dt.date) -> Snapshot:
    return build_snapshot(provider, ticker, end - dt.timedelta(days=91), end)


# --------------------------------------------------------------------------- 3. TTM


def test_ttm_is_last_year_plus_ytd_minus_prior_ytd(provider: OfflineProvider) -> None:
    """TSLA as of 2025-04-30, TTM net income to 2025-03-31 = 7,091 - 1,390 + 409 = 6,110.

    NetIncomeLoss: FY2024 7,091 (10-K 0001628280-25-003063, filed 2025-01-30); Q1 2025 409 and
    Q1 2024 restated to 1,390 (both 10-Q 0001628280-25-018911, filed 2025-04-23; the Q1 2024
    10-Q had 1,129 before Tesla's crypto-asset restatement). Summing quarters gave 6,371.
    """
    ttm = provider.get_line_items("TSLA", D(2025, 4, 30), "ttm", 1)[0]
    assert ttm.report_period == "2025-03-31"
    assert ttm.net_income == pytest.approx((7_091 - 1_390 + 409) * M)


def test_ttm_at_a_fiscal_year_end_is_the_annual_figure(provider: OfflineProvider) -> None:
    """Property over every bundled company and year end 2019-2025: a TTM ending on a fiscal year
    end equals that year's annual figure, field by field (TSLA to 2024-12-31: 7,091, not the
    7,352 that FY - restated 9M gave)."""
    checked = 0
    for ticker in COMPANIES:
        for end in [D(year, 12, 31) for year in range(2019, 2025)] + [D(2025, 10, 8)]:
            annual = {a.report_period: a for a in provider.get_line_items(ticker, end, "annual", 10)}
            for ttm in provider.get_line_items(ticker, end, "ttm", 10):
                year = annual.get(ttm.report_period)
                if year is None:
                    continue
                for name in FLOW_FIELDS:
                    expected = getattr(year, name)
                    if expected is not None:
                        assert getattr(ttm, name) == pytest.approx(expected), (ticker, end, ttm.report_period, name)
                        checked += 1
    assert checked > 500
    tsla = provider.get_line_items("TSLA", D(2025, 4, 30), "ttm", 2)[1]
    assert (tsla.report_period, tsla.net_income) == ("2024-12-31", 7_091 * M)


# --------------------------------------------------------------------------- 4. working capital


def test_working_capital_leaves_out_cash_securities_and_debt(provider: OfflineProvider) -> None:
    """AAPL 10-K FY2024 (0000320193-24-000123, filed 2024-11-01), balance sheet at 2024-09-28 (2023-09-30):
    current assets 152,987 (143,566) - cash 29,943 (29,965) - marketable securities 35,228 (31,590)
    - (current liabilities 176,392 (145,308) - commercial paper 9,967 (5,985) - current term debt
    10,912 (9,822)) = -67,697 (-47,490). With cash and debt it was -23,405 (-1,742)."""
    new, old = provider.get_line_items("AAPL", D(2025, 1, 31), "annual", 2)
    assert new.working_capital == pytest.approx((152_987 - 29_943 - 35_228 - (176_392 - 9_967 - 10_912)) * M)
    assert new.working_capital == pytest.approx(-67_697 * M)
    assert old.working_capital == pytest.approx(-47_490 * M)


def test_fcff_uses_non_cash_working_capital_and_the_bridge_adds_cash_once(provider: OfflineProvider) -> None:
    """AAPL as of 2025-01-31, FY2024: FCFF = EBIT 123,216 x (1 - 21 %) + D&A 11,445 - capex 9,447
    - change in non-cash working capital (-67,697 - -47,490 = -20,207) = 119,545.64. Equity value
    = the DCF's firm value - total debt + cash 29,943, cash counted once."""
    snapshot = _snapshot(provider, "AAPL", D(2025, 1, 31))
    dcf = aswath_damodaran.analyze(snapshot).sub_score("dcf")
    assert dcf.figures["fcff"] == pytest.approx((123_216 * 0.79 + 11_445 - 9_447 + 20_207) * M)
    t, item = aswath_damodaran.THRESHOLDS, snapshot.line_items[0]
    firm = finmath.dcf_value(dcf.figures["fcff"], dcf.figures["dcf_growth"], dcf.figures["wacc"],
                             t.terminal_growth, t.growth_years)
    assert item.cash_and_equivalents == 29_943 * M
    assert dcf.figures["dcf_equity_value"] == pytest.approx(firm - item.total_debt + item.cash_and_equivalents)


# --------------------------------------------------------------------------- 5. shares and market cap


def test_shares_prefer_cover_page_then_basic(provider: OfflineProvider) -> None:
    """AAPL FY2024: the cover page (dei EntityCommonStockSharesOutstanding, 15,115,823,000 at 2024-10-18,
    10-K filed 2024-11-01) wins over the balance sheet (15,116,786,000 at 2024-09-28).
    META reports neither: its basic weighted average for 2024 (2,534 M, 10-K filed 2025-01-30) wins
    over the diluted one (2,614 M) it used before."""
    aapl = provider.get_line_items("AAPL", D(2025, 1, 31), "annual", 1)[0]
    assert aapl.outstanding_shares == 15_115_823_000
    meta = provider.get_line_items("META", D(2025, 3, 31), "annual", 1)[0]
    assert (meta.report_period, meta.outstanding_shares) == ("2024-12-31", 2_534 * M)


def test_snapshot_says_how_closes_are_adjusted(provider: OfflineProvider) -> None:
    """The bundled closes are yfinance auto_adjust (splits and dividends; PROVENANCE.md), so the
    market cap from them is low for dividend payers: the snapshot carries it."""
    assert _snapshot(provider, "AAPL", D(2019, 6, 28)).price_adjustment == "splits_and_dividends"


# --------------------------------------------------------------------------- 2. staleness


def test_a_missing_market_cap_is_missing_not_borrowed(provider: OfflineProvider) -> None:
    """V as of 2022-06-30: no share count since 2020-09-30 (V's count is dividends declared /
    dividends per share, and none is derivable for those quarters), so no market cap. The old
    walk-back returned the 2020-09-30 metrics' 426,397 M (close x shares then) and a P/E of 39.2
    from the TTM ending 2020-09-30; now the figures are missing and the valuation abstains."""
    snapshot = _snapshot(provider, "V", D(2022, 6, 30))
    assert snapshot.market_cap is None
    assert snapshot.metrics[6].report_period == "2020-09-30" and snapshot.metrics[6].market_cap is not None
    assert market_cap(snapshot) is None
    assert latest_metric(snapshot, "price_to_earnings_ratio") is None
    valuation = stanley_druckenmiller.analyze(snapshot).sub_score("valuation")
    assert valuation.score is None and "no current market cap" in valuation.details


def test_stale_metrics_are_not_current(provider: OfflineProvider) -> None:
    """A ttm period that ended more than 200 days before the as-of date is not current."""
    snapshot = _snapshot(provider, "AAPL", D(2025, 1, 31))
    assert latest_metric(snapshot, "net_margin") is not None
    old = snapshot.model_copy(update={"end": D(2025, 9, 30)})  # newest ttm ends 2024-12-28
    assert latest_metric(old, "net_margin") is None


def test_peg_applies_its_own_no_growth_case(provider: OfflineProvider) -> None:
    """AAPL as of 2023-03-31: TTM net income to 2022-12-31 = FY2022 99,803 + Q1 FY23 29,998 - Q1 FY22
    34,630 = 95,171 against 100,555 a year earlier: growth -5.35 %, so no PEG (the rule's -1),
    not the 4.36 of the TTM to 2022-09-24 that the walk-back found."""
    snapshot = _snapshot(provider, "AAPL", D(2023, 3, 31))
    assert snapshot.metrics[0].earnings_growth == pytest.approx(95_171 / 100_555 - 1, abs=1e-5)
    assert snapshot.metrics[1].peg_ratio == pytest.approx(4.3626, abs=1e-4)
    assert growth.peg_of(snapshot) == -1.0
    assert "no positive PEG" in growth.analyze(snapshot).sub_score("valuation").details


# --------------------------------------------------------------------------- 6. smaller ones


def test_cagr_divides_by_the_years_between_the_dates(provider: OfflineProvider) -> None:
    """V as of 2025-10-08, book value per share: 34,006 / 2,319.05 M shares = 14.664 at 2018-09-30 and
    39,137 / 2,030.77 M = 19.272 at 2024-09-30; 2021 has no share count, so six values span
    2,192 days = 6.0014 years. CAGR = (19.272 / 14.664) ** (1 / 6.0014) - 1 = 4.66 % (5.62 % over
    points - 1 = 5)."""
    first, last = 34_006 / 2_319.0476190476193, 39_137 / 2_030.7692307692306
    expected = (last / first) ** (365.25 / 2_192) - 1
    assert expected == pytest.approx(0.04659, abs=1e-5)
    book = warren_buffett.analyze(_snapshot(provider, "V", D(2025, 10, 8))).sub_score("book_value")
    assert book.figures["book_value_per_share_cagr"] == pytest.approx(expected, abs=1e-9)


def test_correlation_pairs_returns_by_date(provider: OfflineProvider) -> None:
    """AAPL and SPY as of 2025-10-08: SPY's file ends 2025-10-07, a session early. By position the
    last 60 returns pair each AAPL day with SPY's day before (correlation 0.02); by date the 59
    common sessions give 0.4455 (numpy corrcoef on the closes joined by date)."""
    aapl = provider.get_prices("AAPL", D(2025, 6, 1), D(2025, 10, 8))
    spy = provider.get_prices("SPY", D(2025, 6, 1), D(2025, 10, 8))
    a, s = dated_returns(aapl, 60), dated_returns(spy, 60)
    common = sorted(a.keys() & s.keys())
    assert len(common) == 59 and common[-1] == "2025-10-07"
    close_a = {b.time: b.close for b in aapl}
    close_s = {b.time: b.close for b in spy}
    times = [b.time for b in aapl]
    by_hand = [(close_a[d] / close_a[times[times.index(d) - 1]] - 1, close_s[d] / close_s[times[times.index(d) - 1]] - 1)
               for d in common]
    expected = float(np.corrcoef(np.array(by_hand).T)[0, 1])
    assert correlation(a, s) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.4455, abs=1e-4)


def test_analyst_version_hashes_every_module_it_depends_on() -> None:
    deps = dependencies("warren_buffett")
    for module in ("hedgeflow.analysts.warren_buffett", "hedgeflow.analysts.base", "hedgeflow.analysts.common",
                   "hedgeflow.finmath", "hedgeflow.llm.prompts", "hedgeflow.schemas", "hedgeflow.data.xbrl"):
        assert module in deps, module
    assert load_analyst("warren_buffett").version == code_version(deps)
    edited = code_version(deps, read=lambda name: "# edited\n" + cache_rules._read(name)
                          if name == "hedgeflow.analysts.common" else cache_rules._read(name))
    assert edited != load_analyst("warren_buffett").version
    assert "hedgeflow.analysts.common" not in dependencies("technicals")  # it does not import it

