"""The shared store: every step one Lua script on the Redis server's clock."""

from __future__ import annotations

import time
from typing import Any

from hedgeflow.breaker.model import (
    Admission,
    BreakerKey,
    BreakerSettings,
    BreakerState,
    Outcome,
    log,
)

__all__ = ["RedisStore"]

# Times are the server's (TIME), in integer ms, so processes with skewed clocks agree.
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
_ACQUIRE = """local st = redis.call('HMGET', KEYS[1], 'state', 'opened_at')
if not st[1] then
  if ARGV[5] ~= '0' then
""" + _NOW + """    redis.call('ZADD', KEYS[4], now, ARGV[4])
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[5]))
    redis.call('PEXPIRE', KEYS[4], ARGV[5])
  end
  return {1, 'closed', 0, '', 0}
end
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
local admitted = tonumber(redis.call('ZSCORE', KEYS[4], ARGV[1]) or now)
local start = math.min(now, admitted) - tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[6]))
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('PEXPIRE', KEYS[4], ARGV[6])
local n = redis.call('ZCOUNT', KEYS[2], '(' .. start, '+inf')
local calls = redis.call('ZCOUNT', KEYS[4], '(' .. start, '+inf')
if n < tonumber(ARGV[3]) or n < tonumber(ARGV[5]) * calls then return {'closed', '', n, now} end
redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'successes', 0)
redis.call('DEL', KEYS[4])
return {'open', 'closed', n, now}"""
_SUCCESS = _NOW + """local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then
  redis.call('ZADD', KEYS[4], 'XX', now, ARGV[1])
  return {'closed', '', 0, now}
end
""" + _TAKE_PROBE + """\
local n = redis.call('HINCRBY', KEYS[1], 'successes', 1)
if n < tonumber(ARGV[2]) then return {'half_open', '', n, now} end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
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
        return [f"{base}:state", f"{base}:failures", f"{base}:probes", f"{base}:calls"]

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
        window = _ms(settings.horizon_s) if settings.failure_rate > 0 else 0
        reply = self._run("acquire", key, [_ms(settings.open_timeout_s), settings.half_open_probes,
                                           _ms(settings.probe_timeout_s), token, window])
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
        args = [token, "1" if probe else "0", settings.failure_threshold, _ms(settings.failure_window_s),
                settings.failure_rate, _ms(settings.horizon_s)]
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
