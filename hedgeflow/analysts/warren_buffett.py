"""Warren Buffett: durable moats, consistent earnings and an owner-earnings margin of safety."""

from __future__ import annotations

from dataclasses import dataclass

from hedgeflow import finmath
from hedgeflow.analysts.base import (
    SIGNAL_THRESHOLD,
    analysis_of,
    no_data,
    rules_signal,
    score_between,
    sub_score,
    vote,
)
from hedgeflow.analysts.common import (
    current_ratio,
    dated_ratio_series,
    debt_to_equity,
    finite,
    growth_cagr,
    latest,
    latest_metric,
    latest_ratio,
    market_cap,
    mean_score,
    ratio_series,
    series,
    up_share,
    years_between,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    min_roe: float = 0.15
    max_debt_to_equity: float = 0.5
    min_operating_margin: float = 0.15
    min_current_ratio: float = 1.5
    min_periods: int = 3  # annual periods needed to judge consistency and trends
    roe_share_bad: float = 0.3  # share of years with ROE above min_roe: -1 at 30%, +1 at 90%
    roe_share_good: float = 0.9
    margin_cv_bad: float = 0.5  # coefficient of variation of operating margin
    margin_cv_good: float = 0.1
    earnings_growth_bad: float = -0.2  # net income growth over the whole record: -1 at -20%, +1 at +50%
    earnings_growth_good: float = 0.5
    gross_margin_change_bad: float = -0.03  # newest minus oldest gross margin
    gross_margin_change_good: float = 0.03
    gross_margin_bad: float = 0.2  # newest gross margin level
    gross_margin_good: float = 0.5
    book_growth_bad: float = 0.0  # book value per share CAGR
    book_growth_good: float = 0.12
    discount_rate: float = 0.09
    terminal_growth: float = 0.025
    max_growth: float = 0.08  # owner earnings are projected at net-income CAGR, capped here
    dcf_years: int = 10
    safety_bad: float = -0.3  # margin of safety: -1 at -30%, +1 at +30%
    safety_good: float = 0.3
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    fundamentals: float = 1.0
    consistency: float = 0.5
    moat: float = 1.0
    management: float = 0.5
    pricing_power: float = 0.5
    book_value: float = 0.5
    intrinsic_value: float = 1.5


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Warren Buffett"
DESCRIPTION = "Durable moats, consistent earnings and an owner-earnings margin of safety."
PERSONA = (
    "You are Warren Buffett. You buy wonderful businesses at fair prices and hold them for decades. "
    "Rules: stay in your circle of competence; demand ROE above 15%, operating margins above 15%, "
    "debt below half of equity and a current ratio above 1.5; insist on earnings that grow year after "
    "year, a durable moat (persistent returns, stable margins, pricing power) and shareholder-minded "
    "management (buybacks, dividends); value the business by discounting owner earnings and buy only "
    "with a margin of safety. A great business at a high price is a neutral, a poor business is a pass."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _fundamentals(snapshot, t, w.fundamentals),
        _consistency(snapshot, t, w.consistency),
        _moat(snapshot, t, w.moat),
        _management(snapshot, w.management),
        _pricing_power(snapshot, t, w.pricing_power),
        _book_value(snapshot, t, w.book_value),
        _intrinsic_value(snapshot, t, w.intrinsic_value),
    )
    return analysis_of("warren_buffett", snapshot, subs)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _roe(snapshot: Snapshot) -> float | None:
    value = latest_metric(snapshot, "return_on_equity")
    return value if value is not None else latest_ratio(snapshot.line_items, "net_income", "shareholders_equity")


def _fundamentals(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    roe = _roe(snapshot)
    de = debt_to_equity(snapshot)
    margin = latest_metric(snapshot, "operating_margin")
    if margin is None:
        margin = latest_ratio(items, "operating_income", "revenue")
    current = current_ratio(snapshot)
    checks = [
        None if roe is None else roe > t.min_roe,
        None if de is None else de < t.max_debt_to_equity,
        None if margin is None else margin > t.min_operating_margin,
        None if current is None else current > t.min_current_ratio,
    ]
    passed = sum(1 for c in checks if c)
    known = sum(1 for c in checks if c is not None)
    if not known:
        return no_data("fundamentals", "no ROE, leverage, margin or liquidity figures", weight=weight)
    return sub_score(
        "fundamentals", vote(checks), weight=weight,
        details=f"{passed} of {known} checks pass (ROE, debt/equity, operating margin, current ratio)",
        roe=roe, debt_to_equity=de, operating_margin=margin, current_ratio=current,
    )


def _consistency(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    earnings = series(snapshot.line_items, "net_income")
    if len(earnings) < t.min_periods:
        return no_data("consistency", f"fewer than {t.min_periods} years of net income", weight=weight)
    share = up_share(earnings)
    growth = finmath.growth_rate(earnings[-1], earnings[0])
    score = mean_score([None if share is None else 2.0 * share - 1.0, score_between(growth, t.earnings_growth_bad, t.earnings_growth_good)])
    return sub_score(
        "consistency", score, weight=weight,
        details=f"net income rose in {share or 0:.0%} of years, {growth:+.0%} over {len(earnings)} years",
        earnings_up_share=share, earnings_growth_total=growth,
    )


def _moat(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    roes = ratio_series(snapshot.line_items, "net_income", "shareholders_equity")
    margins = ratio_series(snapshot.line_items, "operating_income", "revenue")
    roe_share = sum(1 for r in roes if r > t.min_roe) / len(roes) if len(roes) >= t.min_periods else None
    cv = finmath.coefficient_of_variation(margins) if len(margins) >= t.min_periods else None
    if cv is not None and margins and sum(margins) / len(margins) <= 0:
        cv = None  # stability of losses is no moat
    score = mean_score([
        score_between(roe_share, t.roe_share_bad, t.roe_share_good),
        score_between(cv, t.margin_cv_bad, t.margin_cv_good),
    ])
    if score is None:
        return no_data("moat", f"fewer than {t.min_periods} years of ROE and margins", weight=weight)
    return sub_score(
        "moat", score, weight=weight,
        details=f"ROE above {t.min_roe:.0%} in {roe_share or 0:.0%} of years; "
        f"operating-margin CV {'n/a' if finite(cv) is None else f'{cv:.2f}'}",
        roe_persistence=roe_share, operating_margin_cv=cv,
    )


def _management(snapshot: Snapshot, weight: float) -> SubScore:
    items = snapshot.line_items
    equity_flow = latest(items, "issuance_or_purchase_of_equity_shares")
    dividends = latest(items, "dividends_and_other_cash_distributions")
    shares = series(items, "outstanding_shares")
    checks = [
        None if equity_flow is None else equity_flow < 0,  # net buybacks, not dilution
        None if dividends is None else dividends < 0,  # cash paid out
        None if len(shares) < 2 else shares[-1] <= shares[0],
    ]
    if all(c is None for c in checks):
        return no_data("management", "no buyback, dividend or share-count data", weight=weight)
    return sub_score(
        "management", vote(checks), weight=weight,
        details=", ".join(f"{label} {'n/a' if c is None else 'yes' if c else 'no'}" for label, c in zip(
            ("net buybacks", "dividends paid", "share count not rising"), checks)),
        net_equity_flow=equity_flow, dividends=dividends,
    )


def _pricing_power(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    margins = ratio_series(snapshot.line_items, "gross_profit", "revenue")
    if len(margins) < 2:
        return no_data("pricing_power", "fewer than two years of gross margin", weight=weight)
    change = margins[-1] - margins[0]
    score = mean_score([score_between(change, t.gross_margin_change_bad, t.gross_margin_change_good),
                        score_between(margins[-1], t.gross_margin_bad, t.gross_margin_good)])
    return sub_score(
        "pricing_power", score, weight=weight,
        details=f"gross margin {margins[-1]:.1%}, {change:+.1%} over {len(margins)} years",
        gross_margin=margins[-1], gross_margin_change=change,
    )


def _book_value(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    dated = dated_ratio_series(snapshot.line_items, "shareholders_equity", "outstanding_shares")
    per_share = [value for _, value in dated]
    if len(per_share) < t.min_periods:
        return no_data("book_value", f"fewer than {t.min_periods} years of book value per share", weight=weight)
    years = years_between(dated[0][0], dated[-1][0])  # between the report dates: gaps count
    growth = None if years is None else finite(finmath.cagr(per_share[0], per_share[-1], years))
    if growth is None:  # negative book value at one end: judge direction only
        growth = -1.0 if per_share[-1] < per_share[0] else 0.0
    return sub_score(
        "book_value", score_between(growth, t.book_growth_bad, t.book_growth_good), weight=weight,
        details=f"book value per share grew {growth:+.1%} a year",
        book_value_per_share_cagr=growth,
    )


def _intrinsic_value(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    if not items:
        return no_data("intrinsic_value", "no annual statements", weight=weight)
    newest = items[0]
    earnings = finite(finmath.owner_earnings(
        newest.net_income, newest.depreciation_and_amortization, newest.capital_expenditure))
    cap = market_cap(snapshot)
    if earnings is None or cap is None:
        return no_data("intrinsic_value", "owner earnings or market cap unavailable", weight=weight)
    growth = min(max(growth_cagr(items, "net_income") or 0.0, 0.0), t.max_growth)
    value = finmath.dcf_value(earnings, growth, t.discount_rate, t.terminal_growth, t.dcf_years)
    if finite(value) is None:  # owner earnings not positive: no value to protect
        return sub_score("intrinsic_value", -1.0, weight=weight, details="owner earnings are not positive",
                         owner_earnings=earnings, market_cap=cap)
    safety = finmath.margin_of_safety(value, cap)
    return sub_score(
        "intrinsic_value", score_between(safety, t.safety_bad, t.safety_good), weight=weight,
        details=f"owner-earnings DCF {value / 1e9:,.1f}bn at {growth:.1%} growth vs market cap {cap / 1e9:,.1f}bn: "
        f"margin of safety {safety:+.0%}",
        owner_earnings=earnings, intrinsic_value=value, market_cap=cap, margin_of_safety=safety, dcf_growth=growth,
    )
