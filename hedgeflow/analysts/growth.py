"""Growth analyst: growth trends, PEG and P/S valuation, margin trends, insiders and financial health."""

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
    insider_sub_score,
    latest,
    latest_metric,
    latest_ratio,
    market_cap,
    mean_score,
    ratio_series,
    years_between,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
    "peg_of", "yoy_growth",
]


@dataclass(frozen=True)
class Thresholds:
    revenue_growth_bad: float = 0.0  # year over year: -1 at 0%, +1 at 25%
    revenue_growth_good: float = 0.25
    earnings_growth_bad: float = 0.0
    earnings_growth_good: float = 0.30
    acceleration_bad: float = -0.10  # latest minus prior revenue growth
    acceleration_good: float = 0.10
    peg_bad: float = 2.5  # -1 at 2.5, +1 at 1.0
    peg_good: float = 1.0
    price_to_sales_bad: float = 15.0
    price_to_sales_good: float = 3.0
    margin_trend_years: int = 4  # newest margin against the one this many years before
    margin_change_bad: float = -0.03
    margin_change_good: float = 0.03
    debt_to_equity_bad: float = 1.5
    debt_to_equity_good: float = 0.3
    current_ratio_bad: float = 0.8
    current_ratio_good: float = 2.0
    fcf_margin_bad: float = 0.0
    fcf_margin_good: float = 0.15
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    growth_trends: float = 1.5
    valuation: float = 1.0
    margin_trends: float = 0.7
    insiders: float = 0.4
    financial_health: float = 0.6


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Growth Analyst"
DESCRIPTION = "Growth trends, PEG and P/S valuation, margin trends, insiders and financial health."
PERSONA = (
    "You are a growth analyst. You look for companies whose revenue and earnings grow fast and "
    "are accelerating, with widening gross and operating margins. Rules: revenue growth above 20% "
    "and rising is strong, below 5% is weak; a PEG under 1 is cheap and over 2.5 is expensive, "
    "and a price-to-sales ratio above 15 needs exceptional growth; insider buying confirms, heavy "
    "selling warns; a weak balance sheet or negative free cash flow caps your conviction."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _growth_trends(snapshot, t, w.growth_trends),
        _valuation(snapshot, t, w.valuation),
        _margin_trends(snapshot, t, w.margin_trends),
        insider_sub_score(snapshot, weight=w.insiders),
        _financial_health(snapshot, t, w.financial_health),
    )
    return analysis_of("growth", snapshot, subs, market_cap=market_cap(snapshot))


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def yoy_growth(snapshot: Snapshot, field: str) -> list[float]:
    """Year-over-year growth of an annual ``field``, oldest first; pairs missing a value, or not a
    year apart (a fiscal year missing between them), are skipped."""
    items = snapshot.line_items
    out: list[float] = []
    for new, old in zip(reversed(items[:-1]), reversed(items[1:])):
        years = years_between(old, new)
        if years is None or not 0.9 <= years <= 1.1:
            continue
        value = finite(finmath.growth_rate(getattr(new, field), getattr(old, field)))
        if value is not None:
            out.append(value)
    return out


