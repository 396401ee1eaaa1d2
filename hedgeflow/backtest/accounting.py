"""The book: cash, long and short positions, margin; fills at an open with costs.

Conventions (USD, shares in whole units):

- ``cash`` includes the proceeds of short sales, so at any marks
  ``equity = cash + long_value - short_value`` holds by construction.
- Shorts need collateral: ``margin = margin_requirement x short_value`` at the
  marks. Longs are bought with cash only (no borrowing).
- ``free_cash = cash - short_value - margin`` is what new buys and new shorts
  may spend: a buy lowers it by the fill value plus commission, a short by the
  margin it posts plus its costs. Sells and covers release cash and margin.
- Fills: buys and covers at ``open x (1 + slippage_bps / 10^4)``, sells and
  shorts at ``open x (1 - slippage_bps / 10^4)``; commission is
  ``quantity x per_share + fill value x commission_bps / 10^4``.
- Whatever an order asks, the book trims it to what it can pay for and holds;
  when a close leaves ``free_cash`` below 0 (shorts rose), the next open
  covers shorts, then sells longs, until it is not (a margin call).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from hedgeflow.backtest.models import Costs, FillAction, Trade
from hedgeflow.schemas import Portfolio, Position

__all__ = ["Book", "Holding", "fill_price"]

BPS = 1e-4
EPS = 1e-9


def fill_price(action: FillAction, open_price: float, costs: Costs) -> float:
    """The open moved against the trader by the slippage: up for buy/cover, down for sell/short."""
    sign = 1.0 if action in ("buy", "cover") else -1.0
    return open_price * (1.0 + sign * costs.slippage_bps * BPS)


@dataclass
class Holding:
    long: int = 0
    short: int = 0
    long_cost: float = 0.0  # average fill price of the longs held
    short_cost: float = 0.0  # average fill price of the shorts held


@dataclass
class Book:
    cash: float
    margin_requirement: float
    costs: Costs = field(default_factory=Costs)
    holdings: dict[str, Holding] = field(default_factory=dict)

    # ------------------------------------------------------------------ valuation

    def holding(self, ticker: str) -> Holding:
        return self.holdings.setdefault(ticker, Holding())

    def long_value(self, marks: dict[str, float]) -> float:
        return sum(h.long * marks[t] for t, h in self.holdings.items() if h.long)

    def short_value(self, marks: dict[str, float]) -> float:
        return sum(h.short * marks[t] for t, h in self.holdings.items() if h.short)

    def equity(self, marks: dict[str, float]) -> float:
        return self.cash + self.long_value(marks) - self.short_value(marks)

    def margin(self, marks: dict[str, float]) -> float:
        return self.margin_requirement * self.short_value(marks)

    def free_cash(self, marks: dict[str, float]) -> float:
        return self.cash - self.short_value(marks) - self.margin(marks)

    def portfolio(self, marks: dict[str, float]) -> Portfolio:
        """The decision layer's view: ``cash`` is the cash balance, ``margin_used`` the collateral posted.

        So ``risk.portfolio_value`` of the view is the book's equity and limits are
        sized on it. The view does not know which part of the cash is short
        proceeds, so it may allow more than free cash pays for: ``fill`` trims that.
        """
        return Portfolio(
            cash=max(0.0, self.cash),
            margin_requirement=self.margin_requirement,
            margin_used=self.margin(marks),
            positions={
                t: Position(long=h.long, short=h.short, long_cost_basis=h.long_cost, short_cost_basis=h.short_cost)
                for t, h in self.holdings.items()
                if h.long or h.short
            },
        )

    # ------------------------------------------------------------------ trading

    def _per_share(self, action: FillAction, open_price: float) -> tuple[float, float, float]:
        """(fill price, commission per share, change of free cash per share)."""
        price = fill_price(action, open_price, self.costs)
        fee = self.costs.commission_per_share + price * self.costs.commission_bps * BPS
        collateral = (1.0 + self.margin_requirement) * open_price  # short value + margin, marked at the open
        change = {
            "buy": -(price + fee),
            "sell": price - fee,
            "short": price - fee - collateral,
            "cover": collateral - price - fee,
        }[action]
        return price, fee, change

    def affordable(self, ticker: str, action: FillAction, quantity: int, marks: dict[str, float]) -> int:
        """``quantity`` trimmed to the shares held (sell/cover) and to what free cash pays for."""
        held = self.holding(ticker)
        if action == "sell":
            quantity = min(quantity, held.long)
        elif action == "cover":
            quantity = min(quantity, held.short)
        _, fee, change = self._per_share(action, marks[ticker])
        if change < 0:  # it spends free cash: never below zero
            room = max(0.0, self.free_cash(marks))
            quantity = min(quantity, math.floor(room / -change + EPS))
        if action in ("sell", "cover") and fee > 0:  # costs never take cash below zero
            price = fill_price(action, marks[ticker], self.costs)
            spend = fee - price if action == "sell" else price + fee
            if spend > 0:
                quantity = min(quantity, math.floor(max(0.0, self.cash) / spend + EPS))
        return max(0, quantity)

    def fill(
        self, day: dt.date, ticker: str, action: FillAction, quantity: int, marks: dict[str, float],
        decided: dt.date | None = None, note: str = "",
    ) -> Trade | None:
        """Trade at ``marks[ticker]`` (the session's open) after trimming; None when nothing fills."""
        quantity = self.affordable(ticker, action, quantity, marks)
        if quantity <= 0:
            return None
        open_price = marks[ticker]
        price, fee, _ = self._per_share(action, open_price)
        held = self.holding(ticker)
        value = quantity * price
        if action == "buy":
            held.long_cost = (held.long_cost * held.long + value) / (held.long + quantity)
            held.long += quantity
            self.cash -= value
        elif action == "sell":
            held.long -= quantity
            held.long_cost = held.long_cost if held.long else 0.0
            self.cash += value
        elif action == "short":
            held.short_cost = (held.short_cost * held.short + value) / (held.short + quantity)
            held.short += quantity
            self.cash += value
        else:
            held.short -= quantity
            held.short_cost = held.short_cost if held.short else 0.0
            self.cash -= value
        commission = quantity * fee
        self.cash -= commission
        return Trade(
            date=day, ticker=ticker, action=action, quantity=quantity, price=price, commission=commission,
            slippage=quantity * abs(price - open_price), decided=decided, note=note,
        )

    def margin_call(self, day: dt.date, marks: dict[str, float]) -> list[Trade]:
        """Restore ``free_cash >= 0``: cover the largest shorts first, then sell the largest longs.

        Repeated while it helps: a cover is limited by the cash it pays with, so the cash a
        sale of longs raises can pay for the covers the first pass could not afford.
        """
        trades: list[Trade] = []
        while True:
            made = len(trades)
            for action in ("cover", "sell"):
                side = "short" if action == "cover" else "long"
                by_value = sorted(
                    (t for t, h in self.holdings.items() if getattr(h, side)),
                    key=lambda t: -getattr(self.holdings[t], side) * marks[t],
                )
                for ticker in by_value:
                    deficit = -self.free_cash(marks)
                    if deficit <= EPS:
                        return trades
                    _, _, change = self._per_share(action, marks[ticker])
                    if change <= 0:
                        continue  # this side cannot raise free cash (costs exceed what it releases)
                    need = math.ceil(deficit / change - EPS)
                    trade = self.fill(day, ticker, action, min(need, getattr(self.holdings[ticker], side)), marks,
                                      note="margin call")
                    if trade:
                        trades.append(trade)
            if len(trades) == made:  # nothing more can be covered or sold
                return trades
