"""Orders fit the whole book: cash and margin summed over every ticker, for the rules model and any model answer.

Book model (hedgeflow/portfolio.py): free cash = cash - margin used; exits
(sells, covers) free cash first, then buys (price x quantity) and new shorts
(price x quantity x margin requirement) spend it; a short budget is shared by
conviction and every cut order says so.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgeflow.data.offline import OfflineProvider
from hedgeflow.data.snapshot import price_history_start
from hedgeflow.llm.agents import clamp_orders
from hedgeflow.portfolio import Allowed, allowed_actions, fit_to_book, rules_orders
from hedgeflow.risk import position_limits
from hedgeflow.schemas import AgentSignal, Order, Portfolio, Position, PositionLimit

COMPANIES = ["AAPL", "NVDA", "GOOGL", "TSLA", "META", "BRK-B", "V"]
EPS = 1e-6


def _signal(ticker: str, signal: str, confidence: float) -> AgentSignal:
    return AgentSignal(analyst="x", ticker=ticker, as_of=dt.date(2024, 12, 31), signal=signal,  # type: ignore[arg-type]
                       confidence=confidence, reasoning="")


def _bundled_limits(end: dt.date, portfolio: Portfolio) -> list[PositionLimit]:
    """The risk manager's limits on the bundled prices, fetched as a run fetches them (a year of bars)."""
    provider = OfflineProvider()
    first = price_history_start(end - dt.timedelta(days=91), end)
    return position_limits({t: provider.get_prices(t, first, end) for t in COMPANIES}, portfolio)


def _spend(orders: list[Order], limits: list[PositionLimit], margin_requirement: float) -> tuple[float, float]:
    price = {limit.ticker: limit.price for limit in limits}
    buys = sum(o.quantity * price[o.ticker] for o in orders if o.action == "buy")
    shorts = sum(o.quantity * price[o.ticker] for o in orders if o.action == "short")
    return buys, shorts * margin_requirement


def check_book(orders: list[Order], allowed: Allowed, portfolio: Portfolio) -> None:
    """The invariants of issue 14, section 1, checked by simulating the orders on the book."""
    assert [o.ticker for o in orders] == sorted(allowed)  # exactly one order per allowed ticker
    assert allowed.book is not None
    prices, r = allowed.book.prices, portfolio.margin_requirement
    cash, margin = portfolio.cash, portfolio.margin_used
    for o in orders:  # exits first: what they free is available to the entries
        assert o.quantity >= 0
        if o.action == "hold":
            assert o.quantity == 0
            continue
        assert 0 < o.quantity <= allowed[o.ticker][o.action]
        position = portfolio.position(o.ticker)
        if o.action == "sell":
            assert o.quantity <= position.long
            cash += o.quantity * prices[o.ticker]
        elif o.action == "cover":
            assert o.quantity <= position.short
            margin -= min(margin, o.quantity * prices[o.ticker] * r)
    released_margin = portfolio.margin_used - margin
    for o in orders:
        if o.action == "buy":
            cash -= o.quantity * prices[o.ticker]
        elif o.action == "short":
            margin += o.quantity * prices[o.ticker] * r
    assert cash >= -EPS  # no negative cash
    assert margin <= cash + EPS  # posted margin (the requirement of every short) is covered by cash
    buys, new_margin = _spend(orders, [PositionLimit(ticker=t, price=p, volatility_annual=None, avg_correlation=None,
                                                     limit_fraction=0, limit_value=0) for t, p in prices.items()], r)
    proceeds = sum(o.quantity * prices[o.ticker] for o in orders if o.action == "sell")
    assert buys + new_margin <= allowed.book.free_cash + proceeds + released_margin + EPS


# --------------------------------------------------------------------------- the measured figures


def test_bundled_buys_fit_the_cash() -> None:
    """Issue 14: 7 bundled tickers as of 2024-12-31, cash 100,000, empty book, every signal bullish at 100.

    Per ticker alone the buys add up to 134,802.68 (measured before the fix: each ticker's
    allowance is min(limit, cash) on its own); the book-level fit keeps them within 100,000.
    """
    portfolio = Portfolio(cash=100_000)
    limits = _bundled_limits(dt.date(2024, 12, 31), portfolio)
    allowed = allowed_actions(limits, portfolio)
    per_ticker = {t: allowed[t]["buy"] * next(lim.price for lim in limits if lim.ticker == t) for t in COMPANIES}
    assert sum(per_ticker.values()) == pytest.approx(134_802.68, abs=0.01)
    orders = rules_orders([_signal(t, "bullish", 100) for t in COMPANIES], allowed)
    buys, _ = _spend(orders, limits, portfolio.margin_requirement)
    assert buys <= 100_000
    assert buys > 99_000  # the rounding leftovers are spent too, one share at a time
    cut = [o for o in orders if o.action != "buy" or o.quantity < allowed[o.ticker]["buy"]]
    assert cut and all("shared by conviction" in o.reasoning for o in cut)
    check_book(orders, allowed, portfolio)


