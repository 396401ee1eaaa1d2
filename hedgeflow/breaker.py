"""A circuit breaker per (provider, model): stop calling a failing model, probe it, resume.

Why: when a provider is down or rate-limits us, every analyst task would wait out
its own timeouts and retries. An open breaker fails in microseconds instead, so
the task layer falls back to the rules signal at once; after ``open_timeout_s``
a few probes find out whether the provider is back.

State lives in a store. ``MemoryStore`` serves one process (the embedded
default); ``RedisStore`` is shared by every thread, process and worker, and each
step is one Lua script run on the server's clock, so racing callers can neither
both move the state nor take more probe slots than configured.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hedgeflow.errors import HedgeflowError

__all__ = [
    "DEFAULT_COUNTED_ERRORS", "Admission", "BreakerKey", "BreakerOpenError", "BreakerSettings", "BreakerState",
    "BreakerStore", "CircuitBreaker", "MemoryStore", "Outcome", "Permit", "RedisStore", "StateName", "Transition",
]

log = logging.getLogger(__name__)

StateName = Literal["closed", "open", "half_open"]
DEFAULT_COUNTED_ERRORS = frozenset({"rate_limit", "server_error", "overloaded", "timeout", "connection"})


class BreakerKey(NamedTuple):
    """One breaker per (provider, model): one model failing says nothing about another."""

    provider: str
    model: str


class BreakerOpenError(HedgeflowError):
    """Raised by ``acquire`` instead of calling a model that is failing: fall back now."""

    def __init__(self, key: BreakerKey, state: StateName, retry_in_s: float) -> None:
        self.provider, self.model = key
        self.state: StateName = state
        self.retry_in_s = max(retry_in_s, 0.0)
        why = "is open" if state == "open" else "is half-open and every probe slot is taken"
        super().__init__(f"circuit breaker for {key.provider}:{key.model} {why}; next probe in {self.retry_in_s:.2f}s")


class BreakerSettings(BaseModel):
    """When to open, how long to stay open, how many probes decide; plain config a block returns."""

    model_config = ConfigDict(frozen=True)

    failure_threshold: int = Field(default=5, ge=1)
    failure_window_s: float = Field(default=30.0, gt=0)
    open_timeout_s: float = Field(default=10.0, ge=0)
    half_open_probes: int = Field(default=1, ge=1)
    successes_to_close: int = Field(default=1, ge=1)  # defaults to half_open_probes
    probe_timeout_s: float = Field(default=60.0, gt=0)  # a probe slot frees itself after this (crashed caller)
    counted_errors: frozenset[str] = DEFAULT_COUNTED_ERRORS
    is_counted: Callable[[BaseException], bool] | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _successes_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("successes_to_close") is None:
            return {**data, "successes_to_close": data.get("half_open_probes", 1)}
        return data

    def counts(self, error: BaseException | str) -> bool:
        """Whether an error says the provider is unhealthy (a kind string, the predicate, or ``exc.kind``)."""
        if isinstance(error, str):
            return error in self.counted_errors
        if self.is_counted is not None:
            return self.is_counted(error)
        return getattr(error, "kind", None) in self.counted_errors


def _utc(epoch_s: float | None) -> dt.datetime | None:
    return None if epoch_s is None else dt.datetime.fromtimestamp(epoch_s, dt.UTC)


class BreakerState(BaseModel):
    """What a breaker looks like now: for logs, artifacts and the UI."""

    provider: str
    model: str
    state: StateName
    failures: int = Field(default=0, description="Counted failures within the window.")
    probes_in_flight: int = 0
    opened_at: dt.datetime | None = None
    next_probe_at: dt.datetime | None = None

    @classmethod
    def build(cls, key: BreakerKey, state: StateName, failures: int, probes: int,
              opened_at_s: float | None, settings: BreakerSettings) -> BreakerState:
        next_s = opened_at_s + settings.open_timeout_s if state == "open" and opened_at_s is not None else None
        return cls(provider=key.provider, model=key.model, state=state, failures=failures, probes_in_flight=probes,
                   opened_at=_utc(opened_at_s), next_probe_at=_utc(next_s))


class Transition(BaseModel):
    """One state change, given to every listener exactly once (by the process that caused it)."""

    provider: str
    model: str
    old: StateName
    new: StateName
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class Admission:
    """A store's answer to acquire; ``old`` is set when this very call moved the state."""

    admitted: bool
    state: StateName
    probe: bool = False
    retry_in_s: float = 0.0
    old: StateName | None = None
    at_s: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """A store's answer to a success or failure; ``count`` is failures in window or probe successes."""

    state: StateName
    old: StateName | None = None
    count: int = 0
    at_s: float = 0.0


