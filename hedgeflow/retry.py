"""Which failures are worth a retry, and how long to wait.

Transient: 429, 5xx, 529, timeouts, dropped connections. Never 400, 401, 403
or an answer that does not fit the schema: retrying those only costs money.
Each call gets ``retries`` more attempts at most, and none once its breaker is
open: an outage opens the breaker, so retries cannot pile up behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgeflow.errors import TransientDataError
from hedgeflow.llm.errors import ModelError

__all__ = ["RETRY", "RetryPolicy", "error_kind", "is_transient", "retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    delays_s: tuple[float, ...] = (0.5, 1.0, 2.0)  # exponential backoff; Prefect adds the jitter
    jitter_factor: float = 0.5
    retry_after_cap_s: float = 10.0  # a 429's Retry-After is honoured up to this


RETRY = RetryPolicy()


def error_kind(exc: BaseException) -> str | None:
    """The breaker's name for a failure: rate_limit, overloaded, server_error, timeout, connection; else None."""
    return exc.kind if isinstance(exc, ModelError) else None


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientDataError):
        return True
    return isinstance(exc, ModelError) and exc.transient


def retry_after(exc: BaseException, policy: RetryPolicy = RETRY) -> float:
    """The server's Retry-After, capped; 0 when it gave none."""
    seconds = getattr(exc, "retry_after_s", None) or 0.0
    return max(0.0, min(float(seconds), policy.retry_after_cap_s))