def test_bundled_shorts_fit_the_margin() -> None:
    """The same hole with margin: the 7 bundled tickers as of 2024-12-31, every signal bearish at 100,
    a 100,000 book holding 90,000 of SPY (neutral) and 10,000 of cash, margin requirement 50 %.

    The issue's own figure (59,378 of short notional with 10,000 of cash) comes from a book it does
    not spell out: with an empty 10,000 book the risk limits (20 % of 10,000 each) keep the shorts
    at 12,448 of notional, within the margin. Here each of the 7 limits is capped by the cash
    (10,000) alone, so per ticker the shorts add up to 69,070.48 of notional (34,535 of margin;
    the per-ticker allowance is the same before and after the fix); fitted, the margin posted is at most
    the 10,000 of cash.
    """
    provider = OfflineProvider()
    end = dt.date(2024, 12, 31)
    spy = provider.get_prices("SPY", end - dt.timedelta(days=10), end)[-1].close
    portfolio = Portfolio(cash=10_000, margin_requirement=0.5, positions={"SPY": Position(long=round(90_000 / spy))})
    first = price_history_start(end - dt.timedelta(days=91), end)
    limits = position_limits({t: provider.get_prices(t, first, end) for t in [*COMPANIES, "SPY"]}, portfolio)
    allowed = allowed_actions(limits, portfolio)
    price = {lim.ticker: lim.price for lim in limits}
    notional = sum(allowed[t].get("short", 0) * price[t] for t in COMPANIES)
    assert notional == pytest.approx(69_070.48, abs=0.01)
    signals = [_signal(t, "bearish", 100) for t in COMPANIES] + [_signal("SPY", "neutral", 100)]
    orders = rules_orders(signals, allowed)
    _, margin = _spend(orders, limits, 0.5)
    assert 9_500 < margin <= 10_000
    check_book(orders, allowed, portfolio)


# --------------------------------------------------------------------------- the sharing rule


def _flat_limit(ticker: str, price: float, value: float) -> PositionLimit:
    return PositionLimit(ticker=ticker, price=price, volatility_annual=0.2, avg_correlation=None,
                         limit_fraction=0.2, limit_value=value)


def test_short_budget_is_shared_by_conviction() -> None:
    # 1,000 of cash, two tickers at 10 each allowed 100 shares: 2,000 wanted. Confidence 75 and 25
    # share the 1,000 as 750 / 250 -> 75 and 25 shares.
    portfolio = Portfolio(cash=1_000)
    allowed = allowed_actions([_flat_limit("A", 10.0, 1_000.0), _flat_limit("B", 10.0, 1_000.0)], portfolio)
    proposed = [Order(ticker="A", action="buy", quantity=100, confidence=75, reasoning="a"),
                Order(ticker="B", action="buy", quantity=100, confidence=25, reasoning="b")]
    a, b = fit_to_book(proposed, allowed)
    assert (a.quantity, b.quantity) == (75, 25)
    assert "cut from 100 to 75" in a.reasoning and "cut from 100 to 25" in b.reasoning


def test_what_a_capped_order_leaves_is_shared_again() -> None:
    # A wants 200 (20 shares at 10), B and C 1,000 each; cash 1,000, equal conviction: A gets its 200,
    # the other 800 is split 400 / 400.
    portfolio = Portfolio(cash=1_000)
    allowed = allowed_actions([_flat_limit(t, 10.0, 1_000.0) for t in "ABC"], portfolio)
    proposed = [Order(ticker="A", action="buy", quantity=20, confidence=50, reasoning=""),
                Order(ticker="B", action="buy", quantity=100, confidence=50, reasoning=""),
                Order(ticker="C", action="buy", quantity=100, confidence=50, reasoning="")]
    assert [o.quantity for o in fit_to_book(proposed, allowed)] == [20, 40, 40]


