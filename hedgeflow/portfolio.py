"""The portfolio manager: what each ticker may do, the rules model's decision, and the book-level fit.

``allowed_actions`` caps each ticker on its own (risk limit, position, cash)
and carries the book the tickers share. ``fit_to_book`` then makes the whole
set of orders payable, whoever proposed it (the rules model or a language
model, whose answer is never trusted):

- the book: ``free cash = cash - margin_used`` (margin posted for open shorts
  is cash that cannot be spent); buys cost ``quantity x price`` and a new
  short posts ``quantity x price x margin_requirement``, both from free cash;
- exits first: sells add their proceeds to free cash, covers release the
  margin their shares posted (``quantity x price x margin_requirement``, at
  most ``margin_used``), then entries (buys, shorts) spend it;
- when entries want more than free cash, it is shared by conviction: each
  entry's share is proportional to its confidence, never above what it asked
  for (what a capped entry leaves is shared again); whole shares are rounded
  down, and the cash that rounding leaves goes one share at a time to the cut
  entries, highest confidence first. Every cut order says so in its reasoning;
- every allowed ticker gets exactly one order; unknown tickers are dropped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from hedgeflow.schemas import Action, AgentSignal, Order, Portfolio, PositionLimit

__all__ = [
    "Allowed",
    "Book",
    "DecisionRules",
    "allowed_actions",
    "clamp_order",
    "exit_release",
    "fit_to_book",
    "net_conviction",
    "rules_orders",
]

AllowedMap = Mapping[str, Mapping[Action, int]]
EXITS: tuple[Action, ...] = ("sell", "cover")
ENTRIES: tuple[Action, ...] = ("buy", "short")


@dataclass(frozen=True)
class DecisionRules:
    act_threshold: float = 0.10  # |net conviction| below this holds
    full_size_conviction: float = 0.50  # at or above this the order uses the whole allowance


RULES = DecisionRules()


@dataclass(frozen=True)
class Book:
    """What every ticker's orders share: free cash, posted margin and prices."""

    free_cash: float  # cash - margin_used
    margin_used: float
    margin_requirement: float
    prices: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Allowed(Mapping[str, dict[Action, int]]):
    """ticker -> action -> maximum quantity, and the ``book`` those quantities share."""

    actions: dict[str, dict[Action, int]]
    book: Book | None = None

    def __getitem__(self, ticker: str) -> dict[Action, int]:
        return self.actions[ticker]

    def __iter__(self) -> Iterator[str]:
        return iter(self.actions)

    def __len__(self) -> int:
        return len(self.actions)


def allowed_actions(limits: list[PositionLimit], portfolio: Portfolio) -> Allowed:
    """Maximum quantity per action and ticker, each ticker on its own; ``hold`` is always allowed (0).

    buy: the risk limit's remaining value and the free cash (cash - margin used), in whole shares.
    sell / cover: the long / short shares held.
    short: the limit's value and the margin free cash can post (free cash / (price x margin requirement)).
    The sum over tickers is ``fit_to_book``'s job.
    """
    free_cash = max(0.0, portfolio.cash - portfolio.margin_used)
    actions_by_ticker: dict[str, dict[Action, int]] = {}
    for limit in limits:
        position = portfolio.position(limit.ticker)
        price = limit.price
        actions: dict[Action, int] = {"hold": 0}
        if price > 0:
            by_limit = limit.limit_value / price
            buy = math.floor(min(by_limit, free_cash / price))
            margin = price * portfolio.margin_requirement
            short = math.floor(min(by_limit, free_cash / margin) if margin > 0 else by_limit)
            if buy > 0:
                actions["buy"] = buy
            if short > 0:
                actions["short"] = short
        if position.long > 0:
            actions["sell"] = position.long
        if position.short > 0:
            actions["cover"] = position.short
        actions_by_ticker[limit.ticker] = actions
    book = Book(
        free_cash=free_cash,
        margin_used=portfolio.margin_used,
        margin_requirement=portfolio.margin_requirement,
        prices={limit.ticker: limit.price for limit in limits},
    )
    return Allowed(actions_by_ticker, book)


def net_conviction(signals: list[AgentSignal]) -> float:
    """(sum of bullish confidence - sum of bearish confidence) / (100 x analysts): in [-1, 1]."""
    if not signals:
        return 0.0
    bull = sum(s.confidence for s in signals if s.signal == "bullish")
    bear = sum(s.confidence for s in signals if s.signal == "bearish")
    return (bull - bear) / (100.0 * len(signals))


def _hold(order: Order, reasoning: str) -> Order:
    return Order(ticker=order.ticker, action="hold", quantity=0, confidence=order.confidence, reasoning=reasoning)


def clamp_order(order: Order, allowed: AllowedMap) -> Order:
    """The order cut to its ticker's allowance; an action that is not allowed becomes hold."""
    actions = allowed.get(order.ticker, {"hold": 0})
    if order.action == "hold":
        return order.model_copy(update={"quantity": 0})
    if order.action not in actions or actions[order.action] <= 0 or order.quantity <= 0:
        return _hold(order, f"{order.action} not allowed ({order.reasoning})")
    cap = actions[order.action]
    if order.quantity > cap:
        return order.model_copy(
            update={"quantity": cap, "reasoning": f"{order.reasoning} (quantity capped from {order.quantity} to {cap})"}
        )
    return order