class BreakerStore(Protocol):
    """Where breaker state lives; every method is one atomic step."""

    def acquire(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Admission: ...
    def failure(self, key: BreakerKey, settings: BreakerSettings, token: str, probe: bool) -> Outcome: ...
    def success(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Outcome: ...
    def release(self, key: BreakerKey, token: str) -> None: ...
    def snapshot(self, key: BreakerKey, settings: BreakerSettings) -> BreakerState: ...
    def reset(self, key: BreakerKey) -> None: ...


@dataclass
class _Entry:
    state: StateName = "closed"
    opened_at: float | None = None
    successes: int = 0
    failures: list[float] = field(default_factory=list)
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
                return Admission(True, "closed")
            now, old = self._clock(), None
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
            entry.failures = [t for t in entry.failures if t > now - settings.failure_window_s] + [now]
            if len(entry.failures) >= settings.failure_threshold:
                entry.state, entry.opened_at = "open", now
                return Outcome("open", "closed", len(entry.failures), now)
            return Outcome("closed", count=len(entry.failures), at_s=now)

    def success(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Outcome:
        with self._lock:
            now, entry = self._clock(), self._entries.get(key)
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


class Permit:
    """Leave to make one call: report ``success()``, ``failure(reason)`` or ``release()`` exactly once.

    As a context manager it reports for you: success on a clean exit, failure when
    the breaker counts the exception, release otherwise. Only a probe's success
    or any counted failure costs a store round trip.
    """

    def __init__(self, breaker: CircuitBreaker, key: BreakerKey, token: str, probe: bool) -> None:
        self.key, self.token, self.probe = key, token, probe
        self._breaker = breaker
        self._settled = False

    def _settle(self) -> bool:
        settled, self._settled = self._settled, True
        return not settled

    def success(self) -> None:
        if self._settle() and self.probe:
            self._breaker._record(self, self._breaker.store.success(self.key, self._breaker.settings, self.token), "")

    def failure(self, reason: str) -> None:
        if self._settle():
            outcome = self._breaker.store.failure(self.key, self._breaker.settings, self.token, self.probe)
            self._breaker._record(self, outcome, reason)

    def release(self) -> None:
        """The call ended without saying anything about the provider (e.g. an error that does not count)."""
        if self._settle() and self.probe:
            self._breaker.store.release(self.key, self.token)

    def __enter__(self) -> Permit:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.success()
        elif self._breaker.settings.counts(exc):
            self.failure(f"{type(exc).__name__}: {exc}")
        else:
            self.release()


Listener = Callable[[Transition], None]


class CircuitBreaker:
    """Breakers for every (provider, model), one settings, one store, listeners told of every transition."""

    def __init__(self, settings: BreakerSettings | None = None, store: BreakerStore | None = None,
                 listeners: Iterable[Listener] = ()) -> None:
        self.settings = settings or BreakerSettings()
        self.store: BreakerStore = store if store is not None else MemoryStore()
        self._listeners: list[Listener] = []
        for listener in listeners:
            self.add_listener(listener)

    def add_listener(self, listener: Listener) -> None:
        """Register ``on_transition``; registering the same one twice is a no-op (breakers are shared)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def counts(self, error: BaseException | str) -> bool:
        return self.settings.counts(error)

    def acquire(self, key: BreakerKey | tuple[str, str]) -> Permit:
        """A permit to call the model, or ``BreakerOpenError`` at once when the breaker is open or probing."""
        key, token = BreakerKey(*key), uuid.uuid4().hex
        admission = self.store.acquire(key, self.settings, token)
        if admission.old is not None:
            reason = f"open for {self.settings.open_timeout_s:g}s: admitting up to {self.settings.half_open_probes} probe(s)"
            self._emit(key, admission.old, admission.state, reason, admission.at_s)
        if not admission.admitted:
            raise BreakerOpenError(key, admission.state, admission.retry_in_s)
        return Permit(self, key, token, admission.probe)

    def state(self, key: BreakerKey | tuple[str, str]) -> BreakerState:
        return self.store.snapshot(BreakerKey(*key), self.settings)

    def reset(self, key: BreakerKey | tuple[str, str]) -> None:
        """Force closed with a clean window (an operator's override)."""
        self.store.reset(BreakerKey(*key))

    def _record(self, permit: Permit, outcome: Outcome, reason: str) -> None:
        if outcome.old is None:
            return
        s = self.settings
        if outcome.old == "closed":
            why = f"{outcome.count} counted failures within {s.failure_window_s:g}s (threshold {s.failure_threshold}); last: {reason}"
        elif outcome.state == "open":
            why = f"probe failed: {reason}"
        else:
            why = f"{outcome.count} probe success(es)"
        self._emit(permit.key, outcome.old, outcome.state, why, outcome.at_s)

    def _emit(self, key: BreakerKey, old: StateName, new: StateName, reason: str, at_s: float) -> None:
        log.log(logging.WARNING if new == "open" else logging.INFO,
                "circuit breaker %s:%s %s -> %s: %s", key.provider, key.model, old, new, reason)
        transition = Transition(provider=key.provider, model=key.model, old=old, new=new, reason=reason,
                                at=_utc(at_s) or dt.datetime.now(dt.UTC))
        for listener in list(self._listeners):
            try:
                listener(transition)
            except Exception:  # a broken listener must not break the call it reports on
                log.exception("circuit breaker listener %r failed", listener)



# --------------------------------------------------------------------------- Redis
# KEYS: state hash (absent = closed), failures zset (score = ms), probes zset (score = slot deadline ms).
# Times are the server's (TIME), in integer ms, so processes with skewed clocks agree.
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
_ACQUIRE = """local st = redis.call('HMGET', KEYS[1], 'state', 'opened_at')
if not st[1] then return {1, 'closed', 0, '', 0} end
""" + _NOW + """local old = ''
if st[1] == 'open' then
  local wait = tonumber(st[2]) + tonumber(ARGV[1]) - now
  if wait > 0 then return {0, 'open', wait, '', now} end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'successes', 0)
  redis.call('DEL', KEYS[3])
  old = 'open'
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  return {0, 'half_open', tonumber(first[2]) - now, old, now}
end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return {1, 'half_open', 0, old, now}"""
_TAKE_PROBE = """if state ~= 'half_open' then return {state, '', 0, now} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZREM', KEYS[3], ARGV[1]) == 0 then return {state, '', 0, now} end
"""
_FAILURE = _NOW + """local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if ARGV[2] == '1' then
""" + _TAKE_PROBE + """  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'successes', 0)
  redis.call('DEL', KEYS[3])
  return {'open', 'half_open', 0, now}
end
if state ~= 'closed' then return {state, '', 0, now} end
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local n = redis.call('ZCARD', KEYS[2])
if n < tonumber(ARGV[3]) then return {'closed', '', n, now} end
redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'successes', 0)
return {'open', 'closed', n, now}"""
_SUCCESS = _NOW + "local state = redis.call('HGET', KEYS[1], 'state') or 'closed'\n" + _TAKE_PROBE + """\
local n = redis.call('HINCRBY', KEYS[1], 'successes', 1)
if n < tonumber(ARGV[2]) then return {'half_open', '', n, now} end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return {'closed', 'half_open', n, now}"""
_SNAPSHOT = _NOW + """local st = redis.call('HMGET', KEYS[1], 'state', 'opened_at')
local failures = redis.call('ZCOUNT', KEYS[2], '(' .. (now - tonumber(ARGV[1])), '+inf')
local probes = redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf')
return {st[1] or 'closed', st[2] or '', failures, probes}"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(seconds: float) -> int:
    return max(int(round(seconds * 1000)), 0)


class RedisStore:
    """State shared by every process through Redis; each method is one EVALSHA (one round trip).

    With ``fail_open`` an unreachable Redis admits calls as if closed (and logs
    it): a broken breaker store must not stop every model call.
    """

    def __init__(self, url: str, *, prefix: str = "hedgeflow:breaker", fail_open: bool = True,
                 timeout_s: float = 0.5, client: Any = None) -> None:
        import redis  # lazy: the in-process default never needs it

        self.prefix, self.fail_open = prefix, fail_open
        self.client = client if client is not None else redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._error: type[Exception] = redis.RedisError
        self._scripts = {name: self.client.register_script(src) for name, src in
                         (("acquire", _ACQUIRE), ("failure", _FAILURE), ("success", _SUCCESS), ("snapshot", _SNAPSHOT))}
        self._warned_at = 0.0

    def keys(self, key: BreakerKey) -> list[str]:
        base = f"{self.prefix}:{key.provider}:{key.model}"
        return [f"{base}:state", f"{base}:failures", f"{base}:probes"]

    def _run(self, name: str, key: BreakerKey, args: list[Any]) -> list[Any] | None:
        try:
            return list(self._scripts[name](keys=self.keys(key), args=args))
        except self._error as exc:
            if not self.fail_open:
                raise
            if time.monotonic() - self._warned_at > 60:  # once a minute, not once a call
                self._warned_at = time.monotonic()
                log.warning("circuit breaker store unreachable (%s): treating %s:%s as closed", exc, *key)
            return None

    def acquire(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Admission:
        reply = self._run("acquire", key, [_ms(settings.open_timeout_s), settings.half_open_probes,
                                           _ms(settings.probe_timeout_s), token])
        if reply is None:
            return Admission(True, "closed")
        admitted, state, wait_ms, old, now_ms = reply
        return Admission(bool(admitted), _text(state), probe=bool(admitted) and _text(state) == "half_open",  # type: ignore[arg-type]
                         retry_in_s=int(wait_ms) / 1000, old=_text(old) or None, at_s=int(now_ms) / 1000)  # type: ignore[arg-type]

    def _outcome(self, reply: list[Any] | None) -> Outcome:
        if reply is None:
            return Outcome("closed")
        state, old, count, now_ms = reply
        return Outcome(_text(state), _text(old) or None, int(count), int(now_ms) / 1000)  # type: ignore[arg-type]

    def failure(self, key: BreakerKey, settings: BreakerSettings, token: str, probe: bool) -> Outcome:
        args = [token, "1" if probe else "0", settings.failure_threshold, _ms(settings.failure_window_s)]
        return self._outcome(self._run("failure", key, args))

    def success(self, key: BreakerKey, settings: BreakerSettings, token: str) -> Outcome:
        return self._outcome(self._run("success", key, [token, settings.successes_to_close]))

    def release(self, key: BreakerKey, token: str) -> None:
        try:
            self.client.zrem(self.keys(key)[2], token)
        except self._error:
            if not self.fail_open:
                raise  # otherwise the slot frees itself after probe_timeout_s

    def snapshot(self, key: BreakerKey, settings: BreakerSettings) -> BreakerState:
        reply = self._run("snapshot", key, [_ms(settings.failure_window_s)])
        if reply is None:
            return BreakerState.build(key, "closed", 0, 0, None, settings)
        state, opened_ms, failures, probes = (_text(v) for v in reply)
        opened = int(opened_ms) / 1000 if opened_ms else None
        return BreakerState.build(key, state, int(failures), int(probes), opened, settings)  # type: ignore[arg-type]

    def reset(self, key: BreakerKey) -> None:
        self.client.delete(*self.keys(key))
