"""Lock managers for SERIALIZABLE task caching: every lock expires; any thread or event loop may use them.

Prefect's engine asks for locks without a hold timeout, so a crashed holder
would block a key forever; here every lock expires after ``LOCK_HOLD_S``.
Every lock also names its owner (host, pid, start time: blocks/owners.py), so
a waiter frees a lock whose owner died at once instead of waiting out the
expiry, and a wait longer than ``WAIT_NOTICE_S`` says, once, what it waits for.
A waiter looks again after ``POLL_S``, then less and less often (``_Backoff``,
up to ``MAX_POLL_S``): many runs at once on one worker wait on the same keys
from hundreds of threads, and a look every 50 ms each (a file written, linked
and removed, or a Redis round trip) kept the machine's cores busy waiting.
Task runs take locks from many threads at once (the flow's thread pool) and,
for async tasks, from an event loop per task run: so no lock manager keeps an
async client (bound to the loop that created it); the async methods run the
sync ones in a thread. The Redis tier's manager is in ``blocks.redis_locking``, so a
process without Redis never imports redis-py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import pydantic_core
from prefect.locking.filesystem import FileSystemLockManager

from blocks.memory import MEMORY
from blocks.owners import Owner, current_owner, describe, is_alive, log

__all__ = ["LOCK_HOLD_S", "WAIT_NOTICE_S", "AtomicFileLockManager"]

LOCK_HOLD_S = 300.0  # longer than any model call with its retries
POLL_S = 0.05  # the first look again after a lost race
MAX_POLL_S = 0.5  # a long wait looks this often: a freed key is seen within it
WAIT_NOTICE_S = 5.0  # a wait this long says what it waits for, once


class _Backoff:
    """Sleeps between looks at a lock: POLL_S, growing by half each time to MAX_POLL_S, with jitter."""

    def __init__(self) -> None:
        self.next = POLL_S

    def delay(self) -> float:
        """The next sleep (a random part of it, so waiters started together spread out)."""
        now, self.next = self.next, min(self.next * 1.5, MAX_POLL_S)
        return now * random.uniform(0.75, 1.0)


class _Waiting:
    """One wait for a lock: says once, after WAIT_NOTICE_S, what it waits for."""

    def __init__(self, key: str) -> None:
        self.key, self.started, self.said = key, time.monotonic(), False

    def tick(self, owner: Owner | None) -> None:
        if not self.said and time.monotonic() - self.started >= WAIT_NOTICE_S:
            self.said = True
            log.warning("waiting for %s, being computed by %s (alive; its lock expires in at most %.0fs)",
                        Path(self.key).name, describe(owner), LOCK_HOLD_S)


class _WarmKeysSkipLocks:
    """A key whose result this process already holds in memory needs no lock: the run only reads it.

    Warm runs then take no lock at all (a file or Redis round trip per task
    otherwise); a key being computed is never in memory, so it is still locked.
    """

    def _is_warm(self, key: str, holder: str) -> bool:
        if MEMORY.get(Path(key).name) is None:
            return False
        self.__dict__.setdefault("_warm", set()).add((key, holder))
        return True

    def _was_warm(self, key: str, holder: str) -> bool:
        warm: set[tuple[str, str]] = self.__dict__.get("_warm", set())
        if (key, holder) in warm:
            warm.discard((key, holder))
            return True
        return False


class AtomicFileLockManager(_WarmKeysSkipLocks, FileSystemLockManager):
    """File locks for the embedded default: shared by every process using the same directory.

    Prefect's own manager creates the lock file and writes its holder in a
    second step (another process can read it empty), and on a lost race waits
    with ``time.sleep`` even inside an event loop. Here the lock file appears
    whole (written aside, then hard-linked into place, which fails if it
    exists), and async waiting is ``asyncio.sleep``.
    """

    def _try(self, key: str, holder: str, hold_timeout: float | None) -> bool:
        self.lock_files_directory.mkdir(parents=True, exist_ok=True)
        path = self._lock_path_for_key(key)
        expiration = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=hold_timeout or LOCK_HOLD_S)
        aside = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        aside.write_bytes(pydantic_core.to_json({"holder": holder, "expiration": str(expiration), **current_owner()}))
        try:
            os.link(aside, path)
        except FileExistsError:
            if self.is_lock_holder(key, holder):
                return True
            with contextlib.suppress(FileNotFoundError):  # another process may have removed it first
                self.is_locked(key)  # removes the file when its lock has expired
            return False
        finally:
            aside.unlink(missing_ok=True)
        self._locks[key] = {"holder": holder, "expiration": expiration, "path": path}
        return True

    def acquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None,
                     hold_timeout: float | None = None) -> bool:
        if self._is_warm(key, holder):
            return True
        deadline = None if acquire_timeout is None else time.monotonic() + acquire_timeout
        waiting, backoff = _Waiting(key), _Backoff()
        while not self._try(key, holder, hold_timeout):
            waiting.tick(self._locks.get(key))
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(backoff.delay())  # a task run's own thread: nothing else waits on it
        return True

    async def aacquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None,
                            hold_timeout: float | None = None) -> bool:
        if self._is_warm(key, holder):
            return True
        deadline = None if acquire_timeout is None else time.monotonic() + acquire_timeout
        waiting, backoff = _Waiting(key), _Backoff()
        while not self._try(key, holder, hold_timeout):
            waiting.tick(self._locks.get(key))
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(backoff.delay())
        return True

    def release_lock(self, key: str, holder: str) -> None:
        if not self._was_warm(key, holder):
            super().release_lock(key, holder)

    def _get_lock_info(self, key: str, use_cache: bool = True) -> Any:
        try:
            info = super()._get_lock_info(key, use_cache)
        except ValueError:  # a file left by Prefect's own manager, half written: treat as expired
            Path(self._lock_path_for_key(key)).unlink(missing_ok=True)
            return None
        if info is not None and not is_alive(info):  # its owner died: the lock means nothing now
            path = Path(self._lock_path_for_key(key))
            try:
                if pydantic_core.from_json(path.read_bytes()).get("holder") == info.get("holder"):
                    path.unlink(missing_ok=True)  # still the dead owner's file, not a new holder's
                    log.info("freed %s: its owner %s is gone", path.name, describe(info))
            except (OSError, ValueError):
                pass  # already gone
            self._locks.pop(key, None)
            return None
        return info

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        waiting, backoff = _Waiting(key), _Backoff()
        while self.is_locked(key, use_cache=False):
            waiting.tick(self._locks.get(key))
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(backoff.delay())
        return True
