"""Risk and portfolio tasks: limits from prices, then orders from signals."""

from __future__ import annotations

from prefect import task

from hedgeflow.llm import model_orders
from hedgeflow.portfolio import allowed_actions, rules_orders
from hedgeflow.risk import position_limits
from hedgeflow.schemas import AgentSignal, ModelUsage, Order, Portfolio, PositionLimit, Snapshot
from tasks.model_calls import ask_model, model_task_options

__all__ = ["decide_orders", "risk_limits"]


@task(name="risk")
async def risk_limits(snapshots: list[Snapshot], portfolio: Portfolio) -> list[PositionLimit]:
    return position_limits({s.ticker: list(s.prices) for s in snapshots}, portfolio)


@task(name="portfolio", **model_task_options())
async def decide_orders(
    signals: list[AgentSignal], limits: list[PositionLimit], portfolio: Portfolio, model: str = "rules"
) -> tuple[list[Order], ModelUsage]:
    """One model call for every ticker; the rules decision when the model is off or down."""
    allowed = allowed_actions(limits, portfolio)
    rules = rules_orders(signals, allowed)
    if model == "rules":
        return rules, ModelUsage()
    prices = {limit.ticker: limit.price for limit in limits}

    def degraded(reason: str) -> tuple[list[Order], ModelUsage]:
        return [o.model_copy(update={"reasoning": f"{o.reasoning} [rules: {reason}]"}) for o in rules], ModelUsage()

    return await ask_model(model, lambda client: model_orders(client, signals, allowed, prices, rules), degraded)
