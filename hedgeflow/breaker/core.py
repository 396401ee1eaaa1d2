"""The breaker itself: permits, transitions and listeners over a store."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable
from types import TracebackType

from hedgeflow.breaker.memory import MemoryStore
from hedgeflow.breaker.model import (
    BreakerKey,
    BreakerOpenError,
    BreakerSettings,
    BreakerState,
    BreakerStore,
    Outcome,
    StateName,
    Transition,
    _utc,
    log,
)

__all__ = ["CircuitBreaker", "Listener", "Permit"]


class Permit:
    """Leave to make one call: report ``success()``, ``failure(reason)`` or ``release()`` exactly once.

    As a context manager it reports for you: success on a clean exit, failure when
    the breaker counts the exception, release otherwise. A counted failure costs a
    store round trip, and so does a success: a probe's, or any while a failure rate
    is set (it counts in the rate when it ends).
    """

    def __init__(self, breaker: CircuitBreaker, key: BreakerKey, token: str, probe: bool) -> None:
        self.key, self.token, self.probe = key, token, probe
        self._breaker = breaker
        self._settled = False

    def _settle(self) -> bool:
        settled, self._settled = self._settled, True
        return not settled

    def success(self) -> None:
        """A probe's success may close the breaker; any other counts in the failure rate (when one is set)."""
        if self._settle() and (self.probe or self._breaker.settings.failure_rate > 0):
            self._breaker._record(self, self._breaker.store.success(self.key, self._breaker.settings, self.token), "")

    def failure(self, reason: str) -> None:
        if self._settle():
            outcome = self._breaker.store.failure(self.key, self._breaker.settings, self.token, self.probe)
            self._breaker._record(self, outcome, reason)

    def release(self) -> None:
        """The call ended without saying anything about the provider (e.g. an error that does not count)."""
        if self._settle() and self.probe:
            self._breaker.store.release(self.key, self.token)

    def __enter__(self) -> Permit:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.success()
        elif self._breaker.settings.counts(exc):
            self.failure(f"{type(exc).__name__}: {exc}")
        else:
            self.release()


Listener = Callable[[Transition], None]


class CircuitBreaker:
    """Breakers for every (provider, model), one settings, one store, listeners told of every transition."""

    def __init__(self, settings: BreakerSettings | None = None, store: BreakerStore | None = None,
                 listeners: Iterable[Listener] = ()) -> None:
        self.settings = settings or BreakerSettings()
        self.store: BreakerStore = store if store is not None else MemoryStore()
        self._listeners: list[Listener] = []
        for listener in listeners:
            self.add_listener(listener)

    def add_listener(self, listener: Listener) -> None:
        """Register ``on_transition``; registering the same one twice is a no-op (breakers are shared)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def counts(self, error: BaseException | str) -> bool:
        return self.settings.counts(error)

    def acquire(self, key: BreakerKey | tuple[str, str]) -> Permit:
        """A permit to call the model, or ``BreakerOpenError`` at once when the breaker is open or probing."""
        key, token = BreakerKey(*key), uuid.uuid4().hex
        admission = self.store.acquire(key, self.settings, token)
        if admission.old is not None:
            reason = f"open for {self.settings.open_timeout_s:g}s: admitting up to {self.settings.half_open_probes} probe(s)"
            self._emit(key, admission.old, admission.state, reason, admission.at_s)
        if not admission.admitted:
            raise BreakerOpenError(key, admission.state, admission.retry_in_s)
        return Permit(self, key, token, admission.probe)

    def state(self, key: BreakerKey | tuple[str, str]) -> BreakerState:
        return self.store.snapshot(BreakerKey(*key), self.settings)

    def reset(self, key: BreakerKey | tuple[str, str]) -> None:
        """Force closed with a clean window (an operator's override)."""
        self.store.reset(BreakerKey(*key))

    def _record(self, permit: Permit, outcome: Outcome, reason: str) -> None:
        if outcome.old is None:
            return
        s = self.settings
        if outcome.old == "closed":
            why = f"{outcome.count} counted failures within {s.failure_window_s:g}s (threshold {s.failure_threshold}); last: {reason}"
        elif outcome.state == "open":
            why = f"probe failed: {reason}"
        else:
            why = f"{outcome.count} probe success(es)"
        self._emit(permit.key, outcome.old, outcome.state, why, outcome.at_s)

    def _emit(self, key: BreakerKey, old: StateName, new: StateName, reason: str, at_s: float) -> None:
        log.log(logging.WARNING if new == "open" else logging.INFO,
                "circuit breaker %s:%s %s -> %s: %s", key.provider, key.model, old, new, reason)
        transition = Transition(provider=key.provider, model=key.model, old=old, new=new, reason=reason,
                                at=_utc(at_s) or dt.datetime.now(dt.UTC))
        for listener in list(self._listeners):
            try:
                listener(transition)
            except Exception:  # a broken listener must not break the call it reports on
                log.exception("circuit breaker listener %r failed", listener)



# --------------------------------------------------------------------------- Redis
# KEYS: state hash (absent = closed), failures zset (score = ms), probes zset (score = slot deadline ms).
