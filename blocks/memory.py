"""The in-process tier (L1): serialised results this process has read or written, newest kept.

Its own module so the result storage (``blocks.cache``) and the lock managers
(``blocks.locking``) both read it without importing each other. Every process
has its own L1; nothing relies on another process seeing it: a key missing
here is read from the shared tier (L2) and locked as usual.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Literal

__all__ = ["MEMORY", "Memory", "Tier"]

Tier = Literal["memory", "storage"]


class Memory:
    """A bounded LRU of serialised results, safe across threads; remembers which tier served each key."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.served: dict[str, Tier] = {}  # key name -> the tier that served its latest lookup
        self._fresh: set[str] = set()  # just loaded from storage: Prefect reads twice (exists, then read)

    def mark(self, path: str, tier: Tier) -> None:
        name = Path(path).name
        with self._lock:
            if tier == "storage":
                self._fresh.add(name)
            elif name in self._fresh:
                self._fresh.discard(name)
                return
            self.served[name] = tier

    def get(self, path: str) -> bytes | None:
        with self._lock:
            content = self._items.get(path)
            if content is not None:
                self._items.move_to_end(path)
            return content

    def holds(self, key: str) -> bool:
        """Whether the result stored under ``key`` (a path or its last part) is in memory."""
        with self._lock:
            return key in self._items or Path(key).name in self._items

    def put(self, path: str, content: bytes) -> None:
        with self._lock:
            self._items[path] = content
            self._items.move_to_end(path)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def clear(self, contains: str | None = None) -> None:
        with self._lock:
            for path in [p for p in self._items if contains is None or contains in p]:
                del self._items[path]


MEMORY = Memory(capacity=8192)
