"""A model that wraps another behind a circuit breaker, with a fallback model, as pydantic-ai's FallbackModel.

``FallbackClient(primary, fallback, breaker)`` is itself a ModelClient. A call
goes to the primary when the breaker admits it; when the breaker is open, or
the primary fails and the caller's ``retry`` declines another attempt, the
fallback answers instead and its reply says why (``degraded_reason``). An
error the caller wants retried is raised, after the breaker has been told.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from hedgeflow.breaker import BreakerOpenError, CircuitBreaker
from hedgeflow.llm.base import ModelClient, ModelReply, ModelRequest
from hedgeflow.llm.errors import ModelError
from hedgeflow.schemas import ModelUsage

__all__ = ["FallbackClient", "UnavailableClient"]

T = TypeVar("T", bound=BaseModel)


def _never(error: ModelError) -> bool:
    return False


class FallbackClient:
    """``primary`` through ``breaker``; ``fallback``'s reply, marked degraded, when it cannot answer.

    Args:
        retry: Whether a failed call should be raised for another attempt (the
            caller retries it); otherwise the fallback answers at once.
        on_fallback: Told the reason each time the fallback answers.
    """

    def __init__(self, primary: ModelClient, fallback: ModelClient, breaker: CircuitBreaker, *,
                 retry: Callable[[ModelError], bool] = _never,
                 on_fallback: Callable[[str], None] | None = None) -> None:
        self.primary, self.fallback, self.breaker = primary, fallback, breaker
        self.provider, self.model = primary.provider, primary.model
        self._retry, self._on_fallback = retry, on_fallback

    def __repr__(self) -> str:
        return f"FallbackClient({self.primary!r}, fallback={self.fallback!r})"

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        try:
            permit = self.breaker.acquire((self.provider, self.model))
        except BreakerOpenError as exc:
            return self._fall_back(request, output_type, str(exc))
        try:
            reply = self.primary.complete(request, output_type)
        except ModelError as exc:
            if exc.kind is not None and self.breaker.counts(exc.kind):
                permit.failure(f"{exc.kind}: {exc}")
            else:
                permit.release()
            if self._retry(exc):
                raise
            spent = getattr(exc, "usage", None)  # a malformed answer was billed all the same
            return self._fall_back(request, output_type, f"{type(exc).__name__}: {exc}", spent)
        permit.success()
        return reply

    def _fall_back(self, request: ModelRequest, output_type: type[T], reason: str,
                   spent: ModelUsage | None = None) -> ModelReply[T]:
        if self._on_fallback is not None:
            self._on_fallback(reason)
        reply = self.fallback.complete(request, output_type)
        usage = reply.usage + spent if spent is not None else reply.usage
        return reply.model_copy(update={"degraded_reason": reason, "usage": usage})


class UnavailableClient:
    """A model that cannot be called (e.g. no key configured): every call raises the error that says why."""

    def __init__(self, error: ModelError) -> None:
        self.provider, self.model, self.error = error.provider, error.model, error

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        raise self.error
