"""The run's guarded model for model tasks: breaker and rules fallback, Prefect retries on transient errors.

The flow builds one ``ModelSetup`` per run (the model spec, its saved block,
the circuit-breaker block) and passes it to every model task: settings travel
as a parameter, so a task in another process (a Dask worker) uses the same
ones, and nothing sticks to the process for later runs. In a task,
``guarded_client(setup)`` is the model to ask: a ``FallbackClient`` that
raises a transient error while a retry is left and the breaker is not open
(Prefect retries the task), and otherwise answers with the rules model,
marked degraded. A degraded answer is never written to the task cache.
Inside it, a model that makes requests is hedged (``HedgedClient``): a slow or
failed request gets one identical second request while the task has a retry
left and the breaker is closed; each hedge spends one of the task's retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger
from prefect.events import emit_event
from prefect.runtime import task_run
from prefect.transactions import get_transaction

from blocks.breaker import CircuitBreakerBlock
from hedgeflow.breaker import Transition
from hedgeflow.llm import (
    AuthRefusals,
    FallbackClient,
    ModelError,
    RulesClient,
    UnavailableClient,
    make_client,
    parse_model,
)
from hedgeflow.llm.base import ModelClient
from hedgeflow.llm.hedging import Hedgeable, HedgedClient, HedgeLedger, HedgeSettings
from hedgeflow.retry import RETRY, is_transient
from tasks.limits import limited
from tasks.retrying import retry_options

__all__ = ["ModelSetup", "guarded_client", "model_setup", "model_task_options"]


@dataclass(frozen=True)
class ModelSetup:
    """What every model task of a run needs; it pickles, so it can cross to another process."""

    model: str = "rules"
    block: Any = None  # the saved model block a ``block:<type-slug>/<name>`` spec names; keys stay in it
    breaker: CircuitBreakerBlock = field(default_factory=CircuitBreakerBlock.from_env)
    refusals: AuthRefusals = field(default_factory=AuthRefusals, compare=False)  # keys refused in this run
    hedge: HedgeSettings | None = None  # None: the model block's, else the defaults
    hedges: HedgeLedger = field(default_factory=HedgeLedger, compare=False)  # hedges sent per task run

    def hedging(self) -> HedgeSettings:
        """When a slow call is hedged: ``hedge`` when given, else the model block's settings, else the defaults."""
        if self.hedge is not None:
            return self.hedge
        from_block = getattr(self.block, "hedge_settings", None)
        return from_block() if callable(from_block) else HedgeSettings()

    def primary(self) -> ModelClient:
        """The model itself; one that cannot be called (no key) fails each call with the reason."""
        try:
            return self.block.client() if self.block is not None else make_client(parse_model(self.model))
        except ModelError as exc:
            return UnavailableClient(exc)


async def model_setup(model: str = "rules", breaker_block: str | None = None) -> ModelSetup:
    """Load the run's blocks once: the model block of a ``block:`` spec, the named breaker block."""
    from prefect.blocks.core import Block

    block = await Block.aload(model.removeprefix("block:")) if model.startswith("block:") else None
    breaker = await CircuitBreakerBlock.aload(breaker_block) if breaker_block else CircuitBreakerBlock.from_env()
    return ModelSetup(model=model, block=block, breaker=breaker)


def _announce(transition: Transition) -> None:
    """Every breaker transition becomes a Prefect event (the breaker itself logs it)."""
    emit_event(
        event=f"hedgeflow.breaker.{transition.new}",
        resource={"prefect.resource.id": f"hedgeflow.breaker.{transition.provider}.{transition.model}"},
        payload=transition.model_dump(mode="json"),
    )


def guarded_client(setup: ModelSetup, degraded: list[str] | None = None) -> ModelClient:
    """The model to ask from a task; each fallback's reason is appended to ``degraded``."""
    primary = setup.primary()
    if isinstance(primary, RulesClient):
        return primary  # it makes no call: nothing to guard
    primary = limited(primary)  # each call holds the provider's shared limits, where the server has them
    breaker = setup.breaker.breaker()
    breaker.add_listener(_announce)
    key = (primary.provider, primary.model)
    call = str(task_run.id or "")

    def attempts() -> int:
        """The retry budget this call has spent: its task runs so far plus the hedges it sent."""
        return (task_run.run_count or 1) + setup.hedges.spent(call)

    def retry(error: ModelError) -> bool:
        return is_transient(error) and attempts() <= RETRY.retries and breaker.state(key).state != "open"

    def may_hedge(cause: ModelError | None) -> bool:
        if attempts() > RETRY.retries or breaker.state(key).state != "closed":
            return False
        setup.hedges.spend(call)
        return True

    def on_fallback(reason: str) -> None:
        transaction = get_transaction()
        if transaction is not None:
            transaction.write_on_commit = False  # never cache a degraded answer
        if setup.refusals.reason(*key) != reason:  # a refused key is said once, by on_refused
            get_run_logger().warning("degraded to rules: %s", reason)
        if degraded is not None:
            degraded.append(reason)

    def on_refused(reason: str) -> None:
        get_run_logger().error("%s: every call of this run takes the rules fallback", reason)

    model = HedgedClient(primary, setup.hedging(), may_hedge=may_hedge) if isinstance(primary, Hedgeable) else primary
    return FallbackClient(model, RulesClient(), breaker, retry=retry, on_fallback=on_fallback,
                          refusals=setup.refusals, on_refused=on_refused)


def model_task_options() -> dict[str, Any]:
    return retry_options()
