"""The analyst task: one (analyst x ticker); the rules signal, or the model's when a model is set."""

from __future__ import annotations

import time

from prefect import task
from prefect.logging import get_run_logger

from hedgeflow.analysts.registry import load_analyst
from hedgeflow.schemas import AgentSignal, Snapshot

__all__ = ["analyst_signal"]


@task(name="analyst", task_run_name="{analyst}-{snapshot.ticker}")
async def analyst_signal(analyst: str, snapshot: Snapshot, model: str = "rules") -> AgentSignal:
    began = time.perf_counter()
    spec = load_analyst(analyst)
    analysis = spec.analyze(snapshot)
    signal = spec.derive_signal(analysis)
    signal = signal.model_copy(update={"elapsed_s": time.perf_counter() - began})
    get_run_logger().info(
        "%s %s: %s %.0f (%s)", analyst, snapshot.ticker, signal.signal, signal.confidence, signal.source
    )
    return signal
