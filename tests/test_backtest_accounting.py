"""The book on hand-made price paths: every figure is worked out in the comment beside it."""

from __future__ import annotations

import datetime as dt

import pytest

from hedgeflow.backtest import Book, Costs, simulate
from hedgeflow.risk import portfolio_value
from hedgeflow.schemas import AgentSignal, Order, Portfolio, Price

D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(8)]
approx = lambda x: pytest.approx(x, abs=1e-9)  # noqa: E731


def bars(opens: list[float], closes: list[float]) -> list[Price]:
    return [
        Price(open=o, close=c, high=max(o, c), low=min(o, c), volume=1, time=D[i].isoformat())
        for i, (o, c) in enumerate(zip(opens, closes))
    ]


def script(orders: dict[dt.date, list[Order]]):  # type: ignore[no-untyped-def]
    """A decision layer that says exactly what the test wants, whatever the book."""

    def decide(day: dt.date, portfolio: Portfolio, history: dict[str, list[Price]], signals: list[AgentSignal]) -> list[Order]:
        return orders.get(day, [])

    return decide


def order(ticker: str, action: str, quantity: int) -> Order:
    return Order(ticker=ticker, action=action, quantity=quantity, confidence=100, reasoning="test")  # type: ignore[arg-type]


def test_buy_and_hold_equals_the_price_ratio_without_costs() -> None:
    # 10,000 buys 200 shares at the day-1 open of 50; the last close is 75: 10,000 x 75 / 50 = 15,000
    path = bars([50, 50, 60, 70], [50, 55, 65, 75])
    sim = simulate(D[:4], {"X": path}, path, D[:1], {}, cash=10_000, margin_requirement=0.5,
                   decide=script({D[0]: [order("X", "buy", 10_000)]}))
    assert [(t.date, t.quantity, t.price) for t in sim.trades] == [(D[1], 200, 50.0)]
    assert sim.equity_curve[-1].equity == approx(10_000 * 75 / 50)
    assert sim.equity_curve[-1].cash == approx(0.0)


def test_buy_and_hold_less_costs() -> None:
    # slippage 10 bps: fill 50 x 1.001 = 50.05; commission 0.01/share + 1 bps of value.
    # shares: floor(10,000 / (50.05 + 0.01 + 50.05 x 0.0001)) = floor(10,000 / 50.065005) = 199
    # cash: 10,000 - 199 x 50.05 - (199 x 0.01 + 199 x 50.05 x 0.0001) = 10,000 - 9,959.95 - 2.985995 = 37.064005
    # equity at the last close 75: 37.064005 + 199 x 75 = 14,962.064005
    costs = Costs(commission_per_share=0.01, commission_bps=1, slippage_bps=10)
    path = bars([50, 50, 60, 70], [50, 55, 65, 75])
    sim = simulate(D[:4], {"X": path}, path, D[:1], {}, cash=10_000, margin_requirement=0.5, costs=costs,
                   decide=script({D[0]: [order("X", "buy", 10_000)]}))
    (trade,) = sim.trades
    assert trade.quantity == 199
    assert trade.price == approx(50.05)
    assert trade.slippage == approx(199 * 0.05)
    assert trade.commission == approx(2.985995)
    assert sim.equity_curve[-1].cash == approx(37.064005)
    assert sim.equity_curve[-1].equity == approx(14_962.064005)
    # the same as the price ratio on what was invested, less the costs paid
    assert sim.equity_curve[-1].equity == approx(10_000 + 199 * (75 - 50) - trade.slippage - trade.commission)


def test_orders_fill_at_the_next_sessions_open_never_the_decision_close() -> None:
    # decided on D1's close (11), filled at D2's open (12); an order on the last session never fills
    path = bars([10, 10, 12, 13], [10, 11, 12.5, 14])
    sim = simulate(D[:4], {"X": path}, path, [D[1], D[3]], {}, cash=1_000, margin_requirement=0.5,
                   decide=script({D[1]: [order("X", "buy", 10)], D[3]: [order("X", "sell", 10)]}))
    assert [(t.date, t.decided, t.action, t.price) for t in sim.trades] == [(D[2], D[1], "buy", 12.0)]
    assert sim.orders[D[3]][0].action == "sell"  # decided, but no session left to fill it


