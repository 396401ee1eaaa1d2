"""Valuation analyst: four estimates of equity value, each set against the market cap.

DCF scenarios on free cash flow, owner earnings, EV/EBITDA against the
company's own history and a residual income model. Each method's gap,
(value - market cap) / market cap, becomes a sub-score; the weighted gap of the
methods with data decides the signal.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from hedgeflow import finmath
from hedgeflow.analysts.base import agent_signal, analysis_of, clamp, no_data, sub_score
from hedgeflow.analysts.common import growth_cagr
from hedgeflow.analysts.common import market_cap as current_market_cap
from hedgeflow.schemas import (
    AgentSignal,
    Analysis,
    LineItem,
    Signal,
    Snapshot,
    SubScore,
)

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Scenario", "Thresholds", "Weights", "analyze",
    "derive_signal",
]


@dataclass(frozen=True)
class Scenario:
    name: str
    growth_shift: float  # added to the base growth estimate, per year
    discount_rate: float
    weight: float


@dataclass(frozen=True)
class Thresholds:
    scenarios: tuple[Scenario, ...] = (  # the DCF's scenarios, weighted
        Scenario("bear", growth_shift=-0.05, discount_rate=0.12, weight=0.2),
        Scenario("base", growth_shift=0.0, discount_rate=0.10, weight=0.6),
        Scenario("bull", growth_shift=0.05, discount_rate=0.08, weight=0.2),
    )
    growth_floor: float = -0.05  # base growth estimate is clamped to [floor, cap]
    growth_cap: float = 0.15
    growth_default: float = 0.03  # used (and said) when no growth figure exists
    growth_years: int = 5  # revenue CAGR over at most this many annual reports
    dcf_years: int = 5
    terminal_growth: float = 0.025
    owner_discount_rate: float = 0.15
    owner_growth_cap: float = 0.05
    owner_margin_of_safety: float = 0.25  # haircut on the owner-earnings value
    ev_ebitda_min_history: int = 3  # older metrics entries needed for a median
    cost_of_equity: float = 0.10
    residual_terminal_growth: float = 0.03
    residual_margin_of_safety: float = 0.20
    gap_full: float = 0.30  # a method's gap of +/-30% is a full-strength sub-score
    gap_cap: float = 1.0  # one method's gap counts at most +/-100% in the weighted gap
    signal_gap: float = 0.15  # weighted gap beyond +/-15% is directional


@dataclass(frozen=True)
class Weights:
    dcf: float = 0.35
    owner_earnings: float = 0.35
    ev_ebitda: float = 0.15
    residual_income: float = 0.15


THRESHOLDS = Thresholds()
WEIGHTS = Weights()

NAME = "Valuation Analyst"
DESCRIPTION = "DCF scenarios, owner earnings, EV/EBITDA against history and residual income."
PERSONA = (
    "You are a valuation specialist. You estimate what the equity is worth four ways: a "
    "free-cash-flow DCF over bear, base and bull scenarios (weighted 0.2/0.6/0.2), owner "
    "earnings discounted at 15% with a 25% margin of safety, the EV/EBITDA multiple against "
    "the company's own median, and a residual income model (book value plus the present "
    "value of returns above a 10% cost of equity). Weight the DCF and owner earnings most. "
    "Bullish when the weighted value exceeds the market cap by more than 15%, bearish when it "
    "falls short by more than 15%, otherwise neutral; confidence grows with the size of the gap "
    "and with how many methods agree."
)


def analyze(
    snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS
) -> Analysis:
    t = thresholds
    market_cap = current_market_cap(snapshot)
    names = ("dcf", "owner_earnings", "ev_ebitda", "residual_income")
    w = (weights.dcf, weights.owner_earnings, weights.ev_ebitda, weights.residual_income)
    if not market_cap or market_cap <= 0:
        subs = tuple(no_data(n, "no market cap", weight=wt) for n, wt in zip(names, w))
        return analysis_of("valuation", snapshot, subs, gather=False)
    growth, growth_source = _base_growth(snapshot, t)
    latest = snapshot.line_items[0] if snapshot.line_items else None
    subs = (
        _dcf(latest, growth, growth_source, market_cap, t, w[0]),
        _owner_earnings(snapshot.line_items, growth, market_cap, t, w[1]),
        _ev_ebitda(snapshot, t, w[2]),
        _residual_income(snapshot, growth, market_cap, t, w[3]),
    )
    # the methods' figures share names (value, gap): they stay on their sub-scores
    return analysis_of(
        "valuation", snapshot, subs, gather=False,
        market_cap=market_cap, base_growth=growth, weighted_gap=_weighted_gap(subs, t),
    )


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    """Signal from the weighted gap g of the methods with data (each gap capped at +/-100%).

    bullish when g > +15%, bearish when g < -15%; confidence = 100 x coverage x
    (0.6 x strength + 0.4 x agreement), strength = min(1, |g| / 30%) for a directional
    call and 1 - |g| / 15% for a neutral one, agreement = weight share of methods on the
    side of the call.
    """
    t = thresholds
    subs = analysis.sub_scores
    scored = [s for s in subs if _gap(s) is not None]
    gap = _weighted_gap(subs, t)
    if not scored or math.isnan(gap):
        reasons = "; ".join(f"{s.name}: {s.details}" for s in subs)
        return agent_signal(analysis, "neutral", 0.0, f"No data to value ({reasons}).")
    scored_weight = sum(s.weight for s in scored) or 1.0
    signal: Signal
    if gap > t.signal_gap:
        signal, strength = "bullish", min(1.0, abs(gap) / (2 * t.signal_gap))
        agree = sum(s.weight for s in scored if (_gap(s) or 0.0) > 0)
    elif gap < -t.signal_gap:
        signal, strength = "bearish", min(1.0, abs(gap) / (2 * t.signal_gap))
        agree = sum(s.weight for s in scored if (_gap(s) or 0.0) < 0)
    else:
        signal, strength = "neutral", 1.0 - abs(gap) / t.signal_gap
        agree = sum(s.weight for s in scored if abs(_gap(s) or 0.0) <= t.signal_gap)
    coverage = scored_weight / (sum(s.weight for s in subs) or 1.0)
    confidence = 100.0 * coverage * (0.6 * strength + 0.4 * agree / scored_weight)
    decisive = sorted(
        scored, key=lambda s: abs(s.weight * clamp(_gap(s) or 0.0, -t.gap_cap, t.gap_cap)), reverse=True
    )
    text = f"{signal.capitalize()}: weighted value gap {gap:+.0%} of market cap; " + "; ".join(
        f"{s.name} gap {_gap(s) or 0.0:+.0%} ({s.details})" for s in decisive
    )
    absent = [s.name for s in subs if _gap(s) is None]
    if absent:
        text += f". No data for {', '.join(absent)}"
    return agent_signal(analysis, signal, confidence, text + ".")


# --------------------------------------------------------------------------- methods


def _valued(
    name: str, value: float, market_cap: float, t: Thresholds, weight: float, details: str, **figures: float | None
) -> SubScore:
    gap = finmath.margin_of_safety(value, market_cap)
    if math.isnan(gap):
        return no_data(name, f"{details}: the value could not be computed", weight=weight)
    return sub_score(
        name, gap / t.gap_full, weight=weight, details=f"{details}, value {value / 1e9:,.1f}bn",
        value=value, gap=gap, **figures,
    )


def _dcf(
    latest: LineItem | None, growth: float, source: str, market_cap: float, t: Thresholds, weight: float
) -> SubScore:
    fcf = latest.free_cash_flow if latest else None
    if fcf is None:
        return no_data("dcf", "free cash flow not reported", weight=weight)
    if fcf <= 0:
        return no_data("dcf", f"free cash flow {fcf / 1e9:,.1f}bn is not positive: a DCF is undefined", weight=weight)
    values = {
        s.name: finmath.dcf_value(fcf, growth + s.growth_shift, s.discount_rate, t.terminal_growth, t.dcf_years)
        for s in t.scenarios
    }
    value = finmath.weighted_mean(list(values.values()), [s.weight for s in t.scenarios])
    return _valued(
        "dcf", value, market_cap, t, weight, f"FCF {fcf / 1e9:,.1f}bn at {growth:+.1%} base growth ({source})",
        free_cash_flow=fcf, **{f"value_{k}": v for k, v in values.items()},
    )


def _owner_earnings(
    items: tuple[LineItem, ...], growth: float, market_cap: float, t: Thresholds, weight: float
) -> SubScore:
    if not items:
        return no_data("owner_earnings", "no annual line items", weight=weight)
    latest = items[0]
    wc_change = None
    if len(items) > 1 and latest.working_capital is not None and items[1].working_capital is not None:
        wc_change = latest.working_capital - items[1].working_capital
    earnings = finmath.owner_earnings(
        latest.net_income, latest.depreciation_and_amortization, latest.capital_expenditure, wc_change
    )
    if math.isnan(earnings):
        return no_data("owner_earnings", "net income, D&A or capex not reported", weight=weight)
    if earnings <= 0:
        return no_data("owner_earnings", f"owner earnings {earnings / 1e9:,.1f}bn are not positive", weight=weight)
    g = min(growth, t.owner_growth_cap)
    raw = finmath.dcf_value(earnings, g, t.owner_discount_rate, min(t.terminal_growth, g), t.dcf_years)
    value = raw * (1.0 - t.owner_margin_of_safety)
    return _valued(
        "owner_earnings", value, market_cap, t, weight, f"owner earnings {earnings / 1e9:,.1f}bn",
        owner_earnings=earnings, working_capital_change=wc_change,
    )


def _ev_ebitda(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    if not snapshot.metrics:
        return no_data("ev_ebitda", "no financial metrics", weight=weight)
    now = snapshot.metrics[0]
    current = now.enterprise_value_to_ebitda_ratio
    history = [
        m.enterprise_value_to_ebitda_ratio
        for m in snapshot.metrics[1:]
        if m.enterprise_value_to_ebitda_ratio is not None and m.enterprise_value_to_ebitda_ratio > 0
    ]
    if current is None or current <= 0 or now.enterprise_value is None:
        return no_data("ev_ebitda", "current EV/EBITDA not reported or not positive", weight=weight)
    if len(history) < t.ev_ebitda_min_history:
        need = t.ev_ebitda_min_history
        return no_data("ev_ebitda", f"{len(history)} earlier EV/EBITDA figures, {need} needed", weight=weight)
    median = statistics.median(history)
    own_cap = now.market_cap or snapshot.market_cap
    value = finmath.multiple_implied_equity_value(now.enterprise_value, current, median, own_cap)
    if math.isnan(value) or own_cap is None:
        return no_data("ev_ebitda", "enterprise value or market cap missing", weight=weight)
    return _valued(
        "ev_ebitda", value, own_cap, t, weight, f"EV/EBITDA {current:.1f} vs own median {median:.1f}",
        ev_ebitda=current, ev_ebitda_median=median,
    )


def _residual_income(
    snapshot: Snapshot, growth: float, market_cap: float, t: Thresholds, weight: float
) -> SubScore:
    latest = snapshot.line_items[0] if snapshot.line_items else None
    equity = latest.shareholders_equity if latest else None
    income = latest.net_income if latest else None
    if equity is None or income is None:
        return no_data("residual_income", "shareholders' equity or net income not reported", weight=weight)
    if equity <= 0:
        return no_data("residual_income", "book value is not positive", weight=weight)
    metrics = snapshot.latest_metrics
    bv_growth = metrics.book_value_growth if metrics and metrics.book_value_growth is not None else growth
    g = clamp(bv_growth, t.growth_floor, t.growth_cap)
    raw = finmath.residual_income_value(equity, income, t.cost_of_equity, g, t.dcf_years, t.residual_terminal_growth)
    value = raw * (1.0 - t.residual_margin_of_safety)
    return _valued(
        "residual_income", value, market_cap, t, weight,
        f"book value {equity / 1e9:,.1f}bn, ROE {income / equity:.0%} vs cost of equity {t.cost_of_equity:.0%}",
        book_value=equity, net_income=income,
    )


# --------------------------------------------------------------------------- helpers


def _base_growth(snapshot: Snapshot, t: Thresholds) -> tuple[float, str]:
    """Revenue CAGR over the annual reports (up to growth_years), else reported growth, else the default."""
    rate = growth_cagr(snapshot.line_items[: t.growth_years + 1], "revenue")  # over the years between the dates
    if rate is not None:
        return clamp(rate, t.growth_floor, t.growth_cap), "revenue_cagr"
    metrics = snapshot.latest_metrics
    for reported in (metrics.revenue_growth, metrics.earnings_growth) if metrics else ():
        if reported is not None and math.isfinite(reported):
            return clamp(reported, t.growth_floor, t.growth_cap), "reported"
    return t.growth_default, "default"


def _gap(sub: SubScore) -> float | None:
    return sub.figures.get("gap") if sub.score is not None else None


def _weighted_gap(subs: tuple[SubScore, ...], t: Thresholds) -> float:
    gaps = [None if (g := _gap(s)) is None else clamp(g, -t.gap_cap, t.gap_cap) for s in subs]
    return finmath.weighted_mean(gaps, [s.weight for s in subs])

