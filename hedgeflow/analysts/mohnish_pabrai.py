"""Mohnish Pabrai: downside protection first, free-cash-flow yield and the potential to double."""

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
)
from hedgeflow.analysts.common import (
    current_ratio,
    debt_to_equity,
    finite,
    growth_cagr,
    latest,
    market_cap,
    mean_score,
    series,
    share_positive,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
    "fcf_yield",
]


@dataclass(frozen=True)
class Thresholds:
    current_ratio_bad: float = 0.8  # -1 at 0.8, +1 at 2.0
    current_ratio_good: float = 2.0
    debt_to_equity_bad: float = 1.5  # lower is better: -1 at 1.5, +1 at 0.3
    debt_to_equity_good: float = 0.3
    net_cash_to_cap_bad: float = -0.2  # (cash - debt) / market cap
    net_cash_to_cap_good: float = 0.05
    fcf_positive_share_bad: float = 0.5  # share of years with positive free cash flow
    fcf_positive_share_good: float = 1.0
    fcf_yield_bad: float = 0.02  # free cash flow / market cap: -1 at 2%, +1 at 10%
    fcf_yield_good: float = 0.10
    max_growth: float = 0.20  # growth used for doubling is the FCF or revenue CAGR, capped here
    doubling_years_bad: float = 10.0  # years to double at yield + growth: -1 at 10, +1 at 3
    doubling_years_good: float = 3.0
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    downside_protection: float = 1.5
    fcf_valuation: float = 1.2
    double_potential: float = 0.8


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Mohnish Pabrai"
DESCRIPTION = "Downside protection first, free-cash-flow yield and the potential to double."
PERSONA = (
    "You are Mohnish Pabrai, the Dhandho investor: heads I win, tails I don't lose much. "
    "Rules: protect the downside first (net cash or low debt, a current ratio above 1.5, free cash "
    "flow positive year after year); pay a high free-cash-flow yield (8-10% or more is attractive, "
    "under 3% is not); buy only what can plausibly double in two to three years from yield plus "
    "growth; prefer simple businesses and few bets; cloning good ideas is fine, leverage is not. "
    "Weak downside protection outweighs an exciting story."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _downside_protection(snapshot, t, w.downside_protection),
        _fcf_valuation(snapshot, t, w.fcf_valuation),
        _double_potential(snapshot, t, w.double_potential),
    )
    return analysis_of("mohnish_pabrai", snapshot, subs, market_cap=market_cap(snapshot))


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def fcf_yield(snapshot: Snapshot) -> float | None:
    """Latest annual free cash flow / market cap, else the ttm metrics' free-cash-flow yield."""
    fcf, cap = latest(snapshot.line_items, "free_cash_flow"), market_cap(snapshot)
    if fcf is not None and cap is not None:
        return fcf / cap
    return latest(snapshot.metrics, "free_cash_flow_yield")


def _downside_protection(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "downside_protection"
    ratio, leverage = current_ratio(snapshot), debt_to_equity(snapshot)
    cap = market_cap(snapshot)
    cash = latest(snapshot.line_items, "cash_and_equivalents")
    debt = latest(snapshot.line_items, "total_debt")
    net_cash_to_cap = None
    if cash is not None and cap is not None:
        net_cash_to_cap = (cash - (debt or 0.0)) / cap
    positive_share = share_positive(series(snapshot.line_items, "free_cash_flow"))
    parts = [
        score_between(ratio, t.current_ratio_bad, t.current_ratio_good),
        score_between(leverage, t.debt_to_equity_bad, t.debt_to_equity_good),
        score_between(net_cash_to_cap, t.net_cash_to_cap_bad, t.net_cash_to_cap_good),
        score_between(positive_share, t.fcf_positive_share_bad, t.fcf_positive_share_good),
    ]
    score = mean_score(parts)
    if score is None:
        return no_data(name, "no liquidity, leverage, cash or free-cash-flow figures", weight=weight)
    shown = [
        f"current ratio {ratio:.2f}" if ratio is not None else "current ratio not reported",
        f"debt/equity {leverage:.2f}" if leverage is not None else "debt/equity unknown",
        f"net cash {net_cash_to_cap:+.1%} of market cap" if net_cash_to_cap is not None else "",
        f"FCF positive in {positive_share:.0%} of years" if positive_share is not None else "",
    ]
    return sub_score(
        name,
        score,
        weight=weight,
        details=", ".join(s for s in shown if s),
        current_ratio=ratio,
        debt_to_equity=leverage,
        net_cash_to_market_cap=net_cash_to_cap,
        fcf_positive_share=positive_share,
    )


def _fcf_valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "fcf_valuation"
    value = fcf_yield(snapshot)
    if value is None:
        return no_data(name, "no free cash flow or market cap", weight=weight)
    return sub_score(
        name,
        score_between(value, t.fcf_yield_bad, t.fcf_yield_good),
        weight=weight,
        details=f"free-cash-flow yield {value:.1%}",
        fcf_yield=value,
    )


def _double_potential(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "double_potential"
    value = fcf_yield(snapshot)
    fcf_growth = growth_cagr(snapshot.line_items, "free_cash_flow")
    revenue_growth = growth_cagr(snapshot.line_items, "revenue")
    growth = fcf_growth if fcf_growth is not None else revenue_growth
    if value is None or growth is None:
        return no_data(name, "needs a free-cash-flow yield and a growth history", weight=weight)
    growth = max(-t.max_growth, min(t.max_growth, growth))
    expected = value + growth
    years = finite(finmath.doubling_years(expected))
    score = -1.0 if years is None else score_between(years, t.doubling_years_bad, t.doubling_years_good)
    when = f"doubles in {years:.1f} years" if years is not None else "does not compound toward a double"
    return sub_score(
        name,
        score,
        weight=weight,
        details=f"yield {value:.1%} + growth {growth:.1%} a year (capped at {t.max_growth:.0%}): {when}",
        fcf_cagr=fcf_growth,
        revenue_cagr=revenue_growth,
        expected_annual_return=expected,
        years_to_double=years,
    )
