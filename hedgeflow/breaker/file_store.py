"""The machine's store: the in-process state machine, kept in a JSON file per breaker under the data directory.

Without Redis each new process would otherwise start closed and ask a dead
provider again. Every step loads the breaker's file, runs the same step as
``MemoryStore`` and writes it back, under an exclusive ``flock`` on a lock file
beside it, so processes on one machine share the breaker as Redis shares it
between machines.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hedgeflow.breaker.memory import MemoryStore, _Entry
from hedgeflow.breaker.model import Admission, BreakerKey, BreakerSettings, BreakerState, Outcome

__all__ = ["FileStore"]


class FileStore:
    """Breaker state in ``root`` (one ``<provider>-<model>-<digest>.json`` per key); ``clock`` as MemoryStore's."""

    def __init__(self, root: Path, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self._clock = clock

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    def path(self, key: BreakerKey) -> Path:
        digest = hashlib.sha256(f"{key.provider}\0{key.model}".encode()).hexdigest()[:12]
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{key.provider}-{key.model}")[:80]
        return self.root / f"{safe}-{digest}.json"

    @contextmanager
    def _step(self, key: BreakerKey) -> Iterator[MemoryStore]:
        """A MemoryStore holding this key's state from the file; written back after the step, under the lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            memory = MemoryStore(self._clock)
            if (entry := _load(path)) is not None:
                memory._entries[key] = entry
            yield memory
            _save(path, memory._entries.get(key))

    def acquire(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Admission:
        with self._step(key) as memory:
            return memory.acquire(key, settings, token)

    def failure(self, key: BreakerKey, settings: BreakerSettings, token: str, probe: bool) -> Outcome:
        with self._step(key) as memory:
            return memory.failure(key, settings, token, probe)

    def success(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Outcome:
        with self._step(key) as memory:
            return memory.success(key, settings, token)

    def release(self, key: BreakerKey, token: str) -> None:
        with self._step(key) as memory:
            memory.release(key, token)

    def snapshot(self, key: BreakerKey, settings: BreakerSettings) -> BreakerState:
        with self._step(key) as memory:
            return memory.snapshot(key, settings)

    def reset(self, key: BreakerKey) -> None:
        with self._step(key) as memory:
            memory.reset(key)


def _load(path: Path) -> _Entry | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return _Entry(**data)
    except (OSError, ValueError, TypeError):  # absent, or torn by a crash: closed, as a fresh breaker
        return None


def _save(path: Path, entry: _Entry | None) -> None:
    if entry is None:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(entry)), encoding="utf-8")
    os.replace(tmp, path)
