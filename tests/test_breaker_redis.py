"""The circuit breaker shared through a real Redis: across threads and processes, on the server's clock.

The server clock cannot be injected, so these tests use short timeouts (0.3 s).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from blocks.breaker import CircuitBreakerBlock
from hedgeflow.breaker import BreakerKey, BreakerOpenError, BreakerSettings, CircuitBreaker, RedisStore, Transition

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[1]
KEY = BreakerKey("anthropic", "claude-sonnet-4-5")
FAST = {"failure_threshold": 3, "failure_window_s": 5.0, "open_timeout_s": 0.3, "half_open_probes": 2}


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own, deleted afterwards."""
    prefix = f"hedgeflow:breaker:test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def make(redis_url: str, prefix: str, **settings: Any) -> tuple[CircuitBreaker, list[Transition]]:
    seen: list[Transition] = []
    store = RedisStore(redis_url, prefix=prefix, fail_open=False)
    return CircuitBreaker(BreakerSettings(**{**FAST, **settings}), store, [seen.append]), seen


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.acquire(KEY).failure("529 overloaded")


def test_the_state_machine_on_redis(redis_url: str, prefix: str) -> None:
    breaker, seen = make(redis_url, prefix)
    fail(breaker, 2)
    assert breaker.state(KEY).state == "closed" and breaker.state(KEY).failures == 2
    fail(breaker, 1)
    assert breaker.state(KEY).state == "open"
    with pytest.raises(BreakerOpenError) as raised:
        breaker.acquire(KEY)
    assert raised.value.state == "open" and 0 < raised.value.retry_in_s <= 0.3
    time.sleep(0.35)
    breaker.acquire(KEY).failure("probe timed out")
    assert breaker.state(KEY).state == "open"
    time.sleep(0.35)
    probes = [breaker.acquire(KEY), breaker.acquire(KEY)]
    with pytest.raises(BreakerOpenError, match="half-open"):
        breaker.acquire(KEY)
    assert breaker.state(KEY).probes_in_flight == 2
    for probe in probes:
        probe.success()
    state = breaker.state(KEY)
    assert state.state == "closed" and state.failures == 0 and state.opened_at is None
    assert [(t.old, t.new) for t in seen] == [
        ("closed", "open"), ("open", "half_open"), ("half_open", "open"), ("open", "half_open"), ("half_open", "closed")
    ]
    assert seen[2].reason == "probe failed: probe timed out"


def test_failures_spread_beyond_the_window_do_not_open(redis_url: str, prefix: str) -> None:
    breaker, seen = make(redis_url, prefix, failure_threshold=2, failure_window_s=0.3)
    for _ in range(3):
        fail(breaker, 1)
        time.sleep(0.32)
    assert breaker.state(KEY).state == "closed" and breaker.state(KEY).failures == 0 and seen == []


class CountingRedis(redis.Redis):
    """A real client that notes every command it sends: proves the round trips."""

    sent: list[str] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]))
        return super().execute_command(*args, **options)


def test_a_closed_call_is_two_evalshas_well_under_a_millisecond_each(redis_url: str, prefix: str) -> None:
    """Acquire is one script; the success is one more, as it counts in the failure rate (issue 17, row 4)."""
    client = CountingRedis.from_url(redis_url)
    breaker = CircuitBreaker(BreakerSettings(**FAST), RedisStore(redis_url, prefix=prefix, client=client))
    breaker.acquire(KEY).success()  # loads the script once
    client.sent.clear()
    timings = []
    for _ in range(200):
        started = time.perf_counter()
        breaker.acquire(KEY).success()
        timings.append(time.perf_counter() - started)
    assert client.sent == ["EVALSHA", "EVALSHA"] * 200
    assert statistics.median(timings) < 0.002


def test_open_rejects_in_milliseconds(redis_url: str, prefix: str) -> None:
    breaker, _ = make(redis_url, prefix, open_timeout_s=30)
    fail(breaker, 3)
    timings = []
    for _ in range(100):
        started = time.perf_counter()
        with pytest.raises(BreakerOpenError):
            breaker.acquire(KEY)
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[95] < 0.005


# A separate process: a fresh interpreter with its own store, its clock skewed by an hour.
CHILD = """
import json, sys, threading, time
from hedgeflow.breaker import BreakerOpenError, BreakerSettings, CircuitBreaker, RedisStore
url, prefix, role, settings = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
real_time = time.time
time.time = lambda: real_time() + 3600 * (1 if role == "reader" else -1)
seen = []
breaker = CircuitBreaker(BreakerSettings(**settings), RedisStore(url, prefix=prefix, fail_open=False), [seen.append])
key = ("anthropic", "claude-sonnet-4-5")
if role == "writer":
    while breaker.state(key).state == "closed":
        breaker.acquire(key).failure("503")
    print(json.dumps({"state": breaker.state(key).state}))
elif role == "reader":
    breaker.store.client.ping()  # connect first: time the breaker, not the TCP handshake
    calls, outcomes, timings = [], set(), []
    for _ in range(20):
        started = time.perf_counter()
        try:
            with breaker.acquire(key):
                calls.append("model")
            outcomes.add("admitted")
        except BreakerOpenError as exc:
            outcomes.add(exc.state)
        timings.append(time.perf_counter() - started)
    print(json.dumps({"outcomes": sorted(outcomes), "calls": calls, "median_s": sorted(timings)[10]}))
else:
    go, admitted, lock = threading.Event(), [], threading.Lock()
    def race():
        go.wait()
        try:
            permit = breaker.acquire(key)
            with lock:
                admitted.append(permit)
        except BreakerOpenError:
            pass
    threads = [threading.Thread(target=race) for _ in range(10)]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    sys.stdin.readline()
    go.set()
    for thread in threads:
        thread.join()
    print(json.dumps({"admitted": len(admitted), "transitions": [(t.old, t.new) for t in seen]}))
"""


