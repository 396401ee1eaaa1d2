"""A model that wraps another behind a circuit breaker, with a fallback model, as pydantic-ai's FallbackModel.

``FallbackClient(primary, fallback, breaker)`` is itself a ModelClient. A call
goes to the primary when the breaker admits it; when the breaker is open, or
the primary fails and the caller's ``retry`` declines another attempt, the
fallback answers instead and its reply says why (``degraded_reason``). An
error the caller wants retried is raised, after the breaker has been told.

A refused key (401/403) says every other call would be refused too: with an
``AuthRefusals`` shared by the run's calls, the first refusal is remembered and
every later call takes the fallback at once, without asking the provider.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from hedgeflow.breaker import BreakerOpenError, CircuitBreaker
from hedgeflow.llm.base import ModelClient, ModelReply, ModelRequest
from hedgeflow.llm.errors import ModelAuthError, ModelError
from hedgeflow.schemas import ModelUsage

__all__ = ["AUTH_REFUSED", "AuthRefusals", "FallbackClient", "UnavailableClient"]

AUTH_REFUSED = "refused the API key"  # in every degraded reason an AuthRefusals gives

T = TypeVar("T", bound=BaseModel)


def _never(error: ModelError) -> bool:
    return False


class AuthRefusals:
    """(provider, model) pairs whose key was refused in this run, with the reason; thread-safe, it pickles."""

    def __init__(self) -> None:
        self._reasons: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def refuse(self, provider: str, model: str, error: ModelError) -> bool:
        """Remember the refusal; True for the first one of this (provider, model), so it is said once."""
        reason = f"{provider}:{model} {AUTH_REFUSED} ({type(error).__name__}: {error}); not asked again in this run"
        with self._lock:
            if (provider, model) in self._reasons:
                return False
            self._reasons[(provider, model)] = reason
            return True

    def reason(self, provider: str, model: str) -> str | None:
        with self._lock:
            return self._reasons.get((provider, model))

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class FallbackClient:
    """``primary`` through ``breaker``; ``fallback``'s reply, marked degraded, when it cannot answer.

    Args:
        retry: Whether a failed call should be raised for another attempt (the
            caller retries it); otherwise the fallback answers at once.
        on_fallback: Told the reason each time the fallback answers.
        refusals: The run's refused keys, shared by its calls; a refused (provider,
            model) is not asked again.
        on_refused: Told once, at the first refusal, the reason every later call will carry.
    """

    def __init__(self, primary: ModelClient, fallback: ModelClient, breaker: CircuitBreaker, *,
                 retry: Callable[[ModelError], bool] = _never,
                 on_fallback: Callable[[str], None] | None = None,
                 refusals: AuthRefusals | None = None,
                 on_refused: Callable[[str], None] | None = None) -> None:
        self.primary, self.fallback, self.breaker = primary, fallback, breaker
        self.provider, self.model = primary.provider, primary.model
        self._retry, self._on_fallback = retry, on_fallback
        self._refusals, self._on_refused = refusals, on_refused

    def __repr__(self) -> str:
        return f"FallbackClient({self.primary!r}, fallback={self.fallback!r})"

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        refused = self._refusals.reason(self.provider, self.model) if self._refusals is not None else None
        if refused is not None:
            return self._fall_back(request, output_type, refused)
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
            if isinstance(exc, ModelAuthError) and self._refusals is not None:
                if self._refusals.refuse(self.provider, self.model, exc) and self._on_refused is not None:
                    self._on_refused(self._refusals.reason(self.provider, self.model) or str(exc))
                return self._fall_back(request, output_type, self._refusals.reason(self.provider, self.model) or str(exc))
            if self._retry(exc):
                raise
            spent = getattr(exc, "usage", None)  # a malformed answer was billed all the same
            return self._fall_back(request, output_type, f"{type(exc).__name__}: {exc}", spent)
        except BaseException:  # cancelled or interrupted: says nothing about the provider
            permit.release()
            raise
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
