"""Performance metrics of a daily equity curve: pure functions, empyrical's conventions.

Inputs are daily values or simple daily returns, oldest first; returns are
fractions; a year has ``finmath.TRADING_DAYS`` (252) sessions; the risk-free
rate is 0 unless given (a daily fraction). Too little data gives ``nan``.
References: empyrical (quantopian/empyrical, ``stats.py``) for Sharpe, Sortino,
alpha and beta; Bacon, *Practical Portfolio Performance Measurement*, for the
downside deviation.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np

from hedgeflow import finmath
from hedgeflow.finmath import TRADING_DAYS, Floats

__all__ = [
    "alpha",
    "annualised_return",
    "drawdown_dates",
    "drawdown_series",
    "exposure",
    "sharpe_ratio",
    "sortino_ratio",
    "total_return",
    "turnover",
]

NAN = float("nan")


def total_return(values: Floats) -> float:
    """V_T / V_0 - 1 over the whole curve; nan under two values or a non-positive start."""
    v = np.asarray(values, dtype=float)
    if v.size < 2 or v[0] <= 0:
        return NAN
    return float(v[-1] / v[0] - 1.0)


def annualised_return(values: Floats, periods: int = TRADING_DAYS) -> float:
    """Compound annual growth over n daily returns: (V_T / V_0) ** (periods / n) - 1 (finmath.cagr)."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return NAN
    return finmath.cagr(float(v[0]), float(v[-1]), (v.size - 1) / periods)


def sharpe_ratio(daily_returns: Floats, risk_free: float = 0.0, periods: int = TRADING_DAYS) -> float:
    """mean(r - r_f) / std(r - r_f, ddof=1) x sqrt(periods); nan under two returns or zero spread."""
    excess = np.asarray(daily_returns, dtype=float) - risk_free
    if excess.size < 2:
        return NAN
    sd = float(np.std(excess, ddof=1))
    return NAN if sd == 0 else float(np.mean(excess) / sd * math.sqrt(periods))


def sortino_ratio(daily_returns: Floats, required: float = 0.0, periods: int = TRADING_DAYS) -> float:
    """mean(r - T) / DD x sqrt(periods), downside deviation DD = sqrt(mean(min(r - T, 0)^2)) over all n.

    nan under two returns or when no return falls below the target T.
    """
    excess = np.asarray(daily_returns, dtype=float) - required
    if excess.size < 2:
        return NAN
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    return NAN if downside == 0 else float(np.mean(excess) / downside * math.sqrt(periods))


def drawdown_series(values: Floats) -> np.ndarray:
    """V_t / max(V_<=t) - 1 for each day: 0 at a new peak, negative below it."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return np.empty(0)
    return v / np.maximum.accumulate(v) - 1.0


def drawdown_dates(
    values: Floats, dates: Sequence[dt.date]
) -> tuple[float, dt.date | None, dt.date | None, dt.date | None]:
    """(max drawdown, peak date, trough date, recovery date) of the worst fall (finmath.max_drawdown).

    The peak is the last high before the trough, the recovery the first day
    back at that high (None if never). (0.0, None, None, None) without a fall;
    nan and Nones for an empty curve.
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return NAN, None, None, None
    worst = finmath.max_drawdown(v)
    if worst >= 0:
        return 0.0, None, None, None
    trough = int(np.argmin(drawdown_series(v)))
    peak = int(np.argmax(v[: trough + 1]))
    after = np.nonzero(v[trough:] >= v[peak])[0]
    recovery = dates[trough + int(after[0])] if after.size else None
    return worst, dates[peak], dates[trough], recovery


def turnover(traded_value: float, values: Floats) -> float:
    """Traded value (sum of |quantity x price| of every fill) / mean equity: 1.0 traded the book once."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or float(np.mean(v)) <= 0:
        return NAN
    return float(traded_value / np.mean(v))


def exposure(long_values: Floats, short_values: Floats, values: Floats) -> tuple[float, float]:
    """(mean gross, mean net) exposure: mean((L + S) / V) and mean((L - S) / V) over the days with V > 0."""
    long_, short, v = (np.asarray(x, dtype=float) for x in (long_values, short_values, values))
    ok = v > 0
    if not ok.any():
        return NAN, NAN
    return float(np.mean((long_[ok] + short[ok]) / v[ok])), float(np.mean((long_[ok] - short[ok]) / v[ok]))


def alpha(daily_returns: Floats, benchmark_returns: Floats, periods: int = TRADING_DAYS) -> float:
    """Jensen's alpha, annualised as in empyrical: (1 + mean(r_p - beta r_b)) ** periods - 1.

    beta = cov(r_p, r_b) / var(r_b) (finmath.beta, ddof 1, at least 20 pairs); nan without it.
    """
    r, b = np.asarray(daily_returns, dtype=float), np.asarray(benchmark_returns, dtype=float)
    n = min(r.size, b.size)
    beta = finmath.beta(r[-n:], b[-n:]) if n else NAN
    if math.isnan(beta):
        return NAN
    daily = float(np.mean(r[-n:] - beta * b[-n:]))
    return float((1.0 + daily) ** periods - 1.0)
