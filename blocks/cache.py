"""Where task results are cached: L1 memory in front of L2 (Redis or local files).

``HedgeflowCache`` is the block a user edits; ``TieredResultStorage`` is the
result storage it builds. With Redis, results, cache keys and locks live on
three different databases: sharing one corrupts results (the key records and
the results would overwrite each other).
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

from prefect.blocks.core import Block
from prefect.filesystems import LocalFileSystem, WritableFileSystem
from prefect.locking.protocol import LockManager
from pydantic import Field, SecretStr

from blocks.locking import AtomicFileLockManager
from blocks.memory import MEMORY, Tier
from hedgeflow.paths import home

__all__ = ["MEMORY", "CacheBackend", "HedgeflowCache", "RedisStorage", "TieredResultStorage", "redis_problem"]


class RedisStorage(WritableFileSystem):
    """Keys of one Redis database as a result or key storage, on the process's shared connection pool.

    prefect-redis's ``RedisDatabase`` opens a connection per read and write and
    binds async clients to an event loop; this one shares a blocking pool
    (``blocks.redis_pool``) across threads, and its async methods run the same
    sync calls in a thread, so any event loop may use it.
    """

    _block_type_name: ClassVar[str] = "Hedgeflow Redis Storage"

    url: SecretStr = Field(description="redis://host:port/db")

    def read_path(self, path: str, _sync: bool = True) -> bytes | None:  # type: ignore[override]
        return self.client().get(path)  # type: ignore[no-any-return]

    def write_path(self, path: str, content: bytes, _sync: bool = True) -> bool:  # type: ignore[override]
        return bool(self.client().set(path, content))

    async def aread_path(self, path: str) -> bytes | None:
        return await asyncio.to_thread(self.read_path, path)

    async def awrite_path(self, path: str, content: bytes) -> bool:
        return await asyncio.to_thread(self.write_path, path, content)

    def client(self) -> Any:
        """The pooled sync client (redis-py loads with the first Redis storage used, not with this module)."""
        from blocks.redis_pool import redis_client

        return redis_client(self.url.get_secret_value())

    async def get_directory(self, from_path: str | None = None, local_path: str | None = None) -> None:
        raise NotImplementedError("result storage only")

    async def put_directory(
        self, local_path: str | None = None, to_path: str | None = None, ignore_file: str | None = None
    ) -> None:
        raise NotImplementedError("result storage only")


class TieredResultStorage(WritableFileSystem):
    """Reads from process memory first, then Redis or local files; records which tier served each key.

    Flat fields (no nested block) so it saves and loads like any block: Prefect
    requires a task's result storage to be saved server-side.
    """

    _block_type_name: ClassVar[str] = "Hedgeflow Tiered Result Storage"
    _description: ClassVar[str] = (
        "Where Hedgeflow runs keep cached task results (fetched data, analyst signals). Runs save it "
        "themselves as hedgeflow-task-results-TIER-HASH, because Prefect needs a task's result storage saved; "
        "configure caching with the Hedgeflow Cache block instead."
    )

    redis_url: SecretStr | None = Field(default=None, description="redis://host:port/db of the L2 tier, or empty.")
    local_path: str | None = Field(default=None, description="Directory of the L2 tier when there is no Redis.")

    @property
    def inner(self) -> Any:
        inner = self.__dict__.get("_inner_store")
        if inner is None:
            if self.redis_url is not None:
                inner = RedisStorage(url=self.redis_url)
            else:
                inner = LocalFileSystem(basepath=self.local_path or str(home() / "results"))
            self.__dict__["_inner_store"] = inner
        return inner

    def _remember(self, path: str, content: bytes | None, tier: Tier) -> bytes | None:
        if content is not None:
            MEMORY.put(path, content)
            MEMORY.mark(path, tier)
        return content

    async def aread_path(self, path: str) -> bytes | None:
        if (content := MEMORY.get(path)) is not None:
            MEMORY.mark(path, "memory")
            return content
        return self._remember(path, await self.inner.aread_path(path), "storage")

    def read_path(self, path: str, _sync: bool = True) -> bytes | None:  # type: ignore[override]
        if (content := MEMORY.get(path)) is not None:
            MEMORY.mark(path, "memory")
            return content
        return self._remember(path, self.inner.read_path(path, _sync=True), "storage")

    async def awrite_path(self, path: str, content: bytes) -> Any:
        MEMORY.put(path, content)
        return await self.inner.awrite_path(path, content)

    def write_path(self, path: str, content: bytes, _sync: bool = True) -> Any:
        MEMORY.put(path, content)
        return self.inner.write_path(path, content, _sync=True)

    async def get_directory(self, from_path: str | None = None, local_path: str | None = None) -> None:
        raise NotImplementedError("result storage only")

    async def put_directory(
        self, local_path: str | None = None, to_path: str | None = None, ignore_file: str | None = None
    ) -> None:
        raise NotImplementedError("result storage only")


def redis_problem(url: str, timeout_s: float = 1.0) -> str | None:
    """None when Redis answers at ``url`` within the timeout; otherwise why not (never the password)."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "localhost", parsed.port or 6379
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return f"Redis at {host}:{port} is unreachable ({exc.strerror or exc})"
    if not reply.startswith((b"+PONG", b"-NOAUTH")):
        return f"Redis at {host}:{port} answered {reply[:40]!r}"
    return None


