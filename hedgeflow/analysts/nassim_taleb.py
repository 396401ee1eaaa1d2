"""Nassim Taleb: tail risk, volatility regime, fragility, convexity and skin in the game."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    debt_to_equity,
    finite,
    insider_sub_score,
    interest_coverage,
    latest,
    latest_ratio,
    market_cap,
    mean_score,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
    "gain_loss_ratio",
]


@dataclass(frozen=True)
class Thresholds:
    min_returns: int = 60  # daily returns needed for tail statistics
    kurtosis_bad: float = 10.0  # excess kurtosis of daily returns: -1 at 10, +1 at 2
    kurtosis_good: float = 2.0
    skew_bad: float = -1.0  # negative skew is the sucker's payoff
    skew_good: float = 0.5
    tail_ratio_bad: float = 0.8  # |95th pct| / |5th pct|: -1 at 0.8, +1 at 1.2
    tail_ratio_good: float = 1.2
    drawdown_bad: float = -0.50
    drawdown_good: float = -0.15
    regime_recent: int = 21  # sessions in the recent-volatility window
    regime_long: int = 252
    vol_ratio_bad: float = 1.6  # recent / long volatility: -1 at 1.6x, +1 at 0.8x
    vol_ratio_good: float = 0.8
    calm_regime_cap: float = 0.5  # a calm regime is not safety: its credit stops here
    debt_to_equity_bad: float = 1.5
    debt_to_equity_good: float = 0.2
    interest_cover_bad: float = 3.0
    interest_cover_good: float = 20.0
    cash_to_debt_bad: float = 0.25
    cash_to_debt_good: float = 1.5
    rd_intensity_bad: float = 0.0  # R&D / revenue buys optionality: +1 at 12%
    rd_intensity_good: float = 0.12
    cash_to_cap_bad: float = 0.0
    cash_to_cap_good: float = 0.10
    gain_loss_bad: float = 0.85  # mean up-day / mean |down-day|
    gain_loss_good: float = 1.15
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    tail_risk: float = 1.5
    volatility_regime: float = 0.7
    fragility: float = 1.3
    convexity: float = 0.8
    insiders: float = 0.7  # skin in the game


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Nassim Taleb"
DESCRIPTION = "Tail risk, fragility, convexity and skin in the game."
PERSONA = (
    "You are Nassim Nicholas Taleb. You distrust forecasts and judge exposures. "
    "Rules: avoid the fragile, meaning fat left tails, negative skew, deep drawdowns, heavy "
    "debt and thin interest cover, because one blow-up ends the game; prefer the robust and the "
    "antifragile: net cash, convex payoffs (optionality from R&D and cash, a fatter right tail than "
    "left) and insiders with skin in the game. Rising volatility is a warning; a calm regime "
    "earns only limited credit. "
    "When in doubt, be bearish on fragility rather than bullish on a story."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    daily = finmath.returns(closes(snapshot))
    subs = (
        _tail_risk(snapshot, daily, t, w.tail_risk),
        _volatility_regime(daily, t, w.volatility_regime),
        _fragility(snapshot, t, w.fragility),
        _convexity(snapshot, daily, t, w.convexity),
        insider_sub_score(snapshot, weight=w.insiders),  # skin in the game
    )
    return analysis_of("nassim_taleb", snapshot, subs, market_cap=market_cap(snapshot), daily_returns=float(daily.size))


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _tail_risk(snapshot: Snapshot, daily: np.ndarray, t: Thresholds, weight: float) -> SubScore:
    name = "tail_risk"
    if daily.size < t.min_returns:
        return no_data(name, f"{daily.size} daily returns (need {t.min_returns})", weight=weight)
    kurtosis = finite(finmath.excess_kurtosis(daily))
    skew = finite(finmath.skewness(daily))
    tails = finite(finmath.tail_ratio(daily))
    drawdown = finite(finmath.max_drawdown(closes(snapshot)))
    score = mean_score(
        [
            score_between(kurtosis, t.kurtosis_bad, t.kurtosis_good),
            score_between(skew, t.skew_bad, t.skew_good),
            score_between(tails, t.tail_ratio_bad, t.tail_ratio_good),
            score_between(drawdown, t.drawdown_bad, t.drawdown_good),
        ]
    )
    if score is None:
        return no_data(name, "flat prices: no dispersion to measure", weight=weight)
    shown = [
        f"excess kurtosis {kurtosis:.1f}" if kurtosis is not None else "",
        f"skew {skew:+.2f}" if skew is not None else "",
        f"tail ratio {tails:.2f}" if tails is not None else "",
        f"max drawdown {drawdown:.0%}" if drawdown is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        excess_kurtosis=kurtosis, skewness=skew, tail_ratio=tails, max_drawdown=drawdown,
    )


def _volatility_regime(daily: np.ndarray, t: Thresholds, weight: float) -> SubScore:
    name = "volatility_regime"
    if daily.size < 2 * t.regime_recent:
        return no_data(name, f"{daily.size} daily returns (need {2 * t.regime_recent})", weight=weight)
    recent = finite(finmath.annualised_volatility(daily[-t.regime_recent:]))
    long = finite(finmath.annualised_volatility(daily[-t.regime_long:]))
    ratio = finite(finmath.safe_div(recent, long))
    if ratio is None or recent is None or long is None:
        return no_data(name, "flat prices: no volatility", weight=weight)
    return sub_score(
        name,
        min(t.calm_regime_cap, score_between(ratio, t.vol_ratio_bad, t.vol_ratio_good) or 0.0),
        weight=weight,
        details=f"{t.regime_recent}-day volatility {recent:.0%} against {long:.0%} over the year ({ratio:.2f}x)",
        volatility_recent=recent,
        volatility_annual=long,
        volatility_ratio=ratio,
    )


def _fragility(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "fragility"
    leverage, cover = debt_to_equity(snapshot), interest_coverage(snapshot)
    cash = latest(snapshot.line_items, "cash_and_equivalents")
    debt = latest(snapshot.line_items, "total_debt")
    cash_to_debt = None
    if cash is not None and debt is not None:
        cash_to_debt = t.cash_to_debt_good if debt <= 0 else cash / debt
    score = mean_score(
        [
            score_between(leverage, t.debt_to_equity_bad, t.debt_to_equity_good),
            score_between(cover, t.interest_cover_bad, t.interest_cover_good),
            score_between(cash_to_debt, t.cash_to_debt_bad, t.cash_to_debt_good),
        ]
    )
    if score is None:
        return no_data(name, "no leverage, interest cover or debt figures", weight=weight)
    shown = [
        f"debt/equity {leverage:.2f}" if leverage is not None else "",
        f"interest cover {cover:.1f}x" if cover is not None else "no interest expense reported",
        f"cash covers {cash_to_debt:.2f}x debt" if cash_to_debt is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        debt_to_equity=leverage, interest_coverage=cover, cash_to_debt=cash_to_debt,
    )


def gain_loss_ratio(daily: np.ndarray) -> float | None:
    """Mean gain on up days / mean |loss| on down days; ``None`` without both."""
    gains, losses = daily[daily > 0], daily[daily < 0]
    if gains.size == 0 or losses.size == 0:
        return None
    return float(gains.mean() / abs(losses.mean()))


def _convexity(snapshot: Snapshot, daily: np.ndarray, t: Thresholds, weight: float) -> SubScore:
    name = "convexity"
    rd = latest_ratio(snapshot.line_items, "research_and_development", "revenue")
    cash, cap = latest(snapshot.line_items, "cash_and_equivalents"), market_cap(snapshot)
    cash_to_cap = finite(finmath.safe_div(cash, cap))
    asymmetry = gain_loss_ratio(daily) if daily.size >= t.min_returns else None
    score = mean_score(
        [
            score_between(rd, t.rd_intensity_bad, t.rd_intensity_good),
            score_between(cash_to_cap, t.cash_to_cap_bad, t.cash_to_cap_good),
            score_between(asymmetry, t.gain_loss_bad, t.gain_loss_good),
        ]
    )
    if score is None:
        return no_data(name, "no R&D, cash or return history", weight=weight)
    shown = [
        f"R&D {rd:.1%} of revenue" if rd is not None else "no R&D reported",
        f"cash {cash_to_cap:.1%} of market cap" if cash_to_cap is not None else "",
        f"mean gain / mean loss {asymmetry:.2f}" if asymmetry is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        rd_intensity=rd, cash_to_market_cap=cash_to_cap, gain_loss_ratio=asymmetry,
    )
