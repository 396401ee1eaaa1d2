"""Derivation rules of hedgeflow.data.xbrl and .metrics on hand-computable, constructed facts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hedgeflow.data.concepts import split_factor
from hedgeflow.data.metrics import DEFAULT_TAX_RATE, compute_metrics, tax_rate
from hedgeflow.data.xbrl import PeriodValues, derive_periods, finish, known_at, parse_company_facts, quarterize

D = dt.date
TOL = 1e-9


def fact(start: str | None, end: str, val: float, filed: str, form: str = "10-Q") -> dict[str, Any]:
    out: dict[str, Any] = {"end": end, "val": val, "accn": "x", "fy": 2023, "fp": "Q", "form": form, "filed": filed}
    if start:
        out["start"] = start
    return out


Rows = dict[str, list[dict[str, Any]]]


def company(usd: Rows, shares: Rows | None = None) -> dict[str, Any]:
    gaap = {name: {"units": {"USD": facts}} for name, facts in usd.items()}
    for name, facts in (shares or {}).items():
        gaap[name] = {"units": {"shares": facts}}
    return {"facts": {"us-gaap": gaap, "dei": {}}}


# A calendar fiscal year 2023, reported the usual way: Q1 as three months, then
# year-to-date 6M and 9M in 10-Qs, then only the full year in the 10-K.
# Revenue: Q1 20, H1 45, 9M 70, FY 100 -> quarters 20, 25, 25, 30.
REVENUE_2023 = [
    fact("2023-01-01", "2023-03-31", 20, "2023-04-28"),
    fact("2023-01-01", "2023-06-30", 45, "2023-07-28"),
    fact("2023-01-01", "2023-09-30", 70, "2023-10-27"),
    fact("2023-01-01", "2023-12-31", 100, "2024-02-02", "10-K"),
]


def _quarters(rows: list[dict[str, Any]]) -> dict[tuple[dt.date | None, dt.date], float]:
    view = known_at(parse_company_facts(company({"Revenues": rows}), "TEST"), D(2030, 1, 1))
    return quarterize(view["Revenues"])


def test_q4_is_fy_minus_nine_months() -> None:
    q = _quarters(REVENUE_2023)
    # Q4 = FY 100 - 9M 70 = 30; Q2 = 45 - 20; Q3 = 70 - 45.
    assert q[(D(2023, 10, 1), D(2023, 12, 31))] == 30
    assert q[(D(2023, 4, 1), D(2023, 6, 30))] == 25
    assert q[(D(2023, 7, 1), D(2023, 9, 30))] == 25
    assert q[(D(2023, 1, 1), D(2023, 3, 31))] == 20


def test_q4_is_fy_minus_three_reported_quarters_without_cumulatives() -> None:
    rows = [
        fact("2023-01-01", "2023-03-31", 20, "2023-04-28"),
        fact("2023-04-01", "2023-06-30", 25, "2023-07-28"),
        fact("2023-07-01", "2023-09-30", 24, "2023-10-27"),
        fact("2023-01-01", "2023-12-31", 100, "2024-02-02", "10-K"),
    ]
    # Q4 = 100 - (20 + 25 + 24) = 31.
    assert _quarters(rows)[(D(2023, 10, 1), D(2023, 12, 31))] == 31


def test_a_reported_quarter_wins_over_a_derived_one() -> None:
    rows = [*REVENUE_2023, fact("2023-10-01", "2023-12-31", 29, "2024-02-02", "10-K")]
    assert _quarters(rows)[(D(2023, 10, 1), D(2023, 12, 31))] == 29


def test_latest_filing_on_or_before_the_date_wins() -> None:
    rows = [
        fact("2023-01-01", "2023-12-31", 100, "2024-02-02", "10-K"),
        fact("2023-01-01", "2023-12-31", 90, "2025-02-03", "10-K"),  # restated in the next 10-K
        fact("2023-01-01", "2023-12-31", 80, "2025-04-01", "DEF 14A"),  # not a 10-K/10-Q: ignored
    ]
    facts = parse_company_facts(company({"Revenues": rows}), "TEST")
    key = (D(2023, 1, 1), D(2023, 12, 31))
    assert "Revenues" not in known_at(facts, D(2024, 2, 1))  # filed the next day: invisible
    assert known_at(facts, D(2024, 2, 2))["Revenues"][key] == 100
    assert known_at(facts, D(2025, 2, 3))["Revenues"][key] == 90
    assert known_at(facts, D(2026, 1, 1))["Revenues"][key] == 90


def test_split_factor_follows_the_filing_date() -> None:
    # NVDA split 4:1 on 2021-07-20 and 10:1 on 2024-06-10 (data README).
    assert split_factor("NVDA", D(2021, 5, 26)) == 40.0
    assert split_factor("NVDA", D(2021, 8, 20)) == 10.0
    assert split_factor("NVDA", D(2024, 8, 28)) == 1.0
    assert split_factor("BRK-B", D(2020, 1, 1)) == 1500.0  # Class A equivalents into B shares
    assert split_factor("META", D(2019, 1, 1)) == 1.0


def test_share_counts_are_put_on_the_adjusted_basis() -> None:
    raw = company({}, {"CommonStockSharesOutstanding": [fact(None, "2024-04-28", 2_460_000_000, "2024-05-29")]})
    facts = parse_company_facts(raw, "NVDA")
    # Filed before the 10:1 split of 2024-06-10: 2.46 bn x 10.
    assert facts["CommonStockSharesOutstanding"][0].val == 24_600_000_000


def test_finish_signs_and_derivations() -> None:
    v = finish({
        "revenue": 100.0, "cost_of_revenue": 60.0, "operating_income": None, "pretax_income": 18.0,
        "interest_expense": 2.0, "depreciation_and_amortization": 5.0, "operating_cash_flow": 30.0,
        "capex_paid": 8.0, "dividends_paid": 4.0, "buybacks_paid": 6.0, "long_term_debt": None,
        "long_term_debt_noncurrent": 40.0, "long_term_debt_current": 5.0, "commercial_paper": 3.0,
        "goodwill": 7.0, "current_assets": 50.0, "current_liabilities": 20.0,
    })
    assert v["gross_profit"] == 40.0  # 100 - 60
    assert v["ebit"] == 20.0  # no operating income: pre-tax 18 + interest 2
    assert v["ebitda"] == 25.0  # 20 + 5
    assert v["capital_expenditure"] == -8.0
    assert v["free_cash_flow"] == 22.0  # 30 - 8
    assert v["dividends_and_other_cash_distributions"] == -4.0
    assert v["issuance_or_purchase_of_equity_shares"] == -6.0
    assert v["total_debt"] == 48.0  # 40 + 5 + 3 commercial paper
    assert v["goodwill_and_intangible_assets"] == 7.0  # intangibles not reported
    assert v["working_capital"] == 38.0  # non-cash: 50 - (20 - 5 current debt - 3 commercial paper)
    for unreported in ("research_and_development", "total_assets", "shareholders_equity"):
        assert v.get(unreported) is None


def test_finish_leaves_unreported_concepts_none() -> None:
    v = finish({"revenue": 10.0})
    for name in ("ebit", "ebitda", "free_cash_flow", "capital_expenditure", "total_debt", "working_capital",
                 "goodwill_and_intangible_assets", "gross_profit"):
        assert v[name] is None


def test_ttm_sums_four_quarters_and_takes_the_latest_balance() -> None:
    rows = [
        *REVENUE_2023,
        fact("2024-01-01", "2024-03-31", 40, "2024-04-26"),
    ]
    assets = [fact(None, "2023-12-31", 500, "2024-02-02", "10-K"), fact(None, "2024-03-31", 520, "2024-04-26")]
    facts = parse_company_facts(company({"Revenues": rows, "Assets": assets}), "TEST")
    periods = derive_periods(known_at(facts, D(2030, 1, 1)))
    latest = periods.ttm[0]
    assert (latest.start, latest.end) == (D(2023, 4, 1), D(2024, 3, 31))
    assert latest.values["revenue"] == 25 + 25 + 30 + 40  # Q2..Q4 2023 + Q1 2024
    assert latest.values["total_assets"] == 520
    assert periods.annual[0].values["revenue"] == 100
    assert [q.end for q in periods.quarterly][:2] == [D(2024, 3, 31), D(2023, 12, 31)]


def _pv(**values: float | None) -> PeriodValues:
    return PeriodValues(D(2023, 1, 1), D(2023, 12, 31), finish(values))


def test_metrics_by_hand() -> None:
    current = _pv(
        revenue=200.0, gross_profit=120.0, operating_income=50.0, net_income=40.0, pretax_income=50.0,
        income_tax=10.0, interest_expense=5.0, depreciation_and_amortization=10.0, operating_cash_flow=60.0,
        capex_paid=20.0, dividends_paid=10.0, total_assets=400.0, shareholders_equity=160.0,
        current_assets=150.0, current_liabilities=100.0, inventory=30.0, long_term_debt=100.0,
        cash_and_equivalents=60.0, outstanding_shares=20.0,
    )
    prior = _pv(revenue=160.0, net_income=32.0, shareholders_equity=150.0, operating_cash_flow=50.0, capex_paid=20.0)
    m = compute_metrics("T", current, prior, "ttm", market_cap=800.0)
    assert m.enterprise_value == 840.0  # 800 + 100 debt - 60 cash
    assert m.price_to_earnings_ratio == pytest.approx(20.0, abs=TOL)  # 800 / 40
    assert m.price_to_book_ratio == pytest.approx(5.0, abs=TOL)  # 800 / 160
    assert m.price_to_sales_ratio == pytest.approx(4.0, abs=TOL)
    assert m.enterprise_value_to_ebitda_ratio == pytest.approx(14.0, abs=TOL)  # 840 / (50 + 10)
    assert m.free_cash_flow_yield == pytest.approx(0.05, abs=TOL)  # (60 - 20) / 800
    assert m.earnings_growth == pytest.approx(0.25, abs=TOL)  # 40 / 32 - 1
    assert m.peg_ratio == pytest.approx(0.8, abs=TOL)  # 20 / 25
    assert m.revenue_growth == pytest.approx(0.25, abs=TOL)
    assert m.free_cash_flow_growth == pytest.approx(4 / 3 - 1, abs=TOL)  # 40 vs 30
    # ROIC = 50 x (1 - 10/50) / (100 + 160 - 60) = 40 / 200.
    assert m.return_on_invested_capital == pytest.approx(0.2, abs=TOL)
    assert m.quick_ratio == pytest.approx(1.2, abs=TOL)  # (150 - 30) / 100
    assert m.current_ratio == pytest.approx(1.5, abs=TOL)
    assert m.interest_coverage == pytest.approx(10.0, abs=TOL)
    assert m.debt_to_equity == pytest.approx(0.625, abs=TOL)
    assert m.earnings_per_share == pytest.approx(2.0, abs=TOL)
    assert m.book_value_per_share == pytest.approx(8.0, abs=TOL)
    assert m.payout_ratio == pytest.approx(0.25, abs=TOL)  # 10 / 40
    assert m.gross_margin == pytest.approx(0.6, abs=TOL)


def test_metrics_without_price_or_with_losses() -> None:
    loss = _pv(revenue=100.0, net_income=-5.0, shareholders_equity=50.0)
    m = compute_metrics("T", loss, None, "annual", market_cap=None)
    assert m.market_cap is None and m.enterprise_value is None and m.price_to_earnings_ratio is None
    assert m.revenue_growth is None  # no prior period
    assert m.net_margin == pytest.approx(-0.05, abs=TOL)
    assert compute_metrics("T", loss, None, "annual", market_cap=500.0).price_to_earnings_ratio is None


def test_tax_rate_from_filing_else_statutory() -> None:
    assert tax_rate({"income_tax": 15.0, "pretax_income": 100.0}) == pytest.approx(0.15, abs=TOL)
    assert tax_rate({"income_tax": None, "pretax_income": 100.0}) == DEFAULT_TAX_RATE
    assert tax_rate({"income_tax": 5.0, "pretax_income": -10.0}) == DEFAULT_TAX_RATE