def _growth_trends(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "growth_trends"
    revenue_path = yoy_growth(snapshot, "revenue")
    revenue_growth = latest_metric(snapshot, "revenue_growth")
    if revenue_growth is None and revenue_path:
        revenue_growth = revenue_path[-1]
    earnings_growth = latest_metric(snapshot, "earnings_growth")
    if earnings_growth is None:
        earnings_path = yoy_growth(snapshot, "net_income")
        earnings_growth = earnings_path[-1] if earnings_path else None
    acceleration = revenue_path[-1] - revenue_path[-2] if len(revenue_path) >= 2 else None
    score = mean_score(
        [
            score_between(revenue_growth, t.revenue_growth_bad, t.revenue_growth_good),
            score_between(earnings_growth, t.earnings_growth_bad, t.earnings_growth_good),
            score_between(acceleration, t.acceleration_bad, t.acceleration_good),
        ]
    )
    if score is None:
        return no_data(name, "fewer than two years of revenue or earnings", weight=weight)
    shown = [
        f"revenue growth {revenue_growth:+.1%}" if revenue_growth is not None else "",
        f"earnings growth {earnings_growth:+.1%}" if earnings_growth is not None else "",
        f"revenue growth changed {acceleration:+.1%} on the prior year" if acceleration is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        revenue_growth=revenue_growth, earnings_growth=earnings_growth, revenue_acceleration=acceleration,
    )


def _valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "valuation"
    cap = market_cap(snapshot)
    peg = peg_of(snapshot)
    price_to_sales = latest_metric(snapshot, "price_to_sales_ratio")
    if price_to_sales is None:
        price_to_sales = finite(finmath.safe_div(cap, latest(snapshot.line_items, "revenue")))
    peg_score = None if peg is None else (-1.0 if peg <= 0 else score_between(peg, t.peg_bad, t.peg_good))
    score = mean_score([peg_score, score_between(price_to_sales, t.price_to_sales_bad, t.price_to_sales_good)])
    if score is None:
        return no_data(name, "no PEG or price-to-sales figures", weight=weight)
    shown = [
        (f"PEG {peg:.2f}" if peg > 0 else "no positive PEG (earnings not growing)") if peg is not None else "",
        f"P/S {price_to_sales:.1f}" if price_to_sales is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        peg=peg if peg is None or peg > 0 else None, price_to_sales=price_to_sales,
    )


def peg_of(snapshot: Snapshot) -> float | None:
    """PEG = P/E / (earnings growth in %), from the current ttm metrics (else the latest annual growth).

    The rule's own "no growth" case: earnings that do not grow (growth <= 0) or a
    loss give -1 (no PEG worth paying), never an older period's PEG. ``None``
    without a current P/E or earnings growth to judge.
    """
    growth = latest_metric(snapshot, "earnings_growth")
    if growth is None:
        path = yoy_growth(snapshot, "net_income")
        growth = path[-1] if path else None
    pe = latest_metric(snapshot, "price_to_earnings_ratio")
    margin = latest_metric(snapshot, "net_margin")  # a loss leaves P/E undefined
    if growth is not None and growth <= 0:
        return -1.0
    if pe is None and margin is not None and margin <= 0 and market_cap(snapshot) is not None:
        return -1.0
    if pe is None or growth is None or pe <= 0:
        return None
    return pe / (growth * 100.0)


def _margin_change(snapshot: Snapshot, numerator: str, years: int) -> float | None:
    margins = ratio_series(snapshot.line_items[: years + 1], numerator, "revenue")
    return margins[-1] - margins[0] if len(margins) >= 2 else None


def _margin_trends(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "margin_trends"
    gross = _margin_change(snapshot, "gross_profit", t.margin_trend_years)
    operating = _margin_change(snapshot, "operating_income", t.margin_trend_years)
    score = mean_score(
        [
            score_between(gross, t.margin_change_bad, t.margin_change_good),
            score_between(operating, t.margin_change_bad, t.margin_change_good),
        ]
    )
    if score is None:
        return no_data(name, "fewer than two years of margins", weight=weight)
    shown = [
        f"gross margin {gross * 100:+.1f} pts" if gross is not None else "no gross profit reported",
        f"operating margin {operating * 100:+.1f} pts" if operating is not None else "",
    ]
    return sub_score(
        name,
        score,
        weight=weight,
        details=", ".join(s for s in shown if s) + f" over up to {t.margin_trend_years} years",
        gross_margin_change=gross, operating_margin_change=operating,
        operating_margin=latest_ratio(snapshot.line_items, "operating_income", "revenue"),
    )


def _financial_health(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "financial_health"
    leverage, liquidity = debt_to_equity(snapshot), current_ratio(snapshot)
    fcf_margin = latest_ratio(snapshot.line_items, "free_cash_flow", "revenue")
    score = mean_score(
        [
            score_between(leverage, t.debt_to_equity_bad, t.debt_to_equity_good),
            score_between(liquidity, t.current_ratio_bad, t.current_ratio_good),
            score_between(fcf_margin, t.fcf_margin_bad, t.fcf_margin_good),
        ]
    )
    if score is None:
        return no_data(name, "no leverage, liquidity or cash flow figures", weight=weight)
    shown = [
        f"debt/equity {leverage:.2f}" if leverage is not None else "",
        f"current ratio {liquidity:.2f}" if liquidity is not None else "current ratio not reported",
        f"FCF margin {fcf_margin:.1%}" if fcf_margin is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        debt_to_equity=leverage, current_ratio=liquidity, fcf_margin=fcf_margin,
    )
