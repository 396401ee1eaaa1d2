"""Technical analyst: trend, mean reversion, momentum, volatility regime and price statistics.

Every sub-score reads only the snapshot's daily bars (oldest first, up to the
as-of date). Too short a history makes a sub-score abstain ("no data"), so a
young listing is judged on what can be measured, never marked bearish.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hedgeflow import finmath
from hedgeflow.analysts.base import (
    SIGNAL_THRESHOLD,
    analysis_of,
    clamp,
    no_data,
    rules_signal,
    score_between,
    sub_score,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    ema_spans: tuple[int, int, int] = (8, 21, 55)  # fast, medium, slow EMA, sessions
    adx_period: int = 14
    adx_full_strength: float = 25.0  # ADX at or above this gives the trend its full weight
    zscore_window: int = 50  # sessions in the mean the close is compared with
    zscore_extreme: float = 2.0  # |z| at which mean reversion is fully (-1 / +1) stretched
    bollinger_window: int = 20
    rsi_periods: tuple[int, int] = (14, 28)
    rsi_overbought: float = 70.0  # scores -1 at or above
    rsi_oversold: float = 30.0  # scores +1 at or below
    momentum_sessions: tuple[int, int, int] = (21, 63, 126)  # about 1, 3 and 6 months
    momentum_weights: tuple[float, float, float] = (0.4, 0.3, 0.3)
    momentum_full: float = 0.10  # weighted return of +/-10% is a full-strength score
    volume_recent: int = 21  # sessions of "recent" volume
    volume_base: int = 63  # sessions of average volume it is compared with
    volume_unconfirmed_floor: float = 0.5  # least share of the momentum score kept on thin volume
    volatility_short: int = 21
    volatility_long: int = 63
    volatility_calm: float = 0.7  # short/long volatility ratio scoring +1 (calm regime)
    volatility_stressed: float = 1.3  # ratio scoring -1 (volatility expanding)
    volatility_floor: float = 1e-6  # annualised volatility below this is "no movement": regime neutral
    hurst_max_lag: int = 20
    hurst_clear: float = 0.2  # |H - 0.5| at which the series is clearly trending / reverting
    statistics_sessions: int = 252  # returns used for skew
    skew_full: float = 1.0  # skew of +/-1 is a full-strength score
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    trend: float = 0.25
    mean_reversion: float = 0.20
    momentum: float = 0.25
    volatility: float = 0.15
    statistical: float = 0.15


THRESHOLDS = Thresholds()
WEIGHTS = Weights()

NAME = "Technical Analyst"
DESCRIPTION = "Trend, mean reversion, momentum, volatility regime and price statistics."
PERSONA = (
    "You are a systematic technical analyst. You read only prices and volume. "
    "Rules: a trend counts when EMA 8 > 21 > 55 (or the reverse) and ADX 14 is above 25; "
    "a close more than 2 standard deviations from its 50-day mean, at a Bollinger band edge "
    "or with RSI beyond 70/30 is stretched and tends to revert; 1/3/6-month momentum counts "
    "only when recent volume confirms it; rising short-term volatility against the 63-day "
    "level is a warning; a Hurst exponent above 0.5 means trends persist, below 0.5 that "
    "they revert, and skew tells which tail is fatter. Weigh trend and momentum most, and "
    "lower your confidence when the sub-scores disagree."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    closes = [p.close for p in snapshot.prices]
    subs = (
        _trend(snapshot, thresholds, weights.trend),
        _mean_reversion(closes, thresholds, weights.mean_reversion),
        _momentum(snapshot, thresholds, weights.momentum),
        _volatility(closes, thresholds, weights.volatility),
        _statistical(closes, thresholds, weights.statistical),
    )
    return analysis_of(
        "technicals", snapshot, subs, gather=False, close=closes[-1] if closes else None, sessions=float(len(closes))
    )


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    """The weighted mean of the five sub-scores (``base.rules_signal``)."""
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _trend(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    slow = t.ema_spans[2]
    closes = [p.close for p in snapshot.prices]
    if len(closes) < slow:
        return no_data("trend", f"{len(closes)} sessions, EMA {slow} needs {slow}", weight=weight)
    e_fast, e_mid, e_slow = (float(finmath.ema(closes, span)[-1]) for span in t.ema_spans)
    # +1 when fast > medium > slow, -1 when reversed, 0 when mixed
    direction = (float(np.sign(e_fast - e_mid)) + float(np.sign(e_mid - e_slow))) / 2.0
    adx = finmath.adx(
        [p.high for p in snapshot.prices], [p.low for p in snapshot.prices], closes, t.adx_period
    )
    strength = 0.5 if math.isnan(adx) else min(1.0, adx / t.adx_full_strength)
    aligned = {1.0: "EMAs aligned up", -1.0: "EMAs aligned down"}.get(direction, "EMAs mixed")
    return sub_score(
        "trend",
        direction * strength,
        weight=weight,
        details=f"{aligned}, ADX {adx:.0f}" if not math.isnan(adx) else f"{aligned}, ADX unknown",
        ema_fast=e_fast,
        ema_medium=e_mid,
        ema_slow=e_slow,
        adx=adx,
    )


def _mean_reversion(closes: list[float], t: Thresholds, weight: float) -> SubScore:
    if len(closes) < t.zscore_window:
        return no_data("mean_reversion", f"{len(closes)} sessions, the {t.zscore_window}-day mean needs more", weight=weight)
    z = finmath.zscore(closes[-1], closes[-t.zscore_window :])
    band = finmath.bollinger_position(closes, t.bollinger_window)
    rsi_short, rsi_long = (finmath.rsi(closes, period) for period in t.rsi_periods)
    parts = [
        None if math.isnan(z) else clamp(-z / t.zscore_extreme),
        None if math.isnan(band) else clamp(1.0 - 2.0 * band),  # upper band -> -1, lower -> +1
        score_between(rsi_short, t.rsi_overbought, t.rsi_oversold),
        score_between(rsi_long, t.rsi_overbought, t.rsi_oversold),
    ]
    known = [p for p in parts if p is not None]
    score = sum(known) / len(known) if known else None
    return sub_score(
        "mean_reversion",
        score,
        weight=weight,
        details=f"z {z:+.1f} vs 50-day mean, RSI14 {rsi_short:.0f}" if known else "",
        zscore_50=z,
        bollinger_position=band,
        rsi_14=rsi_short,
        rsi_28=rsi_long,
    )


def _momentum(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    closes = [p.close for p in snapshot.prices]
    volumes = [float(p.volume) for p in snapshot.prices]
    horizon_returns: list[float | None] = [
        closes[-1] / closes[-1 - n] - 1.0 if len(closes) > n and closes[-1 - n] > 0 else None
        for n in t.momentum_sessions
    ]
    blended = finmath.weighted_mean(horizon_returns, t.momentum_weights)
    if math.isnan(blended):
        shortest = t.momentum_sessions[0]
        return no_data("momentum", f"{len(closes)} sessions, 1-month return needs {shortest + 1}", weight=weight)
    volume_ratio = float("nan")
    if len(volumes) >= t.volume_recent:
        base = volumes[-t.volume_base :]
        volume_ratio = finmath.safe_div(float(np.mean(volumes[-t.volume_recent :])), float(np.mean(base)))
    confirmation = 1.0 if math.isnan(volume_ratio) else max(t.volume_unconfirmed_floor, min(1.0, volume_ratio))
    score = clamp(blended / t.momentum_full) * confirmation
    r1, r3, r6 = horizon_returns
    return sub_score(
        "momentum",
        score,
        weight=weight,
        details=f"weighted return {blended:+.1%}"
        + ("" if math.isnan(volume_ratio) else f", recent volume x{volume_ratio:.2f} of average"),
        return_1m=r1,
        return_3m=r3,
        return_6m=r6,
        volume_ratio=volume_ratio,
    )


def _volatility(closes: list[float], t: Thresholds, weight: float) -> SubScore:
    daily = finmath.returns(closes)
    if daily.size < t.volatility_long:
        return no_data("volatility", f"{daily.size} returns, {t.volatility_long} needed", weight=weight)
    short = finmath.annualised_volatility(daily[-t.volatility_short :])
    long = finmath.annualised_volatility(daily[-t.volatility_long :])
    ratio = finmath.safe_div(short, long) if long >= t.volatility_floor else 1.0
    return sub_score(
        "volatility",
        score_between(ratio, t.volatility_stressed, t.volatility_calm),
        weight=weight,
        details=f"21-day vol {short:.0%} vs 63-day {long:.0%}",
        volatility_21d=short,
        volatility_63d=long,
        volatility_ratio=ratio,
    )


def _statistical(closes: list[float], t: Thresholds, weight: float) -> SubScore:
    recent = closes[-(t.statistics_sessions + 1) :]
    hurst = finmath.hurst_exponent(recent, t.hurst_max_lag)
    skew = finmath.skewness(finmath.returns(recent))
    if math.isnan(hurst) or math.isnan(skew):
        return no_data("statistical", f"{len(recent)} sessions, Hurst needs {2 * t.hurst_max_lag}", weight=weight)
    # skew says which tail is fatter; a clear Hurst regime (far from 0.5) adds conviction
    conviction = 0.5 + 0.5 * min(1.0, abs(hurst - 0.5) / t.hurst_clear)
    regime = "trending" if hurst > 0.55 else "mean-reverting" if hurst < 0.45 else "near a random walk"
    return sub_score(
        "statistical",
        clamp(skew / t.skew_full) * conviction,
        weight=weight,
        details=f"Hurst {hurst:.2f} ({regime}), skew {skew:+.2f}",
        hurst=hurst,
        skew=skew,
    )
