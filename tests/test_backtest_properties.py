"""Invariants of the book over random price paths and random orders (hypothesis).

Whatever the decision layer asks, every day: equity = cash + long value - short
value; the curve agrees with a ledger rebuilt from the fills alone; positions
never go negative; and after each session's fills the free cash (cash less the
shorts' value and their margin) is not negative unless the book is insolvent (its equity would not pay the costs of closing it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgeflow.backtest import Costs, simulate
from hedgeflow.schemas import AgentSignal, Order, Portfolio, Price

TICKERS = ("X", "Y")
START = dt.date(2024, 1, 1)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dt.date], dict[str, list[Price]], dict[dt.date, list[Order]], Costs, float]:
    n = draw(st.integers(min_value=3, max_value=25))
    days = [START + dt.timedelta(days=i) for i in range(n)]
    moves = st.floats(min_value=-0.4, max_value=0.6, allow_nan=False)
    paths: dict[str, list[Price]] = {}
    for ticker in TICKERS:
        price = draw(st.floats(min_value=1.0, max_value=500.0))
        bars = []
        for day in days:
            open_ = price * (1 + draw(moves))
            close = open_ * (1 + draw(moves))
            bars.append(Price(open=open_, close=close, high=max(open_, close), low=min(open_, close), volume=1,
                              time=day.isoformat()))
            price = close
        paths[ticker] = bars
    order = st.builds(
        Order,
        ticker=st.sampled_from(TICKERS),
        action=st.sampled_from(["buy", "sell", "short", "cover", "hold"]),
        quantity=st.integers(min_value=0, max_value=2_000),
        confidence=st.just(50.0),
        reasoning=st.just("random"),
    )
    orders = {day: draw(st.lists(order, max_size=4)) for day in days}
    costs = Costs(
        commission_per_share=draw(st.sampled_from([0.0, 0.005, 0.05])),
        commission_bps=draw(st.sampled_from([0.0, 1.0, 10.0])),
        slippage_bps=draw(st.sampled_from([0.0, 5.0, 50.0])),
    )
    margin = draw(st.sampled_from([0.25, 0.5, 1.0]))
    return days, paths, orders, costs, margin


@settings(max_examples=80, deadline=None)
@given(scenarios())
def test_the_book_balances_every_day(scenario: tuple) -> None:  # type: ignore[type-arg]
    days, paths, orders, costs, margin = scenario
    cash0 = 10_000.0

    def decide(day: dt.date, portfolio: Portfolio, history: dict[str, list[Price]], signals: list[AgentSignal]) -> list[Order]:
        return orders[day]

    sim = simulate(days, paths, paths["X"], days, {}, cash=cash0, margin_requirement=margin, costs=costs, decide=decide)
    by_day = {t: {dt.date.fromisoformat(b.time): b for b in bars} for t, bars in paths.items()}
    fills = defaultdict(list)
    for trade in sim.trades:
        fills[trade.date].append(trade)
    cash, long_, short = cash0, defaultdict(int), defaultdict(int)
    for point in sim.equity_curve:
        for trade in fills[point.date]:
            value = trade.quantity * trade.price
            if trade.action == "buy":
                cash, long_[trade.ticker] = cash - value - trade.commission, long_[trade.ticker] + trade.quantity
            elif trade.action == "sell":
                cash, long_[trade.ticker] = cash + value - trade.commission, long_[trade.ticker] - trade.quantity
            elif trade.action == "short":
                cash, short[trade.ticker] = cash + value - trade.commission, short[trade.ticker] + trade.quantity
            else:
                cash, short[trade.ticker] = cash - value - trade.commission, short[trade.ticker] - trade.quantity
            assert long_[trade.ticker] >= 0 and short[trade.ticker] >= 0
        opens = {t: by_day[t][point.date].open for t in TICKERS}
        closes = {t: by_day[t][point.date].close for t in TICKERS}
        shorts_at_open = sum(short[t] * opens[t] for t in TICKERS)
        equity_at_open = cash + sum(long_[t] * opens[t] for t in TICKERS) - shorts_at_open
        free_after_fills = cash - (1 + margin) * shorts_at_open
        # what closing every position would cost at this open: slippage plus commission per share
        closing_costs = sum(
            (long_[t] + short[t]) * (opens[t] * costs.slippage_bps * 1e-4 + costs.commission_per_share
                                     + opens[t] * (1 + costs.slippage_bps * 1e-4) * costs.commission_bps * 1e-4)
            for t in TICKERS
        )
        assert free_after_fills >= -1e-6 * cash0 or equity_at_open <= closing_costs
        long_value = sum(long_[t] * closes[t] for t in TICKERS)
        short_value = sum(short[t] * closes[t] for t in TICKERS)
        scale = max(1.0, abs(cash), long_value, short_value)
        assert point.cash == pytest.approx(cash, abs=1e-9 * scale)
        assert point.long_value == pytest.approx(long_value, abs=1e-9 * scale)
        assert point.short_value == pytest.approx(short_value, abs=1e-9 * scale)
        assert point.equity == pytest.approx(point.cash + point.long_value - point.short_value, abs=1e-9 * scale)
        assert point.margin == pytest.approx(margin * short_value, abs=1e-9 * scale)
