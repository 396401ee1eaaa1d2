"""Stanley Druckenmiller: asymmetric risk-reward from growth, momentum, valuation multiples and sentiment."""

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
    closes,
    enterprise_value,
    finite,
    insider_sub_score,
    latest,
    latest_metric,
    market_cap,
    mean_score,
    news_sub_score,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    revenue_growth_bad: float = 0.0  # year-over-year: -1 at 0%, +1 at 25%
    revenue_growth_good: float = 0.25
    earnings_growth_bad: float = -0.05
    earnings_growth_good: float = 0.30
    momentum_short_sessions: int = 63  # about three months
    momentum_long_sessions: int = 126  # about six months
    momentum_bad: float = -0.15
    momentum_good: float = 0.25
    risk_window: int = 252  # sessions used for volatility and drawdown
    volatility_bad: float = 0.60  # annualised: -1 at 60%, +1 at 20%
    volatility_good: float = 0.20
    drawdown_bad: float = -0.45  # worst fall in the window: -1 at -45%, +1 at -10%
    drawdown_good: float = -0.10
    pe_bad: float = 45.0
    pe_good: float = 15.0
    p_fcf_bad: float = 45.0
    p_fcf_good: float = 15.0
    ev_ebit_bad: float = 35.0
    ev_ebit_good: float = 12.0
    ev_ebitda_bad: float = 28.0
    ev_ebitda_good: float = 10.0
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    growth_momentum: float = 1.5
    risk_reward: float = 1.0
    valuation: float = 0.8
    news: float = 0.5
    insiders: float = 0.4


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Stanley Druckenmiller"
DESCRIPTION = "Asymmetric risk-reward: growth, momentum, valuation multiples and sentiment."
PERSONA = (
    "You are Stanley Druckenmiller, a macro and growth investor who hunts asymmetric bets. "
    "Rules: back accelerating revenue and earnings confirmed by strong price momentum; size up only "
    "when the upside clearly outweighs the downside (volatility and drawdown in check); pay up for "
    "growth but not for anything (P/E, P/FCF, EV/EBIT, EV/EBITDA); read sentiment and insider "
    "activity as confirmation; cut quickly when the thesis and the tape disagree. "
    "Preserve capital first, then press winners hard."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _growth_momentum(snapshot, t, w.growth_momentum),
        _risk_reward(snapshot, t, w.risk_reward),
        _valuation(snapshot, t, w.valuation),
        news_sub_score(snapshot, weight=w.news),
        insider_sub_score(snapshot, weight=w.insiders),
    )
    return analysis_of("stanley_druckenmiller", snapshot, subs, market_cap=market_cap(snapshot))


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _yoy(snapshot: Snapshot, metric: str, field: str) -> float | None:
    value = latest_metric(snapshot, metric)
    if value is not None or len(snapshot.line_items) < 2:
        return value
    new, old = (finite(getattr(item, field, None)) for item in snapshot.line_items[:2])
    return finite(finmath.growth_rate(new, old))


def _growth_momentum(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "growth_momentum"
    revenue_growth = _yoy(snapshot, "revenue_growth", "revenue")
    earnings_growth = _yoy(snapshot, "earnings_growth", "net_income")
    prices = closes(snapshot)
    short = finite(finmath.trailing_return(prices, t.momentum_short_sessions))
    long = finite(finmath.trailing_return(prices, t.momentum_long_sessions))
    score = mean_score(
        [
            score_between(revenue_growth, t.revenue_growth_bad, t.revenue_growth_good),
            score_between(earnings_growth, t.earnings_growth_bad, t.earnings_growth_good),
            score_between(short, t.momentum_bad, t.momentum_good),
            score_between(long, t.momentum_bad, t.momentum_good),
        ]
    )
    if score is None:
        return no_data(name, "no growth figures and too few prices for momentum", weight=weight)
    shown = [
        f"revenue growth {revenue_growth:+.1%}" if revenue_growth is not None else "",
        f"earnings growth {earnings_growth:+.1%}" if earnings_growth is not None else "",
        f"3-month return {short:+.1%}" if short is not None else "",
        f"6-month return {long:+.1%}" if long is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        revenue_growth=revenue_growth, earnings_growth=earnings_growth,
        return_3m=short, return_6m=long,
    )


def _risk_reward(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "risk_reward"
    prices = closes(snapshot)[-(t.risk_window + 1):]
    volatility = finite(finmath.annualised_volatility(finmath.returns(prices)))
    drawdown = finite(finmath.max_drawdown(prices)) if len(prices) >= 2 else None
    score = mean_score(
        [
            score_between(volatility, t.volatility_bad, t.volatility_good),
            score_between(drawdown, t.drawdown_bad, t.drawdown_good),
        ]
    )
    if score is None:
        return no_data(name, "fewer than three prices", weight=weight)
    shown = [
        f"annualised volatility {volatility:.0%}" if volatility is not None else "",
        f"max drawdown {drawdown:.0%}" if drawdown is not None else "",
    ]
    return sub_score(
        name, score, weight=weight,
        details=", ".join(s for s in shown if s) + f" over {len(prices)} sessions",
        volatility_annual=volatility, max_drawdown=drawdown,
    )


def _multiple_score(value: float | None, bad: float, good: float) -> float | None:
    """A non-positive multiple means losses: the worst score, not missing data."""
    if value is None:
        return None
    return -1.0 if value <= 0 else score_between(value, bad, good)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return finite(finmath.safe_div(numerator, denominator))


def _valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "valuation"
    cap, ev = market_cap(snapshot), enterprise_value(snapshot)
    if cap is None:
        return no_data(name, f"no current market cap at {snapshot.end} (no share count within the staleness "
                             "bound): nothing to price", weight=weight)
    pe = latest_metric(snapshot, "price_to_earnings_ratio")
    if pe is None:
        pe = _ratio(cap, latest(snapshot.line_items, "net_income"))
    p_fcf = _ratio(cap, latest(snapshot.line_items, "free_cash_flow"))
    ebit = latest(snapshot.line_items, "ebit")
    ev_ebit = _ratio(ev, ebit if ebit is not None else latest(snapshot.line_items, "operating_income"))
    ev_ebitda = latest_metric(snapshot, "enterprise_value_to_ebitda_ratio")
    if ev_ebitda is None:
        ev_ebitda = _ratio(ev, latest(snapshot.line_items, "ebitda"))
    score = mean_score(
        [
            _multiple_score(pe, t.pe_bad, t.pe_good),
            _multiple_score(p_fcf, t.p_fcf_bad, t.p_fcf_good),
            _multiple_score(ev_ebit, t.ev_ebit_bad, t.ev_ebit_good),
            _multiple_score(ev_ebitda, t.ev_ebitda_bad, t.ev_ebitda_good),
        ]
    )
    if score is None:
        return no_data(name, "no earnings, cash flow or enterprise value to price", weight=weight)
    shown = [
        f"{label} {value:.1f}"
        for label, value in (("P/E", pe), ("P/FCF", p_fcf), ("EV/EBIT", ev_ebit), ("EV/EBITDA", ev_ebitda))
        if value is not None
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(shown),
        pe=pe, p_fcf=p_fcf, ev_ebit=ev_ebit, ev_ebitda=ev_ebitda,
    )
