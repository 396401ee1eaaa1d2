"""A model call's read timeout chosen from the latency the provider actually shows.

A fixed 60 s timeout makes every hung call cost a minute, longer than the
breaker's failure window, so the calls that succeeded beside it have left the
window when its failure lands. Instead the timeout is

    timeout_s = min(cap_s, max(floor_s, multiple * median(latencies of the last ``size`` answers)))

with ``multiple`` 5, ``floor_s`` 10 s and ``cap_s`` the SDK's configured read
timeout (``HEDGEFLOW_MODEL_TIMEOUT_S``, default 60 s). Until ``min_samples``
answers have been seen the cap applies: a provider is never judged on no data.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from typing import Any

__all__ = ["LatencyTimeout"]


class LatencyTimeout:
    """The running median of answered calls' latencies (seconds), and the timeout it implies; thread-safe."""

    def __init__(self, cap_s: float, *, multiple: float = 5.0, floor_s: float = 10.0,
                 size: int = 50, min_samples: int = 5) -> None:
        self.cap_s, self.multiple, self.floor_s, self.min_samples = cap_s, multiple, min(floor_s, cap_s), min_samples
        self._latencies: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def observe(self, latency_s: float) -> None:
        """Record an answered call (a timeout is no latency sample: it would only say the timeout)."""
        with self._lock:
            self._latencies.append(latency_s)

    def median_s(self, min_samples: int | None = None) -> float | None:
        """The median latency, or None while fewer than ``min_samples`` (default: this timeout's) are known."""
        with self._lock:
            if len(self._latencies) < (self.min_samples if min_samples is None else min_samples):
                return None
            return statistics.median(self._latencies)

    def timeout_s(self) -> float:
        median = self.median_s()
        return self.cap_s if median is None else min(self.cap_s, max(self.floor_s, self.multiple * median))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