def test_sells_and_covers_pay_for_entries() -> None:
    # No cash; selling 10 A at 50 frees 500 and covering 10 B at 20 releases 10 x 20 x 0.5 = 100 of
    # the 100 margin posted: 600 pays for 60 C at 10 (the risk limit would allow 100).
    portfolio = Portfolio(cash=100, margin_used=100, margin_requirement=0.5,
                          positions={"A": Position(long=10), "B": Position(short=10)})
    allowed = allowed_actions([_flat_limit("A", 50.0, 0.0), _flat_limit("B", 20.0, 0.0),
                               _flat_limit("C", 10.0, 1_000.0)], portfolio)
    allowed.actions["C"]["buy"] = 100  # as if the cash were there: the book fit must catch it
    proposed = [Order(ticker="A", action="sell", quantity=10, confidence=90, reasoning=""),
                Order(ticker="B", action="cover", quantity=10, confidence=90, reasoning=""),
                Order(ticker="C", action="buy", quantity=100, confidence=90, reasoning="")]
    orders = fit_to_book(proposed, allowed)
    assert [(o.action, o.quantity) for o in orders] == [("sell", 10), ("cover", 10), ("buy", 60)]
    check_book(orders, allowed, portfolio)


def test_model_answer_is_fitted_to_the_book() -> None:
    """A model that asks for everything everywhere, invents a ticker and skips one."""
    portfolio = Portfolio(cash=5_000)
    allowed = allowed_actions([_flat_limit(t, 100.0, 5_000.0) for t in "ABC"], portfolio)
    answer = [{"ticker": "A", "action": "buy", "quantity": 10_000, "confidence": 90, "reasoning": "all in"},
              {"ticker": "B", "action": "buy", "quantity": 50, "confidence": 30, "reasoning": "some"},
              {"ticker": "ZZZ", "action": "buy", "quantity": 5, "confidence": 99, "reasoning": "invented"}]
    orders = clamp_orders(answer, allowed)
    assert [o.ticker for o in orders] == ["A", "B", "C"]
    assert orders[2].action == "hold"
    assert sum(o.quantity * 100.0 for o in orders if o.action == "buy") <= 5_000
    check_book(orders, allowed, portfolio)


# --------------------------------------------------------------------------- properties

TICKERS = ["A", "B", "C", "D", "E", "F"]
ACTIONS = ["buy", "sell", "short", "cover", "hold"]


@st.composite
def books(draw: st.DrawFn) -> tuple[Portfolio, list[PositionLimit]]:
    tickers = draw(st.lists(st.sampled_from(TICKERS), min_size=1, max_size=6, unique=True))
    cash = draw(st.floats(0, 1e6, allow_nan=False))
    portfolio = Portfolio(
        cash=cash,
        margin_requirement=draw(st.floats(0, 1, allow_nan=False)),
        margin_used=draw(st.floats(0, 1, allow_nan=False)) * cash,
        positions={t: Position(long=draw(st.integers(0, 500)), short=draw(st.integers(0, 500))) for t in tickers},
    )
    limits = [_flat_limit(t, draw(st.floats(0.01, 5_000, allow_nan=False)), draw(st.floats(0, 1e6, allow_nan=False)))
              for t in tickers]
    return portfolio, limits


@settings(max_examples=300, deadline=None)
@given(books(), st.data())
def test_rules_orders_always_fit_the_book(book: tuple[Portfolio, list[PositionLimit]], data: st.DataObject) -> None:
    portfolio, limits = book
    signals = [
        _signal(limit.ticker, data.draw(st.sampled_from(["bullish", "bearish", "neutral"])),
                data.draw(st.floats(0, 100, allow_nan=False)))
        for limit in limits for _ in range(data.draw(st.integers(0, 4)))
    ]
    allowed = allowed_actions(limits, portfolio)
    orders = rules_orders(signals, allowed)
    check_book(orders, allowed, portfolio)
    for alone, fitted in zip(rules_orders(signals, Allowed(allowed.actions)), orders):
        assert fitted.quantity == alone.quantity or "shared by conviction" in fitted.reasoning


@settings(max_examples=300, deadline=None)
@given(books(), st.data())
def test_any_model_answer_fits_the_book(book: tuple[Portfolio, list[PositionLimit]], data: st.DataObject) -> None:
    portfolio, limits = book
    names = [limit.ticker for limit in limits] + ["ZZZ"]
    answer = data.draw(st.lists(st.fixed_dictionaries({
        "ticker": st.sampled_from(names),
        "action": st.sampled_from(ACTIONS),
        "quantity": st.integers(-5, 10**7),
        "confidence": st.floats(-50, 150, allow_nan=False),
        "reasoning": st.text(max_size=10),
    }), max_size=10))
    allowed = allowed_actions(limits, portfolio)
    orders = clamp_orders(answer, allowed)  # type: ignore[arg-type]
    check_book(orders, allowed, portfolio)
    per_ticker = clamp_orders(answer, Allowed(allowed.actions))  # type: ignore[arg-type]  # no book: caps only
    for alone, fitted in zip(per_ticker, orders):
        if fitted.quantity < alone.quantity:  # cut by the book: the order says so
            assert "shared by conviction" in fitted.reasoning
