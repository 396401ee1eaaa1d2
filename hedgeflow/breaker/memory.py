"""The in-process store: the embedded default, one lock around the same state machine."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hedgeflow.breaker.model import (
    Admission,
    BreakerKey,
    BreakerSettings,
    BreakerState,
    Outcome,
    StateName,
)

__all__ = ["MemoryStore"]


@dataclass
class _Entry:
    state: StateName = "closed"
    opened_at: float | None = None
    successes: int = 0
    failures: list[float] = field(default_factory=list)
    calls: dict[str, float] = field(default_factory=dict)  # token -> admitted, then settled at: the rate's calls
    probes: dict[str, float] = field(default_factory=dict)  # token -> deadline


class MemoryStore:
    """In-process state behind one lock; ``clock`` (epoch seconds) is injectable so tests never sleep."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[BreakerKey, _Entry] = {}

    def acquire(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Admission:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.state == "closed":
                if settings.failure_rate > 0:
                    entry = self._entries.setdefault(key, _Entry())
                    now = self._clock()
                    entry.calls = {t: at for t, at in entry.calls.items() if at > now - settings.horizon_s}
                    entry.calls[token] = now
                return Admission(True, "closed")
            now = self._clock()
            old: StateName | None = None
            if entry.state == "open":
                wait = (entry.opened_at or now) + settings.open_timeout_s - now
                if wait > 0:
                    return Admission(False, "open", retry_in_s=wait, at_s=now)
                entry.state, entry.successes, entry.probes, old = "half_open", 0, {}, "open"
            entry.probes = {t: d for t, d in entry.probes.items() if d > now}
            if len(entry.probes) >= settings.half_open_probes:
                return Admission(False, "half_open", retry_in_s=min(entry.probes.values()) - now, at_s=now)
            entry.probes[token] = now + settings.probe_timeout_s
            return Admission(True, "half_open", probe=True, old=old, at_s=now)

    def _take_probe(self, entry: _Entry | None, token: str, now: float) -> bool:
        return entry is not None and entry.state == "half_open" and entry.probes.pop(token, 0.0) > now

    def failure(self, key: BreakerKey, settings: BreakerSettings, token: str, probe: bool) -> Outcome:
        with self._lock:
            now, entry = self._clock(), self._entries.setdefault(key, _Entry())
            if probe:
                if not self._take_probe(entry, token, now):
                    return Outcome(entry.state, at_s=now)
                entry.state, entry.opened_at, entry.probes = "open", now, {}
                return Outcome("open", "half_open", at_s=now)
            if entry.state != "closed":  # a call admitted before the breaker opened: already counted enough
                return Outcome(entry.state, at_s=now)
            # the window reaches back from this call's admission too, so a hung call is weighed
            # against the calls made beside it, whose successes ended long before its timeout
            start = min(now, entry.calls.get(token, now)) - settings.failure_window_s
            entry.calls[token] = now
            entry.failures = [t for t in entry.failures if t > now - settings.horizon_s] + [now]
            failures = sum(1 for t in entry.failures if t > start)
            calls = sum(1 for t in entry.calls.values() if t > start)
            if failures >= max(settings.failure_threshold, settings.failure_rate * calls):
                entry.state, entry.opened_at, entry.calls = "open", now, {}
                return Outcome("open", "closed", failures, now)
            return Outcome("closed", count=failures, at_s=now)

    def success(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Outcome:
        with self._lock:
            now, entry = self._clock(), self._entries.get(key)
            if entry is not None and entry.state == "closed" and token in entry.calls:
                entry.calls[token] = now  # a success counts when it ends, as a failure does
                return Outcome("closed", at_s=now)
            if entry is None or not self._take_probe(entry, token, now):
                return Outcome(entry.state if entry else "closed", at_s=now)
            entry.successes += 1
            if entry.successes >= settings.successes_to_close:
                del self._entries[key]  # closed with a clean window, as in Redis
                return Outcome("closed", "half_open", entry.successes, now)
            return Outcome("half_open", count=entry.successes, at_s=now)

    def release(self, key: BreakerKey, token: str) -> None:
        with self._lock:
            if (entry := self._entries.get(key)) is not None:
                entry.probes.pop(token, None)

    def snapshot(self, key: BreakerKey, settings: BreakerSettings) -> BreakerState:
        with self._lock:
            now, entry = self._clock(), self._entries.get(key) or _Entry()
            failures = sum(1 for t in entry.failures if t > now - settings.failure_window_s)
            probes = sum(1 for d in entry.probes.values() if d > now)
            opened = entry.opened_at if entry.state != "closed" else None
            return BreakerState.build(key, entry.state, failures, probes, opened, settings)

    def reset(self, key: BreakerKey) -> None:
        with self._lock:
            self._entries.pop(key, None)


