"""Prefect task retries for transient errors only: 429, 5xx, timeouts, dropped connections."""

from __future__ import annotations

import time
from typing import Any

from prefect.client.schemas.objects import State, TaskRun
from prefect.runtime import task_run

from hedgeflow.retry import RETRY, is_transient, retry_after

__all__ = ["retry_condition", "retry_options", "wait_retry_after"]


def retry_condition(task: Any, run: TaskRun, state: State[Any]) -> bool:
    """Prefect's retry_condition_fn: a transient error, never 400/401/403 or an answer off the schema."""
    return isinstance(state.data, BaseException) and is_transient(state.data)


def retry_options() -> dict[str, Any]:
    """Task options: ``RETRY``'s retries and backoff with jitter, transient errors only."""
    return {
        "retries": RETRY.retries,
        "retry_delay_seconds": list(RETRY.delays_s),
        "retry_jitter_factor": RETRY.jitter_factor,
        "retry_condition_fn": retry_condition,
    }


def wait_retry_after(error: BaseException) -> None:
    """Before raising for a retry: wait out the server's Retry-After beyond the scheduled backoff."""
    attempt = max(1, task_run.run_count or 1)
    if attempt <= RETRY.retries:
        time.sleep(max(0.0, retry_after(error) - RETRY.delays_s[min(attempt, len(RETRY.delays_s)) - 1]))
