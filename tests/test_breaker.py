"""The circuit breaker state machine on the in-process store, on an injected clock: no test sleeps."""

from __future__ import annotations

import threading
import time

import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr

from blocks.breaker import CircuitBreakerBlock
from hedgeflow.breaker import (
    BreakerKey,
    BreakerOpenError,
    BreakerSettings,
    CircuitBreaker,
    FileStore,
    MemoryStore,
    Permit,
    RedisStore,
    Transition,
)

KEY = BreakerKey("anthropic", "claude-sonnet-4-5")


class Clock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, **settings: object) -> tuple[CircuitBreaker, list[Transition]]:
    seen: list[Transition] = []
    breaker = CircuitBreaker(BreakerSettings(**settings), MemoryStore(clock), listeners=[seen.append])  # type: ignore[arg-type]
    return breaker, seen


def fail(breaker: CircuitBreaker, times: int, key: BreakerKey = KEY) -> None:
    for _ in range(times):
        breaker.acquire(key).failure("429 rate limited")


def test_opens_after_threshold_failures_within_the_window(clock: Clock) -> None:
    breaker, seen = make(clock, failure_threshold=3, failure_window_s=30)
    fail(breaker, 2)
    assert breaker.state(KEY).state == "closed" and breaker.state(KEY).failures == 2
    clock.advance(29)
    fail(breaker, 1)
    state = breaker.state(KEY)
    assert state.state == "open" and state.failures == 3
    assert state.opened_at is not None and state.opened_at.timestamp() == clock.now
    assert state.next_probe_at is not None and state.next_probe_at.timestamp() == clock.now + 10
    assert [(t.old, t.new) for t in seen] == [("closed", "open")]
    assert "3 counted failures within 30s" in seen[0].reason and "429 rate limited" in seen[0].reason


def test_failures_spread_beyond_the_window_do_not_open(clock: Clock) -> None:
    breaker, seen = make(clock, failure_threshold=3, failure_window_s=30)
    for _ in range(10):
        fail(breaker, 1)
        clock.advance(15.1)  # never three within 30 s
    assert breaker.state(KEY).state == "closed" and breaker.state(KEY).failures == 1
    assert seen == []


def test_open_rejects_in_milliseconds_without_calling_anything(clock: Clock) -> None:
    breaker, _ = make(clock, failure_threshold=1, open_timeout_s=10)
    fail(breaker, 1)
    clock.advance(4)
    calls: list[str] = []
    timings: list[float] = []
    for _ in range(100):
        started = time.perf_counter()
        with pytest.raises(BreakerOpenError) as raised:
            with breaker.acquire(KEY):
                calls.append("model called")
        timings.append(time.perf_counter() - started)
    assert calls == []
    assert sorted(timings)[95] < 0.005
    error = raised.value
    assert (error.provider, error.model, error.state, error.retry_in_s) == (KEY.provider, KEY.model, "open", 6.0)
    assert "anthropic:claude-sonnet-4-5 is open" in str(error) and "6.00s" in str(error)