def _one_per_ticker(orders: list[Order], allowed: AllowedMap) -> list[Order]:
    """Exactly one order per allowed ticker, in ticker order: the first proposed, else hold."""
    first: dict[str, Order] = {}
    for order in orders:
        first.setdefault(order.ticker, order)
    return [
        first.get(ticker) or Order(ticker=ticker, action="hold", quantity=0, confidence=0.0, reasoning="no decision; holding")
        for ticker in sorted(allowed)
    ]


def _conviction_shares(budget: float, demands: list[float], weights: list[float]) -> list[float]:
    """Split ``budget`` in proportion to ``weights``, no part above its demand (water-filling)."""
    if sum(weights) <= 0:
        weights = [1.0] * len(demands)
    shares = [0.0] * len(demands)
    active = [i for i, (d, w) in enumerate(zip(demands, weights)) if d > 0 and w > 0]
    remaining = budget
    while active and remaining > 0:
        rate = remaining / sum(weights[i] for i in active)
        capped = [i for i in active if demands[i] <= rate * weights[i]]
        if not capped:
            for i in active:
                shares[i] = rate * weights[i]
            break
        for i in capped:
            shares[i] = demands[i]
            remaining -= demands[i]
        active = [i for i in active if i not in capped]
    return shares


def _unit_cost(order: Order, book: Book) -> float:
    """Free cash one share of an entry uses: its price for a buy, the margin it posts for a short."""
    price = book.prices.get(order.ticker, 0.0)
    return price if order.action == "buy" else price * book.margin_requirement


def exit_release(orders: list[Order], book: Book) -> float:
    """Free cash the exits add: sale proceeds, and margin released by covers (at most ``margin_used``)."""
    proceeds = sum(o.quantity * book.prices.get(o.ticker, 0.0) for o in orders if o.action == "sell")
    released = sum(
        o.quantity * book.prices.get(o.ticker, 0.0) * book.margin_requirement for o in orders if o.action == "cover"
    )
    return proceeds + min(book.margin_used, released)


def fit_to_book(orders: list[Order], allowed: AllowedMap) -> list[Order]:
    """One order per allowed ticker, each within its allowance, entries together within free cash.

    See the module docstring for the rule. Without a ``Book`` (a plain mapping)
    only the per-ticker allowance applies.
    """
    clamped = [clamp_order(order, allowed) for order in _one_per_ticker(orders, allowed)]
    book = allowed.book if isinstance(allowed, Allowed) else None
    if book is None:
        return clamped
    budget = book.free_cash + exit_release(clamped, book)
    entries = [i for i, o in enumerate(clamped) if o.action in ENTRIES]
    units = {i: _unit_cost(clamped[i], book) for i in entries}
    demand = sum(clamped[i].quantity * units[i] for i in entries)
    if demand <= budget:
        return clamped
    shares = _conviction_shares(budget, [clamped[i].quantity * units[i] for i in entries],
                                [clamped[i].confidence for i in entries])
    quantities = {
        i: min(clamped[i].quantity, math.floor(share / units[i])) if units[i] > 0 else clamped[i].quantity
        for i, share in zip(entries, shares)
    }
    left = budget - sum(quantities[i] * units[i] for i in entries)
    for i in sorted(entries, key=lambda i: (-clamped[i].confidence, clamped[i].ticker)):
        if units[i] > 0 and quantities[i] < clamped[i].quantity:
            extra = min(clamped[i].quantity - quantities[i], math.floor(left / units[i]))
            quantities[i] += extra
            left -= extra * units[i]
    note = f"entries wanted {demand:,.0f} of free cash, {budget:,.0f} available; shared by conviction"
    out = list(clamped)
    for i in entries:
        order, quantity = clamped[i], quantities[i]
        if quantity == order.quantity:
            continue
        why = f"{order.reasoning} [book: {order.action} cut from {order.quantity} to {quantity}: {note}]".strip()
        out[i] = _hold(order, why) if quantity == 0 else order.model_copy(update={"quantity": quantity, "reasoning": why})
    return out


def rules_orders(signals: list[AgentSignal], allowed: AllowedMap, rules: DecisionRules = RULES) -> list[Order]:
    """Decide each ticker from its confidence-weighted signals, then fit the orders to the book.

    Positive conviction covers a short first, else buys; negative sells a long
    first, else shorts; the size grows linearly with conviction up to the
    allowance at ``full_size_conviction``.
    """
    by_ticker: dict[str, list[AgentSignal]] = defaultdict(list)
    for signal in signals:
        by_ticker[signal.ticker].append(signal)
    orders: list[Order] = []
    for ticker, actions in allowed.items():
        group = by_ticker.get(ticker, [])
        net = net_conviction(group)
        counts = {k: sum(1 for s in group if s.signal == k) for k in ("bullish", "bearish", "neutral")}
        summary = f"net conviction {net:+.2f} ({counts['bullish']} bullish, {counts['bearish']} bearish, {counts['neutral']} neutral)"
        confidence = round(min(100.0, abs(net) * 100.0), 1)
        action: Action = "hold"
        if net >= rules.act_threshold:
            action = "cover" if "cover" in actions else "buy"
        elif net <= -rules.act_threshold:
            action = "sell" if "sell" in actions else "short"
        if action == "hold" or action not in actions:
            reason = summary if action == "hold" else f"{summary}; {action} not allowed"
            orders.append(Order(ticker=ticker, action="hold", quantity=0, confidence=confidence, reasoning=reason))
            continue
        size = min(1.0, abs(net) / rules.full_size_conviction)
        quantity = actions[action] if action in EXITS else max(1, math.floor(actions[action] * size))
        orders.append(Order(ticker=ticker, action=action, quantity=quantity, confidence=confidence, reasoning=summary))
    return fit_to_book(orders, allowed)
