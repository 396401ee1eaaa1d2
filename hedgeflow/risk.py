"""The risk manager: position limits from volatility and correlation.

Each ticker may hold at most ``base_fraction`` of the portfolio's value,
scaled down when its recent volatility is high and when it moves with the
other tickers (a crowded bet), and never more than the cash at hand.
Correlations pair two tickers' returns by session date, never by position
(SPY's bundled prices end a session before the stocks').
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hedgeflow import finmath
from hedgeflow.schemas import Portfolio, PositionLimit, Price

__all__ = [
    "RiskRules",
    "aligned",
    "correlation",
    "correlation_multiplier",
    "dated_returns",
    "portfolio_value",
    "position_limits",
    "volatility_multiplier",
]


@dataclass(frozen=True)
class RiskRules:
    window_days: int = 60  # sessions of returns behind volatility and correlation
    base_fraction: float = 0.20  # of portfolio value per ticker before scaling
    low_volatility: float = 0.15  # annualised; below it the limit grows
    high_volatility: float = 0.50  # above it the limit is halved
    crowded_correlation: float = 0.80  # average correlation that cuts the limit hardest


RULES = RiskRules()


def volatility_multiplier(volatility: float | None, rules: RiskRules = RULES) -> float:
    """1.25 under low volatility, falling linearly to 0.5 at high volatility; 1.0 when unknown."""
    if volatility is None or math.isnan(volatility):
        return 1.0
    if volatility <= rules.low_volatility:
        return 1.25
    if volatility >= rules.high_volatility:
        return 0.5
    span = (volatility - rules.low_volatility) / (rules.high_volatility - rules.low_volatility)
    return 1.25 - 0.75 * span


def correlation_multiplier(avg_correlation: float | None, rules: RiskRules = RULES) -> float:
    """1.0 up to a correlation of 0.3, falling linearly to 0.7 at the crowded level; 1.0 alone."""
    if avg_correlation is None or math.isnan(avg_correlation) or avg_correlation <= 0.3:
        return 1.0
    if avg_correlation >= rules.crowded_correlation:
        return 0.7
    return 1.0 - 0.3 * (avg_correlation - 0.3) / (rules.crowded_correlation - 0.3)


def portfolio_value(portfolio: Portfolio, prices: dict[str, float]) -> float:
    """Cash plus longs at market, less shorts at market (net liquidation value)."""
    value = portfolio.cash
    for ticker, position in portfolio.positions.items():
        price = prices.get(ticker, position.long_cost_basis or position.short_cost_basis)
        value += (position.long - position.short) * price
    return value


DatedReturns = dict[str, float]  # session date (ISO) -> close-to-close return ending that session


def dated_returns(bars: list[Price], window: int) -> DatedReturns:
    """The last ``window`` daily returns, each keyed by the session it ends on."""
    recent = bars[-(window + 1) :]
    values = finmath.returns([bar.close for bar in recent])
    return {bar.time: float(r) for bar, r in zip(recent[1:], values)}


def aligned(a: DatedReturns, b: DatedReturns) -> tuple[np.ndarray, np.ndarray]:
    """The two series on the dates both have, oldest first: pairs by date, never by position."""
    common = sorted(a.keys() & b.keys())
    return np.array([a[d] for d in common]), np.array([b[d] for d in common])


def position_limits(
    prices: dict[str, list[Price]], portfolio: Portfolio, rules: RiskRules = RULES
) -> list[PositionLimit]:
    """One limit per ticker with prices; ``prices`` maps ticker to bars, oldest first."""
    last = {t: bars[-1].close for t, bars in prices.items() if bars}
    rets = {t: dated_returns(bars, rules.window_days) for t, bars in prices.items() if bars}
    total = portfolio_value(portfolio, last)
    limits: list[PositionLimit] = []
    for ticker, price in last.items():
        vol = finmath.annualised_volatility(list(rets[ticker].values()))
        others = [correlation(rets[ticker], rets[o]) for o in rets if o != ticker]
        known = [c for c in others if not math.isnan(c)]
        avg_corr = float(np.mean(known)) if known else None
        fraction = rules.base_fraction * volatility_multiplier(vol, rules) * correlation_multiplier(avg_corr, rules)
        fraction = min(1.0, max(0.0, fraction))
        position = portfolio.position(ticker)
        held = abs(position.long - position.short) * price
        room = max(0.0, fraction * total - held)
        limit_value = min(room, portfolio.cash)
        limits.append(
            PositionLimit(
                ticker=ticker,
                price=price,
                volatility_annual=None if math.isnan(vol) else vol,
                avg_correlation=avg_corr,
                limit_fraction=fraction,
                limit_value=limit_value,
                reasoning=(
                    f"{fraction:.1%} of {total:,.0f} (volatility {vol:.1%}, avg correlation "
                    f"{'n/a' if avg_corr is None else f'{avg_corr:.2f}'}), {held:,.0f} held, "
                    f"capped by cash {portfolio.cash:,.0f}"
                ),
            )
        )
    return limits


def correlation(a: DatedReturns, b: DatedReturns) -> float:
    """Pearson correlation of two return series on their common dates; nan under 10 of them."""
    x, y = aligned(a, b)
    if x.size < 10:
        return float("nan")
    if np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])
