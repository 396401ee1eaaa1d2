"""Which failures are worth a retry, how long to wait, and how many retries a run may spend.

Transient: 429, 5xx, 529, timeouts, dropped connections. Never 400, 401, 403
or an answer that does not fit the schema: retrying those only costs money.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from hedgeflow.errors import TransientDataError
from hedgeflow.llm.errors import ModelAPIError, ModelConnectionError, ModelError, ModelTimeoutError

__all__ = ["RETRY", "RetryBudget", "RetryPolicy", "error_kind", "is_transient", "retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    delays_s: tuple[float, ...] = (0.5, 1.0, 2.0)  # exponential backoff; Prefect adds the jitter
    jitter_factor: float = 0.5
    retry_after_cap_s: float = 10.0  # a 429's Retry-After is honoured up to this
    budget_per_run: int = 40  # retries one run may spend across all its model calls


RETRY = RetryPolicy()


def error_kind(exc: BaseException) -> str | None:
    """The breaker's name for a failure: rate_limit, overloaded, server_error, timeout, connection; else None."""
    if isinstance(exc, ModelTimeoutError):
        return "timeout"
    if isinstance(exc, ModelConnectionError):
        return "connection"
    if isinstance(exc, ModelAPIError):
        if exc.status_code == 429:
            return "rate_limit"
        if exc.status_code in (503, 529):
            return "overloaded"
        if exc.status_code >= 500:
            return "server_error"
    return None


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientDataError):
        return True
    return isinstance(exc, ModelError) and exc.transient


def retry_after(exc: BaseException, policy: RetryPolicy = RETRY) -> float:
    """The server's Retry-After, capped; 0 when it gave none."""
    seconds = getattr(exc, "retry_after_s", None) or 0.0
    return max(0.0, min(float(seconds), policy.retry_after_cap_s))


class RetryBudget:
    """Retries left per run id, shared by every task of the run in this process."""

    def __init__(self, per_run: int) -> None:
        self.per_run = per_run
        self._spent: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, run_id: str) -> bool:
        """Spend one retry for ``run_id``; False once the run's budget is gone."""
        with self._lock:
            spent = self._spent.get(run_id, 0)
            if spent >= self.per_run:
                return False
            self._spent[run_id] = spent + 1
            return True

    def spent(self, run_id: str) -> int:
        return self._spent.get(run_id, 0)
