"""Model calls from tasks: through the breaker, retried by Prefect on transient errors only, else degraded.

A call either returns the model's answer, raises to make Prefect retry it
(transient error, retries and run budget left, breaker not open), or returns
the caller's fallback marked degraded. A degraded answer is never written to
the task cache, so the next run asks the model again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.client.schemas.objects import TaskRun
from prefect.events import emit_event
from prefect.runtime import flow_run, task_run
from prefect.states import State
from prefect.transactions import get_transaction

from blocks.breaker import CircuitBreakerBlock
from hedgeflow.breaker import BreakerOpenError, CircuitBreaker, Transition
from hedgeflow.errors import HedgeflowError
from hedgeflow.llm import make_client, parse_model
from hedgeflow.llm.client import ModelClient
from hedgeflow.retry import RETRY, RetryBudget, error_kind, is_transient, retry_after
from tasks.threads import in_thread

__all__ = ["BUDGET", "ask_model", "breaker", "model_task_options", "retry_condition", "use_breaker"]

T = TypeVar("T")
BUDGET = RetryBudget(RETRY.budget_per_run)


def _announce(transition: Transition) -> None:
    """Every breaker transition becomes a Prefect event (the breaker itself logs it)."""
    emit_event(
        event=f"hedgeflow.breaker.{transition.new}",
        resource={"prefect.resource.id": f"hedgeflow.breaker.{transition.provider}.{transition.model}"},
        payload=transition.model_dump(mode="json"),
    )


_BREAKER: list[CircuitBreaker] = []


def use_breaker(block: CircuitBreakerBlock) -> CircuitBreaker:
    """Make ``block``'s breaker the one every model call of this process goes through."""
    shared = block.breaker()
    shared.add_listener(_announce)
    _BREAKER[:] = [shared]
    return shared


def breaker() -> CircuitBreaker:
    """The process's breaker: the one in use, else one from the environment (HEDGEFLOW_REDIS_URL shares it)."""
    return _BREAKER[0] if _BREAKER else use_breaker(CircuitBreakerBlock.from_env())


def _run_id() -> str:
    return str(flow_run.id or "local")


def retry_condition(task: Any, run: TaskRun, state: State[Any]) -> bool:
    """Prefect's retry_condition_fn: transient errors only, and never while the breaker is open."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None or isinstance(exc, BreakerOpenError) or not is_transient(exc):
        return False
    provider, model = getattr(exc, "provider", None), getattr(exc, "model", None)
    return not (provider and model and breaker().state((provider, model)).state == "open")


def model_task_options() -> dict[str, Any]:
    return {
        "retries": RETRY.retries,
        "retry_delay_seconds": list(RETRY.delays_s),
        "retry_jitter_factor": RETRY.jitter_factor,
        "retry_condition_fn": retry_condition,
    }


_CLIENTS: dict[str, ModelClient] = {}


async def _client(model: str) -> ModelClient:
    """A client per model spec; ``block:<type-slug>/<name>`` names a saved model block (keys stay in it)."""
    client = _CLIENTS.get(model)
    if client is None:
        if model.startswith("block:"):
            from prefect.blocks.core import Block

            block = await Block.aload(model.removeprefix("block:"))
            client = block.client()  # type: ignore[attr-defined]
        else:
            client = make_client(parse_model(model))
        _CLIENTS[model] = client
    return client


def _degrade(fallback: Callable[[str], T], reason: str) -> T:
    transaction = get_transaction()
    if transaction is not None:
        transaction.write_on_commit = False  # never cache a degraded answer
    get_run_logger().warning("degraded to rules: %s", reason)
    return fallback(reason)


async def ask_model(model: str, call: Callable[[ModelClient], T], fallback: Callable[[str], T]) -> T:
    """``call(client)`` through the breaker; raise for a Prefect retry, or return ``fallback(reason)``."""
    try:
        client = await _client(model)
        permit = breaker().acquire((client.provider, client.model))
    except (BreakerOpenError, HedgeflowError) as exc:
        return _degrade(fallback, str(exc))
    try:
        answer = await in_thread(call, client)
    except HedgeflowError as exc:
        kind = error_kind(exc)
        if kind is not None and breaker().counts(kind):
            permit.failure(f"{kind}: {exc}")
        else:
            permit.release()
        if _wants_retry(exc, client):
            attempt = max(1, task_run.run_count or 1)
            scheduled = RETRY.delays_s[min(attempt, len(RETRY.delays_s)) - 1]
            await asyncio.sleep(max(0.0, retry_after(exc) - scheduled))  # honour Retry-After beyond the backoff
            # If Prefect declines the retry after all (the breaker opened meanwhile), the flow
            # takes this fallback from the failed state instead of losing the answer.
            exc.fallback = fallback(f"{type(exc).__name__}: {exc} (no retry: the breaker opened)")  # type: ignore[attr-defined]
            raise
        return _degrade(fallback, f"{type(exc).__name__}: {exc}")
    permit.success()
    return answer


def _wants_retry(exc: BaseException, client: ModelClient) -> bool:
    if not is_transient(exc) or (task_run.run_count or 1) > RETRY.retries:
        return False
    if breaker().state((client.provider, client.model)).state == "open":
        return False
    return BUDGET.take(_run_id())
