"""The circuit breaker a user edits in the Prefect UI: thresholds, error kinds, and where state lives.

Without a Redis URL the breaker lives in the data directory (every process on the
machine shares it); with one, every worker shares it, so one process seeing a
provider fail protects all of them.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import ClassVar, Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, field_validator

from blocks.cache import redis_problem
from hedgeflow.breaker import (
    DEFAULT_COUNTED_ERRORS,
    BreakerSettings,
    CircuitBreaker,
    FileStore,
    MemoryStore,
    RedisStore,
)
from hedgeflow.paths import home

__all__ = ["CircuitBreakerBlock", "redis_reported"]

log = logging.getLogger(__name__)

ErrorKind = Literal["connection", "overloaded", "rate_limit", "server_error", "timeout"]  # hedgeflow.retry.error_kind's names

_BREAKERS: dict[tuple[BreakerSettings, str], CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()
_REPORTED: set[str] = set()  # Redis problems this process has warned about already: one warning each
_REPORTED_LOCK = threading.Lock()


def redis_reported(problem: str) -> bool:
    """Record that ``problem`` was reported; whether it had been before."""
    with _REPORTED_LOCK:
        seen = problem in _REPORTED
        _REPORTED.add(problem)
    return seen


class CircuitBreakerBlock(Block):
    """Stops calling a model that keeps failing, then probes it: per (provider, model), shared through Redis.

    Example:
        ```python
        from blocks.breaker import CircuitBreakerBlock

        breaker_block = CircuitBreakerBlock.load("BLOCK_NAME")
        breaker = breaker_block.breaker()
        with breaker.acquire(("anthropic", "claude-sonnet-4-5")) as permit:
            ...
        ```
    """

    _block_type_name: ClassVar[str] = "Hedgeflow Circuit Breaker"
    _block_type_slug: ClassVar[str] = "hedgeflow-circuit-breaker"
    _description: ClassVar[str] = "When to stop calling a failing model and when to try it again."
    _documentation_url = "https://martinfowler.com/bliki/CircuitBreaker.html"  # type: ignore[assignment]

    failure_threshold: int = Field(default=5, ge=1, description="Counted failures within the window that open the breaker.")
    failure_window_s: float = Field(default=30.0, gt=0, description="Seconds over which failures are counted.")
    failure_rate: float = Field(
        default=0.5, ge=0, le=1,
        description="Share of the calls in the window that must have failed too (0: the threshold alone).",
    )
    open_timeout_s: float = Field(default=10.0, ge=0, description="Seconds the breaker stays open before it admits probes.")
    half_open_probes: int = Field(
        default=1, ge=1, description="Calls admitted at once while half-open; this many successes close the breaker."
    )
    probe_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds after which a probe that never reported frees its slot."
    )
    counted_errors: list[ErrorKind] = Field(
        default=sorted(DEFAULT_COUNTED_ERRORS),  # type: ignore[arg-type]  # a plain default: the UI form shows it
        min_length=1,  # the form refuses an empty list (the Blocks page would show it as None)
        description="Error kinds that count as failures; at least one (default: all five).",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis://host:port/db to share state across processes; empty for in-process (HEDGEFLOW_REDIS_URL).",
    )

    @field_validator("counted_errors", mode="before")
    @classmethod
    def _default_when_empty(cls, value: object) -> object:
        """A form saved with the field cleared (null or []) means the default kinds, never none."""
        return sorted(DEFAULT_COUNTED_ERRORS) if value is None or value == [] else value

    @classmethod
    def from_env(cls) -> CircuitBreakerBlock:
        url = os.environ.get("HEDGEFLOW_REDIS_URL")
        return cls(redis_url=SecretStr(url) if url else None)

    def settings(self) -> BreakerSettings:
        return BreakerSettings(
            failure_threshold=self.failure_threshold,
            failure_window_s=self.failure_window_s,
            failure_rate=self.failure_rate,
            open_timeout_s=self.open_timeout_s,
            half_open_probes=self.half_open_probes,
            probe_timeout_s=self.probe_timeout_s,
            counted_errors=frozenset(self.counted_errors),
        )

    def breaker(self) -> CircuitBreaker:
        """The process's one breaker for this configuration: counts and probe slots must not be split.

        A configured but unreachable Redis gives an in-process breaker and a
        warning, as the cache does: the run goes on, unshared.
        """
        url = self.redis_url.get_secret_value().strip() or None if self.redis_url is not None else None
        cache_key = (self.settings(), url or str(home() / "breaker"))  # without Redis: the machine's data directory
        with _BREAKERS_LOCK:
            breaker = _BREAKERS.get(cache_key)
            if breaker is None:
                breaker = CircuitBreaker(cache_key[0], self._store(url))
                _BREAKERS[cache_key] = breaker
            return breaker

    @staticmethod
    def _store(url: str | None) -> FileStore | MemoryStore | RedisStore:
        if url is None:
            return FileStore(home() / "breaker")
        problem = redis_problem(url)
        if problem is not None:
            if not redis_reported(problem):  # the run's cache warning may have said it already
                log.warning("%s: the circuit breaker keeps its state in this process only", problem)
            return MemoryStore()
        return RedisStore(url)
