"""One blocking connection pool per Redis URL and process, sized for the flow's concurrency.

redis-py's default pool raises ``MaxConnectionsError`` once 100 connections are
out; a cold seven-ticker run has more task runs than that in flight, each
holding a connection for a lock, a cache-key record or a result at a time. A
blocking pool of ``MAX_CONNECTIONS`` makes a caller wait for a free connection
instead, and every lock manager and storage of the process shares it.
"""

from __future__ import annotations

import threading

import redis

__all__ = ["MAX_CONNECTIONS", "WAIT_FOR_CONNECTION_S", "redis_client"]

MAX_CONNECTIONS = 256  # above the flow's thread pool (flows.hedge_fund: 7 tickers x 19 analysts and more)
WAIT_FOR_CONNECTION_S = 30.0

_POOLS: dict[str, redis.BlockingConnectionPool] = {}
_LOCK = threading.Lock()


def redis_client(url: str) -> redis.Redis:
    """A client on the process's shared pool for ``url``; closing it leaves the pool open."""
    with _LOCK:
        pool = _POOLS.get(url)
        if pool is None:
            pool = _POOLS[url] = redis.BlockingConnectionPool.from_url(
                url, max_connections=MAX_CONNECTIONS, timeout=WAIT_FOR_CONNECTION_S
            )
    return redis.Redis(connection_pool=pool)
