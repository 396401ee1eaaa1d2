"""Optional scorecard weighting of analysts: hand-checked weights, and no information from after D."""

from __future__ import annotations

import datetime as dt

import pytest

from hedgeflow.backtest import simulate
from hedgeflow.backtest.weighting import Weighting, analyst_weights, weighted_decision
from hedgeflow.schemas import AgentSignal, Price

D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(12)]
# closes 10, 10, 10, 10, 10, 11, 12, ...: the 5-session forward returns of D0..D3 are 10 %, 20 %, 30 %, 40 %
CLOSES = [10.0, 10.0, 10.0, 10.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]
RULE = Weighting(horizon=5, min_signals=3)


def bars(upto: int) -> dict[str, list[Price]]:
    return {"X": [Price(open=c, close=c, high=c, low=c, volume=1, time=D[i].isoformat())
                  for i, c in enumerate(CLOSES[: upto + 1])]}


def sig(day: int, analyst: str, signal: str, confidence: float) -> AgentSignal:
    return AgentSignal(analyst=analyst, ticker="X", as_of=D[day], signal=signal, confidence=confidence, reasoning="")  # type: ignore[arg-type]


PAST = [
    *(sig(i, "good", "bullish", 10.0 * (i + 1)) for i in range(4)),  # conviction rises with the return: rank IC +1
    *(sig(i, "bad", "bullish", 40.0 - 10.0 * i) for i in range(4)),  # falls as the return rises: rank IC -1
    *(sig(i, "few", "bullish", 50.0) for i in range(2)),  # two signals: under min_signals
]


def test_weights_are_the_clipped_rank_ic_of_closed_windows() -> None:
    # at D9 the windows of D0..D3 (ending D5..D8) have closed: good 1.0, bad clipped to 0.0, few no evidence: 1.0
    assert analyst_weights(PAST, bars(9), RULE) == {"good": pytest.approx(1.0), "bad": pytest.approx(0.0), "few": 1.0}


def test_weights_use_no_return_that_ends_after_the_decision_date() -> None:
    # at D6 only D0 and D1 have a closed 5-session window: two scored signals each, under min_signals -> all 1
    assert analyst_weights(PAST, bars(6), RULE) == {"good": 1.0, "bad": 1.0, "few": 1.0}
    # the same weights whatever the closes after D6 would have been
    assert analyst_weights(PAST, bars(6), RULE) == analyst_weights(PAST, {"X": bars(11)["X"][:7]}, RULE)


def test_weighted_orders_at_d_ignore_later_bars() -> None:
    signals = {D[i]: [sig(i, "good", "bullish", 60.0), sig(i, "bad", "bearish", 30.0 + 5 * i)] for i in range(11)}
    full = simulate(D[:11], bars(10), bars(10)["X"], D[:11], signals, cash=10_000, margin_requirement=0.5,
                    decide=weighted_decision(signals, RULE))
    for day in range(11):
        cut = simulate(D[: day + 1], bars(day), bars(day)["X"], D[: day + 1],
                       {d: s for d, s in signals.items() if d <= D[day]}, cash=10_000, margin_requirement=0.5,
                       decide=weighted_decision({d: s for d, s in signals.items() if d <= D[day]}, RULE))
        assert cut.orders[D[day]] == full.orders[D[day]]
