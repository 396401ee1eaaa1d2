"""The portfolio manager: what each ticker may do, and the rules model's decision.

Allowed actions come from cash, positions, the margin requirement and the
risk limit; every order, from the rules model or a language model, is
clamped to them, so a quantity never exceeds what is allowed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from hedgeflow.schemas import Action, AgentSignal, Order, Portfolio, PositionLimit

__all__ = ["DecisionRules", "allowed_actions", "clamp_order", "net_conviction", "rules_orders"]

Allowed = dict[str, dict[Action, int]]


@dataclass(frozen=True)
class DecisionRules:
    act_threshold: float = 0.10  # |net conviction| below this holds
    full_size_conviction: float = 0.50  # at or above this the order uses the whole allowance


RULES = DecisionRules()


def allowed_actions(limits: list[PositionLimit], portfolio: Portfolio) -> Allowed:
    """Maximum quantity per action and ticker; ``hold`` is always allowed (quantity 0).

    buy: the risk limit's remaining value and the cash, in whole shares.
    sell / cover: the long / short shares held.
    short: the limit's value and the margin the cash can post (cash / (price x margin requirement)).
    """
    allowed: Allowed = {}
    for limit in limits:
        position = portfolio.position(limit.ticker)
        price = limit.price
        actions: dict[Action, int] = {"hold": 0}
        if price > 0:
            buy = math.floor(min(limit.limit_value, portfolio.cash) / price)
            margin_room = portfolio.cash - portfolio.margin_used
            margin_shares = (
                math.floor(margin_room / (price * portfolio.margin_requirement))
                if portfolio.margin_requirement > 0
                else buy
            )
            short = min(math.floor(limit.limit_value / price), max(0, margin_shares))
            if buy > 0:
                actions["buy"] = buy
            if short > 0:
                actions["short"] = short
        if position.long > 0:
            actions["sell"] = position.long
        if position.short > 0:
            actions["cover"] = position.short
        allowed[limit.ticker] = actions
    return allowed


def net_conviction(signals: list[AgentSignal]) -> float:
    """(sum of bullish confidence - sum of bearish confidence) / (100 x analysts): in [-1, 1]."""
    if not signals:
        return 0.0
    bull = sum(s.confidence for s in signals if s.signal == "bullish")
    bear = sum(s.confidence for s in signals if s.signal == "bearish")
    return (bull - bear) / (100.0 * len(signals))


def clamp_order(order: Order, allowed: Allowed) -> Order:
    """The order cut to what is allowed; an action that is not allowed becomes hold."""
    actions = allowed.get(order.ticker, {"hold": 0})
    if order.action not in actions or order.action == "hold":
        if order.action == "hold":
            return order.model_copy(update={"quantity": 0})
        return Order(
            ticker=order.ticker,
            action="hold",
            quantity=0,
            confidence=order.confidence,
            reasoning=f"{order.action} not allowed ({order.reasoning})",
        )
    return order.model_copy(update={"quantity": min(order.quantity, actions[order.action])})


def rules_orders(signals: list[AgentSignal], allowed: Allowed, rules: DecisionRules = RULES) -> list[Order]:
    """Decide each ticker from its confidence-weighted signals.

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
        quantity = actions[action] if action in ("sell", "cover") else max(1, math.floor(actions[action] * size))
        orders.append(Order(ticker=ticker, action=action, quantity=quantity, confidence=confidence, reasoning=summary))
    return [clamp_order(order, allowed) for order in orders]
