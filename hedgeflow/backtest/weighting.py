"""Optional, off by default: the portfolio manager weights each analyst by its scorecard so far.

At rebalance date D an analyst's weight is its rank IC at ``horizon`` sessions,
clipped to [0, 1], over its earlier signals (all tickers pooled) whose forward
window had closed by D. The closes come from the history the decision sees
(bars up to D, about a year back), so no future information can enter: a
forward return ending after D is simply unknown. With fewer than
``min_signals`` scored signals, or a constant signal (no rank IC), the weight is
1 (no evidence yet). Each signal's confidence is multiplied by its analyst's
weight before ``rules_orders``: an analyst whose calls ranked returns backwards
stops moving the book.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from hedgeflow.backtest.engine import Decide, rules_decision
from hedgeflow.backtest.scorecard import ALL, build_scorecard, closes_by_ticker, signal_records
from hedgeflow.schemas import AgentSignal, Order, Portfolio, Price

__all__ = ["Weighting", "analyst_weights", "weighted_decision"]


@dataclass(frozen=True)
class Weighting:
    horizon: int = 21  # sessions forward
    min_signals: int = 6  # scored signals before the scorecard counts


def analyst_weights(
    past: Sequence[AgentSignal], history: dict[str, list[Price]], weighting: Weighting = Weighting()
) -> dict[str, float]:
    """Analyst -> weight in [0, 1] from ``past`` signals scored on ``history`` (bars up to the decision date)."""
    rows = build_scorecard(signal_records(past), closes_by_ticker(history), horizons=(weighting.horizon,))
    pooled: dict[str, tuple[int, float]] = {}
    for row in rows:  # the ALL row when the analyst covers several tickers, else its one ticker's row
        if row.ticker == ALL or row.analyst not in pooled:
            pooled[row.analyst] = (row.signals, row.rank_ic)
    weights: dict[str, float] = {}
    for analyst in {s.analyst for s in past}:
        count, ic = pooled.get(analyst, (0, math.nan))
        weights[analyst] = 1.0 if count < weighting.min_signals or math.isnan(ic) else min(1.0, max(0.0, ic))
    return weights


def weighted_decision(all_signals: dict[dt.date, list[AgentSignal]], weighting: Weighting = Weighting()) -> Decide:
    """The rules decision on confidences scaled by each analyst's weight as of the decision date."""

    def decide(day: dt.date, portfolio: Portfolio, history: dict[str, list[Price]], signals: list[AgentSignal]) -> list[Order]:
        past = [s for d, group in all_signals.items() if d < day for s in group]
        weights = analyst_weights(past, history, weighting)
        scaled = [s.model_copy(update={"confidence": s.confidence * weights.get(s.analyst, 1.0)}) for s in signals]
        return rules_decision(day, portfolio, history, scaled)

    return decide
