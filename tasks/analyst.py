"""The analyst task: one (analyst x ticker); the rules signal, or the model's when a model is set."""

from __future__ import annotations

import time

from prefect import task
from prefect.logging import get_run_logger

from hedgeflow.analysts.registry import load_analyst
from hedgeflow.llm import model_signal
from hedgeflow.schemas import AgentSignal, Snapshot
from tasks.model_calls import ask_model, model_task_options

__all__ = ["analyst_signal"]


@task(name="analyst", task_run_name="{analyst}-{snapshot.ticker}", **model_task_options())
async def analyst_signal(analyst: str, snapshot: Snapshot, model: str = "rules") -> AgentSignal:
    began = time.perf_counter()
    spec = load_analyst(analyst)
    analysis = spec.analyze(snapshot)
    rules = spec.derive_signal(analysis)
    signal = rules
    if model != "rules":
        signal = await ask_model(
            model,
            lambda client: model_signal(client, spec.persona, analysis, rules),
            lambda reason: rules.model_copy(update={"degraded": True, "degraded_reason": reason, "model": model}),
        )
    signal = signal.model_copy(update={"elapsed_s": time.perf_counter() - began})
    get_run_logger().info(
        "%s %s: %s %.0f (%s%s)", analyst, snapshot.ticker, signal.signal, signal.confidence, signal.source,
        ", degraded" if signal.degraded else "",
    )
    return signal
