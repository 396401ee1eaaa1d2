"""The analyst task: one (analyst x ticker); the run's model answers, the rules model when it cannot."""

from __future__ import annotations

import time

from prefect import task
from prefect.logging import get_run_logger

from hedgeflow.analysts.registry import load_analyst
from hedgeflow.llm import ModelError, model_signal
from hedgeflow.schemas import AgentSignal, Snapshot
from tasks.model_calls import ModelSetup, guarded_client, model_task_options
from tasks.retrying import wait_retry_after

__all__ = ["analyst_signal"]


@task(name="analyst", task_run_name="{analyst}-{snapshot.ticker}", **model_task_options())
def analyst_signal(analyst: str, snapshot: Snapshot, model: str = "rules", setup: ModelSetup | None = None) -> AgentSignal:
    """``model`` keys the cache; ``setup`` (the run's model, its block and breaker) defaults to ``model`` alone."""
    began = time.perf_counter()
    spec = load_analyst(analyst)
    analysis = spec.analyze(snapshot)
    client = guarded_client(setup or ModelSetup(model=model))
    try:
        signal = model_signal(client, spec.persona, analysis, spec.derive_signal(analysis))
    except ModelError as exc:  # the guarded model wants it retried: Prefect does
        wait_retry_after(exc)
        raise
    signal = signal.model_copy(update={"elapsed_s": time.perf_counter() - began})
    get_run_logger().info(
        "%s %s: %s %.0f (%s%s)", analyst, snapshot.ticker, signal.signal, signal.confidence, signal.source,
        ", degraded" if signal.degraded else "",
    )
    return signal
