"""The breaker's vocabulary: keys, settings, states, transitions and the store protocol."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hedgeflow.errors import HedgeflowError

__all__ = [
    "DEFAULT_COUNTED_ERRORS", "Admission", "BreakerKey", "BreakerOpenError", "BreakerSettings", "BreakerState",
    "BreakerStore", "Outcome", "StateName", "Transition",
]

log = logging.getLogger("hedgeflow.breaker")

StateName = Literal["closed", "open", "half_open"]
DEFAULT_COUNTED_ERRORS = frozenset({"rate_limit", "server_error", "overloaded", "timeout", "connection"})


class BreakerKey(NamedTuple):
    """One breaker per (provider, model): one model failing says nothing about another."""

    provider: str
    model: str


class BreakerOpenError(HedgeflowError):
    """Raised by ``acquire`` instead of calling a model that is failing: fall back now."""

    def __init__(self, key: BreakerKey, state: StateName, retry_in_s: float) -> None:
        self.provider, self.model = key
        self.state: StateName = state
        self.retry_in_s = max(retry_in_s, 0.0)
        why = "is open" if state == "open" else "is half-open and every probe slot is taken"
        super().__init__(f"circuit breaker for {key.provider}:{key.model} {why}; next probe in {self.retry_in_s:.2f}s")


class BreakerSettings(BaseModel):
    """When to open, how long to stay open, how many probes decide; plain config a block returns."""

    model_config = ConfigDict(frozen=True)

    failure_threshold: int = Field(default=5, ge=1)
    failure_window_s: float = Field(default=30.0, gt=0)
    # ...and at least this share of the calls made in the window failed: a burst of calls in
    # flight at once with a few transient faults must not open it, a real outage does.
    failure_rate: float = Field(default=0.5, ge=0.0, le=1.0)
    open_timeout_s: float = Field(default=10.0, ge=0)
    half_open_probes: int = Field(default=1, ge=1)
    successes_to_close: int = Field(default=1, ge=1)  # defaults to half_open_probes
    probe_timeout_s: float = Field(default=60.0, gt=0)  # a probe slot frees itself after this (crashed caller)
    counted_errors: frozenset[str] = DEFAULT_COUNTED_ERRORS
    is_counted: Callable[[BaseException], bool] | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _successes_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("successes_to_close") is None:
            return {**data, "successes_to_close": data.get("half_open_probes", 1)}
        return data

    @property
    def horizon_s(self) -> float:
        """How long a call's record is kept: its window plus the longest a call may last (a probe's timeout)."""
        return self.failure_window_s + self.probe_timeout_s

    def counts(self, error: BaseException | str) -> bool:
        """Whether an error says the provider is unhealthy (a kind string, the predicate, or ``exc.kind``)."""
        if isinstance(error, str):
            return error in self.counted_errors
        if self.is_counted is not None:
            return self.is_counted(error)
        return getattr(error, "kind", None) in self.counted_errors


def _utc(epoch_s: float | None) -> dt.datetime | None:
    return None if epoch_s is None else dt.datetime.fromtimestamp(epoch_s, dt.UTC)


class BreakerState(BaseModel):
    """What a breaker looks like now: for logs, artifacts and the UI."""

    provider: str
    model: str
    state: StateName
    failures: int = Field(default=0, description="Counted failures within the window.")
    probes_in_flight: int = 0
    opened_at: dt.datetime | None = None
    next_probe_at: dt.datetime | None = None

    @classmethod
    def build(cls, key: BreakerKey, state: StateName, failures: int, probes: int,
              opened_at_s: float | None, settings: BreakerSettings) -> BreakerState:
        next_s = opened_at_s + settings.open_timeout_s if state == "open" and opened_at_s is not None else None
        return cls(provider=key.provider, model=key.model, state=state, failures=failures, probes_in_flight=probes,
                   opened_at=_utc(opened_at_s), next_probe_at=_utc(next_s))


class Transition(BaseModel):
    """One state change, given to every listener exactly once (by the process that caused it)."""

    provider: str
    model: str
    old: StateName
    new: StateName
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class Admission:
    """A store's answer to acquire; ``old`` is set when this very call moved the state."""

    admitted: bool
    state: StateName
    probe: bool = False
    retry_in_s: float = 0.0
    old: StateName | None = None
    at_s: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """A store's answer to a success or failure; ``count`` is failures in window or probe successes."""

    state: StateName
    old: StateName | None = None
    count: int = 0
    at_s: float = 0.0


class BreakerStore(Protocol):
    """Where breaker state lives; every method is one atomic step."""

    def acquire(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Admission: ...
    def failure(self, key: BreakerKey, settings: BreakerSettings, token: str, probe: bool) -> Outcome: ...
    def success(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Outcome: ...
    def release(self, key: BreakerKey, token: str) -> None: ...
    def snapshot(self, key: BreakerKey, settings: BreakerSettings) -> BreakerState: ...
    def reset(self, key: BreakerKey) -> None: ...


