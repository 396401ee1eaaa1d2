"""The Redis tier's lock manager: imported only where Redis is configured (``blocks.cache``).

The rules are ``blocks.locking``'s: every lock expires after ``LOCK_HOLD_S``,
names its owner, is freed at once when that owner is known dead, and a long
wait says once what it waits for. Kept apart so that a process without Redis
never imports redis-py and prefect-redis.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pydantic_core
from prefect_redis.locking import RedisLockManager
from redis.exceptions import LockError
from redis.lock import Lock

from blocks.locking import LOCK_HOLD_S, _Backoff, _Waiting, _WarmKeysSkipLocks
from blocks.owners import Owner, current_owner, describe, is_alive, log, start_heartbeat
from blocks.redis_pool import redis_client

__all__ = ["ExpiringRedisLockManager"]

_DELETE_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1], KEYS[2]) end return 0"


class ExpiringRedisLockManager(_WarmKeysSkipLocks, RedisLockManager):
    """prefect-redis's lock manager with expiring locks, on the process's shared blocking pool.

    Only the sync client is used: prefect-redis's async client is bound to the
    event loop that first used it ("Lock ... is bound to a different event
    loop" once task runs bring their own loops), and its default pool raises
    ``MaxConnectionsError`` past 100 connections. Waiting for a lock polls
    instead of taking a lock without expiry, as prefect-redis does.
    """

    def _init_clients(self) -> None:
        url = self.connection_url or f"redis://{self.host}:{self.port}/{self.db}"
        self.client = redis_client(url)
        self._url = url
        self._guard = threading.Lock()  # _locks is shared by every thread of the process

    def _owner_of(self, name: str) -> tuple[bytes | str | None, Owner | None]:
        token, raw = self.client.mget(name, f"{name}:owner")
        return token, (pydantic_core.from_json(raw) if raw else None)

    def _free_if_dead(self, name: str) -> Owner | None:
        """Delete the lock when its owner is known dead; else the owner (for the wait's notice)."""
        token, owner = self._owner_of(name)
        if token is not None and owner is not None and not is_alive(owner, self.client):
            self.client.eval(_DELETE_IF, 2, name, f"{name}:owner", token)
            log.info("freed %s: its owner %s is gone", name, describe(owner))
            return None
        return owner

    def acquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None,
                     hold_timeout: float | None = None) -> bool:
        if self._is_warm(key, holder):
            return True
        name = self._lock_name_for_key(key)
        if self.is_lock_holder(key, holder):
            return True
        hold = hold_timeout or LOCK_HOLD_S
        lock = Lock(self.client, name, timeout=hold, thread_local=False)
        deadline = None if acquire_timeout is None else time.monotonic() + acquire_timeout
        waiting, checked, backoff = _Waiting(key), 0.0, _Backoff()
        while not lock.acquire(token=holder, blocking=False):
            if time.monotonic() - checked >= 1.0:  # at most one owner check a second
                checked = time.monotonic()
                waiting.tick(self._free_if_dead(name))
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(backoff.delay())
        start_heartbeat(self.client, self._url)
        self.client.set(f"{name}:owner", pydantic_core.to_json(current_owner()), px=int(hold * 1000))
        with self._guard:
            self._locks[name] = lock
        return True

    async def aacquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None,
                            hold_timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.acquire_lock, key, holder, acquire_timeout, hold_timeout)

    def release_lock(self, key: str, holder: str) -> None:
        if self._was_warm(key, holder):
            return
        name = self._lock_name_for_key(key)
        with self._guard:
            lock = self._locks.pop(name, None) if self.is_lock_holder(key, holder) else None
        if lock is None:
            super().release_lock(key, holder)  # not ours: fine if already gone, else prefect-redis says so
            return
        try:
            lock.release()
            self.client.delete(f"{name}:owner")
        except LockError:
            pass  # expired meanwhile: nothing left to release

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        name, waiting, checked, backoff = self._lock_name_for_key(key), _Waiting(key), 0.0, _Backoff()
        while self.is_locked(key):
            if time.monotonic() - checked >= 1.0:
                checked = time.monotonic()
                waiting.tick(self._free_if_dead(name))
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(backoff.delay())
        return True

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.wait_for_lock, key, timeout)
