"""Risk limits and allowed actions on hand-made inputs."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from hedgeflow.portfolio import allowed_actions, clamp_order, net_conviction, rules_orders
from hedgeflow.risk import correlation_multiplier, position_limits, volatility_multiplier
from hedgeflow.schemas import AgentSignal, Order, Portfolio, Position, PositionLimit, Price


def _bars(closes: list[float]) -> list[Price]:
    start = dt.date(2025, 1, 1)
    return [
        Price(open=c, close=c, high=c, low=c, volume=1000, time=(start + dt.timedelta(days=i)).isoformat())
        for i, c in enumerate(closes)
    ]


def _wave(amplitude: float, n: int = 80, phase: int = 0) -> list[float]:
    return [100.0 * (1 + amplitude * math.sin((i + phase) / 2.0)) for i in range(n)]


def test_volatility_multiplier_falls_with_volatility() -> None:
    assert volatility_multiplier(0.10) == 1.25
    assert volatility_multiplier(0.60) == 0.5
    assert volatility_multiplier(0.30) == pytest.approx(1.25 - 0.75 * (0.15 / 0.35))
    assert volatility_multiplier(None) == 1.0


def test_correlation_multiplier_cuts_crowded_bets() -> None:
    assert correlation_multiplier(0.2) == 1.0
    assert correlation_multiplier(0.9) == 0.7
    assert correlation_multiplier(0.55) == pytest.approx(0.85)


def test_volatile_ticker_gets_a_smaller_limit() -> None:
    prices = {"CALM": _bars(_wave(0.001)), "WILD": _bars(_wave(0.05, phase=3))}
    limits = {lim.ticker: lim for lim in position_limits(prices, Portfolio(cash=100_000))}
    assert limits["WILD"].volatility_annual > limits["CALM"].volatility_annual
    assert limits["WILD"].limit_fraction < limits["CALM"].limit_fraction
    assert limits["CALM"].limit_value == pytest.approx(100_000 * limits["CALM"].limit_fraction)


def test_limit_is_capped_by_cash_and_reduced_by_holdings() -> None:
    prices = {"A": _bars(_wave(0.001))}
    poor = position_limits(prices, Portfolio(cash=1_000, positions={"A": Position(long=900)}))[0]
    assert poor.limit_value <= 1_000
    held = position_limits(prices, Portfolio(cash=50_000, positions={"A": Position(long=100)}))[0]
    fresh = position_limits(prices, Portfolio(cash=60_000))[0]
    assert held.limit_value < fresh.limit_value


def _limit(ticker: str, price: float, value: float) -> PositionLimit:
    return PositionLimit(ticker=ticker, price=price, volatility_annual=0.2, avg_correlation=None,
                         limit_fraction=0.2, limit_value=value)


def test_allowed_actions_follow_cash_positions_and_margin() -> None:
    portfolio = Portfolio(cash=10_000, margin_requirement=0.5, positions={"A": Position(long=7, short=3)})
    allowed = allowed_actions([_limit("A", 100.0, 2_000.0)], portfolio)["A"]
    assert allowed == {"hold": 0, "buy": 20, "short": 20, "sell": 7, "cover": 3}
    broke = allowed_actions([_limit("B", 100.0, 2_000.0)], Portfolio(cash=0))["B"]
    assert broke == {"hold": 0}


def _signal(ticker: str, signal: str, confidence: float) -> AgentSignal:
    return AgentSignal(analyst="x", ticker=ticker, as_of=dt.date(2025, 1, 1), signal=signal,  # type: ignore[arg-type]
                       confidence=confidence, reasoning="")


def test_net_conviction_weighs_confidence() -> None:
    signals = [_signal("A", "bullish", 80), _signal("A", "bearish", 20), _signal("A", "neutral", 50)]
    assert net_conviction(signals) == pytest.approx((80 - 20) / 300)


def test_rules_orders_never_exceed_allowed() -> None:
    allowed = {"A": {"hold": 0, "buy": 5}, "B": {"hold": 0, "sell": 4, "short": 2}, "C": {"hold": 0}}
    signals = [_signal("A", "bullish", 100)] * 3 + [_signal("B", "bearish", 90)] * 2 + [_signal("C", "bullish", 90)]
    orders = {o.ticker: o for o in rules_orders(signals, allowed)}
    assert (orders["A"].action, orders["A"].quantity) == ("buy", 5)
    assert (orders["B"].action, orders["B"].quantity) == ("sell", 4)
    assert orders["C"].action == "hold" and orders["C"].quantity == 0


def test_clamp_order_cuts_quantity_and_refuses_disallowed_actions() -> None:
    allowed = {"A": {"hold": 0, "buy": 5}}
    assert clamp_order(Order(ticker="A", action="buy", quantity=50, confidence=90, reasoning=""), allowed).quantity == 5
    refused = clamp_order(Order(ticker="A", action="short", quantity=5, confidence=90, reasoning=""), allowed)
    assert (refused.action, refused.quantity) == ("hold", 0)