def child(redis_url: str, prefix: str, role: str, settings: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, redis_url, prefix, role, json.dumps(settings)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def answer(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_two_processes_share_one_breaker_on_the_server_clock(redis_url: str, prefix: str) -> None:
    settings = {**FAST, "open_timeout_s": 30.0}
    assert answer(child(redis_url, prefix, "writer", settings)) == {"state": "open"}
    reader = answer(child(redis_url, prefix, "reader", settings))  # its clock is two hours ahead of the writer's
    assert reader["outcomes"] == ["open"] and reader["calls"] == [] and reader["median_s"] < 0.005
    breaker, _ = make(redis_url, prefix, **settings)
    opened_at = breaker.state(KEY).opened_at
    server_s = float(redis.Redis.from_url(redis_url).time()[0])
    assert opened_at is not None and abs(opened_at.timestamp() - server_s) < 5  # not the writer's skewed hour


def test_racing_threads_in_two_processes_never_exceed_the_probes(redis_url: str, prefix: str) -> None:
    breaker, _ = make(redis_url, prefix)
    for _round in range(3):
        fail(breaker, 3)
        assert breaker.state(KEY).state == "open"
        processes = [child(redis_url, prefix, "racer", FAST) for _ in range(2)]
        for process in processes:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # the open timeout runs out while all twenty threads wait at the gate
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        answers = [answer(process) for process in processes]
        assert sum(a["admitted"] for a in answers) == FAST["half_open_probes"]
        assert sum(len(a["transitions"]) for a in answers) == 1  # one process moved it, once
        breaker.reset(KEY)


def test_a_crashed_probe_frees_its_slot_on_the_server_clock(redis_url: str, prefix: str) -> None:
    breaker, _ = make(redis_url, prefix, half_open_probes=1, probe_timeout_s=0.3)
    fail(breaker, 3)
    time.sleep(0.35)
    crashed = breaker.acquire(KEY)  # never reports: its process died
    with pytest.raises(BreakerOpenError, match="half-open"):
        breaker.acquire(KEY)
    store = breaker.store
    assert isinstance(store, RedisStore)
    assert 0 < store.client.pttl(store.keys(KEY)[2]) <= 300
    time.sleep(0.35)
    fresh = breaker.acquire(KEY)
    crashed.success()  # too late: its slot is gone, so it cannot close the breaker
    assert breaker.state(KEY).state == "half_open"
    fresh.success()
    assert breaker.state(KEY).state == "closed"


def test_an_unreachable_redis_fails_open_or_raises_as_asked() -> None:
    breaker = CircuitBreaker(BreakerSettings(), RedisStore("redis://127.0.0.1:1"))
    breaker.acquire(KEY).failure("timeout")
    assert breaker.state(KEY).state == "closed"
    strict = CircuitBreaker(BreakerSettings(), RedisStore("redis://127.0.0.1:1", fail_open=False))
    with pytest.raises(redis.ConnectionError):
        strict.acquire(KEY)


def test_the_block_with_redis_shares_state_between_its_breakers(redis_url: str, prefix: str) -> None:
    block = CircuitBreakerBlock(redis_url=SecretStr(redis_url), failure_threshold=1, open_timeout_s=30)
    store = block.breaker().store
    assert isinstance(store, RedisStore) and block.breaker() is block.breaker()
    key = BreakerKey(prefix.rsplit(":", 1)[1], "model")  # under the default prefix: clean it up ourselves
    try:
        block.breaker().acquire(key).failure("timeout")
        other = CircuitBreaker(block.settings(), RedisStore(redis_url))
        assert other.state(key).state == "open"
    finally:
        block.breaker().reset(key)


@pytest.mark.redis
def test_a_burst_with_a_few_faults_stays_closed_on_redis(redis_url: str, prefix: str) -> None:
    breaker, _ = make(redis_url, prefix, failure_threshold=5, failure_rate=0.5)
    permits = [breaker.acquire(KEY) for _ in range(38)]
    for permit in permits[:18]:
        permit.failure("500")
    assert breaker.state(KEY).state == "closed"  # 18 of 38 calls failed
    permits[18].failure("500")
    assert breaker.state(KEY).state == "open"  # 19 of 38
