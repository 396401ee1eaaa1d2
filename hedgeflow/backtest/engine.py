"""The simulation: a book that follows the committee's decisions from one rebalance date to the next.

At each session: margin call if needed, then the orders decided at the
previous rebalance date fill at this session's open, then the book is marked
at the close. On a rebalance date D the decision sees the book at D's close
and, per ticker, only the bars a run as of D sees (from
``price_history_start(D - 91 days, D)`` to D): the same prices the risk
manager reads in ``hedgeflow analyze --end D``. Nothing after D reaches it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hedgeflow.backtest.accounting import Book
from hedgeflow.backtest.models import Costs, EquityPoint, FillAction, Trade
from hedgeflow.data.snapshot import price_history_start
from hedgeflow.portfolio import allowed_actions, rules_orders
from hedgeflow.request import DEFAULT_WINDOW_DAYS
from hedgeflow.risk import position_limits
from hedgeflow.schemas import AgentSignal, Order, Portfolio, Price

__all__ = ["Decide", "Simulation", "history_as_of", "rules_decision", "simulate"]

Decide = Callable[[dt.date, Portfolio, dict[str, list[Price]], list[AgentSignal]], list[Order]]
ORDER_OF_FILLS: dict[str, int] = {"sell": 0, "cover": 0, "buy": 1, "short": 1}  # release cash before spending it


def history_as_of(bars: Sequence[Price], day: dt.date) -> list[Price]:
    """The bars a run as of ``day`` sees: from price_history_start(day - 91 days, day) to ``day``."""
    first = price_history_start(day - dt.timedelta(days=DEFAULT_WINDOW_DAYS), day).isoformat()
    last = day.isoformat()
    return [bar for bar in bars if first <= bar.time <= last]


def rules_decision(
    day: dt.date, portfolio: Portfolio, history: dict[str, list[Price]], signals: list[AgentSignal]
) -> list[Order]:
    """The portfolio manager's rules: risk limits from the history, allowed actions, then rules_orders."""
    limits = position_limits({t: bars for t, bars in history.items() if bars}, portfolio)
    return rules_orders(signals, allowed_actions(limits, portfolio))


@dataclass(frozen=True)
class Simulation:
    equity_curve: list[EquityPoint]
    trades: list[Trade]
    orders: dict[dt.date, list[Order]]


def simulate(
    sessions: Sequence[dt.date],
    bars: dict[str, Sequence[Price]],
    benchmark: Sequence[Price],
    rebalance: Sequence[dt.date],
    signals: dict[dt.date, list[AgentSignal]],
    *,
    cash: float,
    margin_requirement: float,
    costs: Costs = Costs(),
    decide: Decide = rules_decision,
) -> Simulation:
    """Run the book over ``sessions`` (sorted); ``bars`` per ticker may start before the window (history)."""
    by_day = {t: {dt.date.fromisoformat(b.time): b for b in series} for t, series in bars.items()}
    bench = {dt.date.fromisoformat(b.time): b.close for b in benchmark}
    book = Book(cash=cash, margin_requirement=margin_requirement, costs=costs)
    due = set(rebalance)
    last_close: dict[str, float] = {}
    bench_first: float | None = None
    bench_last: float | None = None
    pending: list[Order] = []
    decided_on: dt.date | None = None
    curve: list[EquityPoint] = []
    trades: list[Trade] = []
    decisions: dict[dt.date, list[Order]] = {}
    for day in sessions:
        opens = {t: b[day].open for t, b in by_day.items() if day in b}
        marks = {**last_close, **opens}
        if opens:
            trades.extend(book.margin_call(day, marks))
            for order in sorted(pending, key=lambda o: ORDER_OF_FILLS.get(o.action, 2)):
                if order.ticker in opens and order.action != "hold":
                    action: FillAction = order.action
                    trade = book.fill(day, order.ticker, action, order.quantity, marks, decided=decided_on)
                    if trade:
                        trades.append(trade)
            pending = []
        last_close.update({t: b[day].close for t, b in by_day.items() if day in b})
        bench_last = bench.get(day, bench_last)
        bench_first = bench_first if bench_first is not None else bench_last
        long_value, short_value = book.long_value(last_close), book.short_value(last_close)
        curve.append(
            EquityPoint(
                date=day,
                equity=book.cash + long_value - short_value,
                cash=book.cash,
                long_value=long_value,
                short_value=short_value,
                margin=book.margin(last_close),
                benchmark=cash * bench_last / bench_first if bench_first and bench_last else float("nan"),
            )
        )
        if day in due:
            history = {t: history_as_of(series, day) for t, series in bars.items()}
            orders = decide(day, book.portfolio(last_close), history, signals.get(day, []))
            decisions[day] = orders
            pending, decided_on = [o for o in orders if o.action != "hold" and o.quantity > 0], day
    return Simulation(equity_curve=curve, trades=trades, orders=decisions)
