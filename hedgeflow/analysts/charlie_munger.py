"""Charlie Munger: moat, management, predictability and a fair free-cash-flow yield."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hedgeflow import finmath
from hedgeflow.analysts.base import (
    SIGNAL_THRESHOLD,
    analysis_of,
    no_data,
    rules_signal,
    score_between,
    sub_score,
)
from hedgeflow.analysts.common import (
    capex_intensity,
    debt_to_equity,
    finite,
    insider_sub_score,
    latest,
    market_cap,
    mean_score,
    ratio_series,
    series,
    share_positive,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    min_roe: float = 0.15
    min_periods: int = 3
    roe_share_bad: float = 0.3  # share of years with ROE above min_roe
    roe_share_good: float = 0.8
    gross_margin_bad: float = 0.2
    gross_margin_good: float = 0.5
    capex_intensity_bad: float = 0.15  # |capex| / revenue: asset-light is better
    capex_intensity_good: float = 0.03
    cash_conversion_bad: float = 0.6  # free cash flow / net income
    cash_conversion_good: float = 1.1
    debt_to_equity_bad: float = 1.5
    debt_to_equity_good: float = 0.3
    share_change_bad: float = 0.05  # share count change over the record: dilution -1, buybacks +1
    share_change_good: float = -0.05
    revenue_growth_bad: float = -0.05  # mean yearly revenue growth
    revenue_growth_good: float = 0.10
    growth_cv_bad: float = 1.5  # coefficient of variation of yearly revenue growth
    growth_cv_good: float = 0.3
    normalise_years: int = 5  # free cash flow averaged over this many years
    fcf_yield_bad: float = 0.02  # normalised FCF / market cap: -1 at 2%, +1 at 8%
    fcf_yield_good: float = 0.08
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    moat: float = 0.35
    management: float = 0.25
    predictability: float = 0.25
    valuation: float = 0.15


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Charlie Munger"
DESCRIPTION = "Moat, management, predictability and a fair free-cash-flow yield."
PERSONA = (
    "You are Charlie Munger. You invert, always invert, and use a latticework of mental models. "
    "Rules: own only wonderful businesses with durable moats (high returns on capital, strong gross "
    "margins, little capital needed), run by honest, capable, shareholder-aligned managers who convert "
    "earnings to cash and avoid leverage; demand predictable revenue and cash flow; pay a fair price, "
    "judged by the yield of normalised free cash flow. Weigh moat 35%, management 25%, "
    "predictability 25%, valuation 15%. Avoid what you do not understand; say no far more than yes."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _moat(snapshot, t, w.moat),
        _management(snapshot, t, w.management),
        _predictability(snapshot, t, w.predictability),
        _valuation(snapshot, t, w.valuation),
    )
    return analysis_of("charlie_munger", snapshot, subs)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _moat(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    roes = ratio_series(items, "net_income", "shareholders_equity")
    roe_share = sum(1 for r in roes if r > t.min_roe) / len(roes) if len(roes) >= t.min_periods else None
    gross = ratio_series(items, "gross_profit", "revenue")
    gross_margin = gross[-1] if gross else None
    capex = capex_intensity(snapshot)
    score = mean_score([
        score_between(roe_share, t.roe_share_bad, t.roe_share_good),
        score_between(gross_margin, t.gross_margin_bad, t.gross_margin_good),
        score_between(capex, t.capex_intensity_bad, t.capex_intensity_good),
    ])
    if score is None:
        return no_data("moat", "no return, margin or capex history", weight=weight)
    return sub_score(
        "moat", score, weight=weight,
        details=f"ROE above {t.min_roe:.0%} in {roe_share or 0:.0%} of years, gross margin {gross_margin or 0:.0%}, "
        f"capex {capex or 0:.1%} of revenue",
        roe_persistence=roe_share, gross_margin=gross_margin, capex_intensity=capex,
    )


def _management(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    fcf, income = latest(items, "free_cash_flow"), latest(items, "net_income")
    conversion = finmath.safe_div(fcf, income) if income is not None and income > 0 else None
    de = debt_to_equity(snapshot)
    shares = series(items, "outstanding_shares")
    share_change = finmath.growth_rate(shares[-1], shares[0]) if len(shares) >= 2 else None
    insiders = insider_sub_score(snapshot)
    score = mean_score([
        score_between(conversion, t.cash_conversion_bad, t.cash_conversion_good),
        score_between(de, t.debt_to_equity_bad, t.debt_to_equity_good),
        score_between(share_change, t.share_change_bad, t.share_change_good),
        insiders.score,
    ])
    if score is None:
        return no_data("management", "no cash conversion, leverage, share or insider data", weight=weight)
    return sub_score(
        "management", score, weight=weight,
        details=f"FCF/net income {finite(conversion) or 0:.2f}, debt/equity {de or 0:.2f}, "
        f"share count {finite(share_change) or 0:+.1%}; {insiders.details}",
        cash_conversion=conversion, debt_to_equity=de, share_count_change=share_change,
    )


def _predictability(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    revenue = series(items, "revenue")
    if len(revenue) < t.min_periods:
        return no_data("predictability", f"fewer than {t.min_periods} years of revenue", weight=weight)
    growth = [finmath.growth_rate(new, old) for old, new in itertools.pairwise(revenue)]
    growth = [g for g in growth if finite(g) is not None]
    mean_growth = sum(growth) / len(growth) if growth else None
    cv = finmath.coefficient_of_variation(growth) if mean_growth is not None and mean_growth > 0 else None
    operating_positive = share_positive(series(items, "operating_income"))
    fcf_positive = share_positive(series(items, "free_cash_flow"))
    score = mean_score([
        score_between(mean_growth, t.revenue_growth_bad, t.revenue_growth_good),
        score_between(cv, t.growth_cv_bad, t.growth_cv_good) if mean_growth and mean_growth > 0 else -1.0,
        None if operating_positive is None else 2.0 * operating_positive - 1.0,
        None if fcf_positive is None else 2.0 * fcf_positive - 1.0,
    ])
    return sub_score(
        "predictability", score, weight=weight,
        details=f"revenue growth {mean_growth or 0:+.1%} a year (CV {finite(cv) or 0:.2f}); operating profit in "
        f"{operating_positive or 0:.0%}, free cash flow in {fcf_positive or 0:.0%} of years",
        mean_revenue_growth=mean_growth, revenue_growth_cv=cv,
        operating_profit_share=operating_positive, fcf_positive_share=fcf_positive,
    )


def _valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    flows = series(snapshot.line_items, "free_cash_flow")[-t.normalise_years:]
    cap = market_cap(snapshot)
    if not flows or cap is None:
        return no_data("valuation", "free cash flow or market cap unavailable", weight=weight)
    normalised = sum(flows) / len(flows)
    fcf_yield = normalised / cap
    return sub_score(
        "valuation", score_between(fcf_yield, t.fcf_yield_bad, t.fcf_yield_good), weight=weight,
        details=f"normalised FCF {normalised / 1e9:,.1f}bn over {len(flows)} years: yield {fcf_yield:.1%}",
        normalised_fcf=normalised, normalised_fcf_yield=fcf_yield, market_cap=cap,
    )
