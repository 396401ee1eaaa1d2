"""Risk and portfolio tasks: limits from prices, then orders from signals."""

from __future__ import annotations

from prefect import task

from hedgeflow.llm import ModelError, model_orders
from hedgeflow.portfolio import allowed_actions, rules_orders
from hedgeflow.risk import position_limits
from hedgeflow.schemas import AgentSignal, ModelUsage, Order, Portfolio, PositionLimit, Snapshot
from tasks.model_calls import ModelSetup, guarded_client, model_task_options
from tasks.retrying import wait_retry_after

__all__ = ["decide_orders", "risk_limits"]


@task(name="risk")
def risk_limits(snapshots: list[Snapshot], portfolio: Portfolio) -> list[PositionLimit]:
    return position_limits({s.ticker: list(s.prices) for s in snapshots}, portfolio)


@task(name="portfolio", **model_task_options())
def decide_orders(
    signals: list[AgentSignal], limits: list[PositionLimit], portfolio: Portfolio, model: str = "rules",
    setup: ModelSetup | None = None,
) -> tuple[list[Order], ModelUsage]:
    """One model call for every ticker; the rules decision, marked, when the model cannot answer."""
    allowed = allowed_actions(limits, portfolio)
    rules = rules_orders(signals, allowed)
    prices = {limit.ticker: limit.price for limit in limits}
    degraded: list[str] = []
    client = guarded_client(setup or ModelSetup(model=model), degraded)
    try:
        orders, usage = model_orders(client, signals, allowed, prices, rules)
    except ModelError as exc:  # the guarded model wants it retried: Prefect does
        wait_retry_after(exc)
        raise
    if degraded:
        orders = [o.model_copy(update={"reasoning": f"{o.reasoning} [rules: {degraded[-1]}]"}) for o in orders]
    return orders, usage