class CacheBackend:
    """The storages and lock manager one run uses, built from a HedgeflowCache."""

    def __init__(self, result_storage: TieredResultStorage, key_storage: WritableFileSystem | None,
                 lock_manager: LockManager, tier: str, notice: str | None = None) -> None:
        self.result_storage = result_storage
        self.key_storage = key_storage
        self.lock_manager = lock_manager
        self.tier = tier
        self.notice = notice


class HedgeflowCache(Block):
    """Task-result caching: Redis when configured and reachable, else files under the data directory."""

    _block_type_name: ClassVar[str] = "Hedgeflow Cache"
    _description: ClassVar[str] = "Where Hedgeflow caches fetched data and analyst signals."

    redis_url: SecretStr | None = Field(
        default=None,
        description="redis://host:port for the shared L2 tier; empty for local files (HEDGEFLOW_REDIS_URL).",
    )
    result_db: int = Field(default=0, description="Redis database for results.")
    key_db: int = Field(default=1, description="Redis database for cache-key records (never the result one).")
    lock_db: int = Field(default=2, description="Redis database for isolation locks.")
    local_path: str | None = Field(default=None, description="Directory of the local tier; default <data dir>/results.")

    @classmethod
    def from_env(cls) -> HedgeflowCache:
        url = os.environ.get("HEDGEFLOW_REDIS_URL")
        return cls(redis_url=SecretStr(url) if url else None)

    def backend(self) -> CacheBackend:
        """Redis when reachable; when configured but unreachable, the local tier and a notice saying so."""
        notice = None
        if self.redis_url is not None:
            url = self.redis_url.get_secret_value()
            problem = redis_problem(url)
            if problem is None:
                from blocks.redis_locking import ExpiringRedisLockManager

                base = url.rstrip("/").rsplit("/", 1)[0] if urlparse(url).path.strip("/").isdigit() else url.rstrip("/")
                return CacheBackend(
                    result_storage=TieredResultStorage(redis_url=SecretStr(f"{base}/{self.result_db}")),
                    key_storage=RedisStorage(url=SecretStr(f"{base}/{self.key_db}")),
                    lock_manager=ExpiringRedisLockManager(connection_url=f"{base}/{self.lock_db}"),
                    tier="redis",
                )
            notice = f"{problem}: caching on the local tier instead"
        path = Path(self.local_path) if self.local_path else home() / "results"
        path.mkdir(parents=True, exist_ok=True)
        return CacheBackend(
            result_storage=TieredResultStorage(local_path=str(path)),
            key_storage=None,
            lock_manager=AtomicFileLockManager(lock_files_directory=path / ".locks"),
            tier="local",
            notice=notice,
        )
