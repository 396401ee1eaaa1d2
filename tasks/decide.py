"""Risk and portfolio tasks: limits from prices, then orders from signals."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.transactions import get_transaction

from hedgeflow.llm import ModelError
from hedgeflow.llm.agents import model_decisions
from hedgeflow.portfolio import allowed_actions, rules_orders
from hedgeflow.risk import position_limits
from hedgeflow.schemas import AgentSignal, ModelUsage, Order, Portfolio, PositionLimit, Snapshot
from tasks.model_calls import ModelSetup, guarded_client, model_task_options
from tasks.retrying import wait_retry_after

__all__ = ["decide_orders", "risk_limits"]


@task(name="risk", cache_policy=NO_CACHE)  # no key to compute: Prefect's default hashes every snapshot
def risk_limits(snapshots: list[Snapshot], portfolio: Portfolio) -> list[PositionLimit]:
    return position_limits({s.ticker: list(s.prices) for s in snapshots}, portfolio)


@task(name="portfolio", **model_task_options())
def decide_orders(
    signals: list[AgentSignal], limits: list[PositionLimit], portfolio: Portfolio, model: str = "rules",
    setup: ModelSetup | None = None,
) -> tuple[list[Order], ModelUsage, dict[str, str]]:
    """One model call for every ticker: (orders, usage, ticker -> why its order is the rules order).

    A ticker the model omits or decides invalidly, or every ticker when the model
    cannot answer, takes the rules order; such a decision is never cached.
    """
    allowed = allowed_actions(limits, portfolio)
    rules = rules_orders(signals, allowed)
    prices = {limit.ticker: limit.price for limit in limits}
    fallbacks: list[str] = []
    client = guarded_client(setup or ModelSetup(model=model), fallbacks)
    try:
        decision = model_decisions(client, signals, allowed, prices, rules)  # type: ignore[arg-type]  # Action keys
    except ModelError as exc:  # the guarded model wants it retried: Prefect does
        wait_retry_after(exc)
        raise
    if decision.degraded:
        transaction = get_transaction()
        if transaction is not None:
            transaction.write_on_commit = False  # a gap or fallback is never cached
        gaps = {t: why for t, why in decision.degraded.items() if why not in fallbacks}  # fallbacks: said already
        if gaps:
            get_run_logger().warning("portfolio manager: rules orders for %s",
                                     "; ".join(f"{t} ({why})" for t, why in sorted(gaps.items())))
    return decision.orders, decision.usage, decision.degraded
