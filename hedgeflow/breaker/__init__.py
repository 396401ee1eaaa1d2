"""A circuit breaker per (provider, model): stop calling a failing model, probe it, resume.

Why: when a provider is down or rate-limits us, every analyst task would wait out
its own timeouts and retries. An open breaker fails in microseconds instead, so
the task layer falls back to the rules signal at once; after ``open_timeout_s``
a few probes find out whether the provider is back.

State lives in a store. ``MemoryStore`` serves one process; ``FileStore`` every
process on the machine (the embedded default, under the data directory);
``RedisStore`` is shared by every thread, process and worker, and each
step is one Lua script run on the server's clock, so racing callers can neither
both move the state nor take more probe slots than configured.
"""


from hedgeflow.breaker.core import CircuitBreaker, Listener, Permit
from hedgeflow.breaker.file_store import FileStore
from hedgeflow.breaker.memory import MemoryStore
from hedgeflow.breaker.model import (
    DEFAULT_COUNTED_ERRORS,
    Admission,
    BreakerKey,
    BreakerOpenError,
    BreakerSettings,
    BreakerState,
    BreakerStore,
    Outcome,
    StateName,
    Transition,
)
from hedgeflow.breaker.redis_store import RedisStore

__all__ = [
    "DEFAULT_COUNTED_ERRORS", "Admission", "BreakerKey", "BreakerOpenError", "BreakerSettings", "BreakerState",
    "BreakerStore", "CircuitBreaker", "FileStore", "Listener", "MemoryStore", "Outcome", "Permit", "RedisStore", "StateName",
    "Transition",
]