def test_half_open_admits_exactly_the_configured_probes_under_a_race(clock: Clock) -> None:
    breaker, seen = make(clock, failure_threshold=1, open_timeout_s=10, half_open_probes=3)
    fail(breaker, 1)
    clock.advance(10)
    start = threading.Barrier(20)
    permits: list[Permit] = []
    rejected: list[BreakerOpenError] = []

    def race() -> None:
        start.wait()
        try:
            permits.append(breaker.acquire(KEY))
        except BreakerOpenError as exc:
            rejected.append(exc)

    threads = [threading.Thread(target=race) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(permits) == 3 and all(p.probe for p in permits) and len(rejected) == 17
    assert {e.state for e in rejected} == {"half_open"}
    assert breaker.state(KEY).probes_in_flight == 3
    assert [(t.old, t.new) for t in seen] == [("closed", "open"), ("open", "half_open")]  # moved once, not 20 times


def test_probe_successes_close_with_a_clean_window(clock: Clock) -> None:
    breaker, seen = make(clock, failure_threshold=2, open_timeout_s=5, half_open_probes=1, successes_to_close=2)
    fail(breaker, 2)
    clock.advance(5)
    breaker.acquire(KEY).success()
    assert breaker.state(KEY).state == "half_open"  # one of two successes
    breaker.acquire(KEY).success()
    assert breaker.state(KEY).state == "closed" and breaker.state(KEY).failures == 0
    assert seen[-1].old == "half_open" and seen[-1].new == "closed" and "2 probe success" in seen[-1].reason
    fail(breaker, 1)
    assert breaker.state(KEY).state == "closed"  # old failures do not count against the closed breaker


def test_probe_failure_reopens_for_a_full_timeout(clock: Clock) -> None:
    breaker, seen = make(clock, failure_threshold=1, open_timeout_s=5)
    fail(breaker, 1)
    clock.advance(5)
    breaker.acquire(KEY).failure("503 overloaded")
    assert breaker.state(KEY).state == "open"
    assert seen[-1].old == "half_open" and seen[-1].new == "open" and seen[-1].reason == "probe failed: 503 overloaded"
    clock.advance(4.9)
    with pytest.raises(BreakerOpenError):
        breaker.acquire(KEY)
    clock.advance(0.1)
    assert breaker.acquire(KEY).probe


def test_listener_receives_every_transition_with_its_reason_and_time(clock: Clock) -> None:
    breaker, seen = make(clock, failure_threshold=1, open_timeout_s=1)
    fail(breaker, 1)
    clock.advance(1)
    breaker.acquire(KEY).failure("timeout")
    clock.advance(1)
    breaker.acquire(KEY).success()
    assert [(t.old, t.new) for t in seen] == [
        ("closed", "open"), ("open", "half_open"), ("half_open", "open"), ("open", "half_open"), ("half_open", "closed")
    ]
    assert all(t.reason and t.provider == KEY.provider and t.model == KEY.model for t in seen)
    assert seen[-1].at.timestamp() == clock.now


def test_a_broken_listener_does_not_break_the_call(clock: Clock) -> None:
    def broken(transition: Transition) -> None:
        raise RuntimeError("listener bug")

    breaker = CircuitBreaker(BreakerSettings(failure_threshold=1), MemoryStore(clock), listeners=[broken, broken])
    fail(breaker, 1)
    assert breaker.state(KEY).state == "open"


def test_state_per_key_is_independent(clock: Clock) -> None:
    breaker, _ = make(clock, failure_threshold=2)
    other_model, other_provider = BreakerKey("anthropic", "claude-haiku-4-5"), BreakerKey("openai", "claude-sonnet-4-5")
    fail(breaker, 2)
    fail(breaker, 1, other_model)
    assert breaker.state(KEY).state == "open"
    assert breaker.state(other_model).state == "closed" and breaker.state(other_model).failures == 1
    assert breaker.state(other_provider).failures == 0
    breaker.acquire(other_provider).success()


def test_a_crashed_probe_frees_its_slot_and_its_late_answer_is_ignored(clock: Clock) -> None:
    breaker, _ = make(clock, failure_threshold=1, open_timeout_s=1, probe_timeout_s=30)
    fail(breaker, 1)
    clock.advance(1)
    crashed = breaker.acquire(KEY)
    clock.advance(29)
    with pytest.raises(BreakerOpenError) as raised:
        breaker.acquire(KEY)
    assert raised.value.state == "half_open" and raised.value.retry_in_s == pytest.approx(1)
    clock.advance(1)
    fresh = breaker.acquire(KEY)
    crashed.success()
    assert breaker.state(KEY).state == "half_open"
    fresh.success()
    assert breaker.state(KEY).state == "closed"


def test_a_call_admitted_before_opening_does_not_count_later(clock: Clock) -> None:
    breaker, _ = make(clock, failure_threshold=1, open_timeout_s=1)
    slow = breaker.acquire(KEY)
    fail(breaker, 1)
    clock.advance(1)
    probe = breaker.acquire(KEY)
    slow.failure("timeout")  # a closed-state call: it says nothing about the probe
    assert breaker.state(KEY).state == "half_open"
    probe.success()
    assert breaker.state(KEY).state == "closed"


class RateLimited(Exception):
    kind = "rate_limit"


def test_the_permit_as_context_manager_reports_by_error_kind(clock: Clock) -> None:
    breaker, _ = make(clock, failure_threshold=1, open_timeout_s=1)
    with pytest.raises(ValueError):
        with breaker.acquire(KEY):
            raise ValueError("a bug in our code, not the provider's fault")
    assert breaker.state(KEY).state == "closed"
    with pytest.raises(RateLimited):
        with breaker.acquire(KEY):
            raise RateLimited("429")
    assert breaker.state(KEY).state == "open"
    clock.advance(1)
    with pytest.raises(ValueError):
        with breaker.acquire(KEY):
            raise ValueError("uncounted: the probe slot is released")
    with breaker.acquire(KEY):
        pass
    assert breaker.state(KEY).state == "closed"


def test_settings_defaults_and_the_counting_predicate() -> None:
    settings = BreakerSettings(half_open_probes=3)
    assert settings.successes_to_close == 3 and BreakerSettings().successes_to_close == 1
    assert (settings.failure_threshold, settings.failure_window_s, settings.open_timeout_s) == (5, 30.0, 10.0)
    assert settings.counts("rate_limit") and not settings.counts("invalid_request")
    assert settings.counts(RateLimited()) and not settings.counts(ValueError())
    custom = BreakerSettings(is_counted=lambda exc: isinstance(exc, TimeoutError))
    assert custom.counts(TimeoutError()) and not custom.counts(RateLimited())


# --------------------------------------------------------------------------- the block


class TestCircuitBreakerBlockStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[CircuitBreakerBlock]:
        return CircuitBreakerBlock

    def test_has_a_valid_image(self, block: type[CircuitBreakerBlock]) -> None:
        pytest.skip("no logo, and tests never reach the network")


def test_the_block_returns_domain_settings_and_one_breaker_per_configuration() -> None:
    block = CircuitBreakerBlock(failure_threshold=2, open_timeout_s=3, half_open_probes=2, counted_errors=["timeout"])
    settings = block.settings()
    assert (settings.failure_threshold, settings.open_timeout_s, settings.successes_to_close) == (2, 3.0, 2)
    assert settings.counted_errors == frozenset({"timeout"})
    breaker = block.breaker()
    assert isinstance(breaker.store, FileStore)  # no Redis: the data directory's store
    assert CircuitBreakerBlock(failure_threshold=2, open_timeout_s=3, half_open_probes=2,
                               counted_errors=["timeout"]).breaker() is breaker
    assert CircuitBreakerBlock(failure_threshold=3).breaker() is not breaker


def test_from_env_reads_the_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEDGEFLOW_REDIS_URL", raising=False)
    assert CircuitBreakerBlock.from_env().redis_url is None
    monkeypatch.setenv("HEDGEFLOW_REDIS_URL", "redis://127.0.0.1:6379/3")
    url = CircuitBreakerBlock.from_env().redis_url
    assert isinstance(url, SecretStr) and url.get_secret_value() == "redis://127.0.0.1:6379/3"


def test_an_unreachable_redis_gives_an_in_process_breaker(caplog: pytest.LogCaptureFixture) -> None:
    block = CircuitBreakerBlock(redis_url=SecretStr("redis://127.0.0.1:1"), failure_threshold=7)
    assert isinstance(block.breaker().store, MemoryStore)
    assert "in this process only" in caplog.text and not isinstance(block.breaker().store, RedisStore)


def test_a_burst_with_a_few_faults_stays_closed_and_an_outage_opens(clock: Clock) -> None:
    """38 calls in flight at once: 8 transient faults (21%) are not an outage; 19 (50%) are."""
    breaker, _ = make(clock, failure_threshold=5, failure_window_s=30, failure_rate=0.5)
    permits = [breaker.acquire(KEY) for _ in range(38)]
    for permit in permits[:8]:
        permit.failure("500")
    assert breaker.state(KEY).state == "closed"
    for permit in permits[8:18]:
        permit.failure("500")
    assert breaker.state(KEY).state == "closed"  # 18 of 38
    permits[18].failure("500")
    assert breaker.state(KEY).state == "open"  # 19 of 38


def test_rate_zero_means_the_threshold_alone(clock: Clock) -> None:
    breaker, _ = make(clock, failure_threshold=5, failure_window_s=30, failure_rate=0.0)
    permits = [breaker.acquire(KEY) for _ in range(38)]
    for permit in permits[:5]:
        permit.failure("500")
    assert breaker.state(KEY).state == "open"