def test_a_short_on_a_falling_path_gains() -> None:
    # short 100 at the open of 100, no costs; the close falls to 80: equity 10,000 + 100 x 20 = 12,000
    path = bars([100, 100, 90, 80], [100, 95, 85, 80])
    sim = simulate(D[:4], {"X": path}, path, D[:1], {}, cash=10_000, margin_requirement=0.5,
                   decide=script({D[0]: [order("X", "short", 100)]}))
    last = sim.equity_curve[-1]
    assert last.equity == approx(12_000)
    assert last.cash == approx(20_000)  # 10,000 + the proceeds 100 x 100
    assert last.short_value == approx(8_000)
    assert last.margin == approx(0.5 * 8_000)


def test_a_short_is_limited_by_the_margin_the_cash_can_post() -> None:
    # each share shorted at 100 posts 0.5 x 100 = 50 of free cash: 10,000 / 50 = 200 shares (Reg T: 2x equity)
    book = Book(cash=10_000, margin_requirement=0.5)
    trade = book.fill(D[0], "X", "short", 1_000, {"X": 100.0})
    assert trade is not None and trade.quantity == 200
    assert book.free_cash({"X": 100.0}) == approx(0.0)
    assert book.fill(D[0], "X", "buy", 1, {"X": 100.0}) is None  # nothing left to buy with
    assert book.fill(D[0], "X", "short", 1, {"X": 100.0}) is None


def test_buys_are_trimmed_to_cash_and_sales_to_holdings() -> None:
    book = Book(cash=1_000, margin_requirement=0.5)
    assert book.fill(D[0], "X", "sell", 5, {"X": 10.0}) is None  # nothing held
    assert book.fill(D[0], "X", "cover", 5, {"X": 10.0}) is None
    bought = book.fill(D[0], "X", "buy", 500, {"X": 10.0})
    assert bought is not None and bought.quantity == 100  # 1,000 / 10
    sold = book.fill(D[1], "X", "sell", 500, {"X": 12.0})
    assert sold is not None and sold.quantity == 100
    assert book.cash == approx(1_200)  # 100 x 12


def test_a_margin_call_covers_what_restores_the_collateral() -> None:
    # short 200 at 100 (cash 30,000, free 0); the close rises to 110: short value 22,000,
    # free = 30,000 - 1.5 x 22,000 = -3,000. Covering at 110 releases 0.5 x 110 = 55 of free cash
    # a share: ceil(3,000 / 55) = 55 shares. Then cash 30,000 - 55 x 110 = 23,950, short 145 x 110 = 15,950,
    # free 23,950 - 1.5 x 15,950 = 25; equity 23,950 - 15,950 = 8,000 = 10,000 - 200 x 10.
    path = bars([100, 100, 110, 110], [100, 110, 110, 110])
    sim = simulate(D[:4], {"X": path}, path, D[:1], {}, cash=10_000, margin_requirement=0.5,
                   decide=script({D[0]: [order("X", "short", 200)]}))
    call = [t for t in sim.trades if t.note == "margin call"]
    assert [(t.date, t.action, t.quantity, t.price) for t in call] == [(D[2], "cover", 55, 110.0)]
    day2 = sim.equity_curve[2]
    assert (day2.cash, day2.short_value, day2.equity) == (approx(23_950), approx(15_950), approx(8_000))
    assert day2.cash - day2.short_value - day2.margin == approx(25)


def test_the_decision_layer_values_the_book_at_its_equity() -> None:
    # after shorting 100 at 100 with 10,000: cash 20,000 (proceeds included), collateral 0.5 x 10,000 = 5,000,
    # free cash 20,000 - 10,000 - 5,000 = 5,000; the risk manager values the view at the equity, 10,000
    book = Book(cash=10_000, margin_requirement=0.5)
    book.fill(D[0], "X", "short", 100, {"X": 100.0})
    view = book.portfolio({"X": 100.0})
    assert (view.cash, view.margin_used, view.positions["X"].short) == (approx(20_000), approx(5_000), 100)
    assert portfolio_value(view, {"X": 100.0}) == approx(book.equity({"X": 100.0})) == approx(10_000)
    assert book.free_cash({"X": 100.0}) == approx(5_000)
