"""Risk and portfolio tasks: limits from prices, then orders from signals."""

from __future__ import annotations

from prefect import task

from hedgeflow.portfolio import allowed_actions, rules_orders
from hedgeflow.risk import position_limits
from hedgeflow.schemas import AgentSignal, ModelUsage, Order, Portfolio, PositionLimit, Snapshot

__all__ = ["decide_orders", "risk_limits"]


@task(name="risk")
async def risk_limits(snapshots: list[Snapshot], portfolio: Portfolio) -> list[PositionLimit]:
    return position_limits({s.ticker: list(s.prices) for s in snapshots}, portfolio)


@task(name="portfolio")
async def decide_orders(
    signals: list[AgentSignal], limits: list[PositionLimit], portfolio: Portfolio, model: str = "rules"
) -> tuple[list[Order], ModelUsage]:
    allowed = allowed_actions(limits, portfolio)
    return rules_orders(signals, allowed), ModelUsage()
