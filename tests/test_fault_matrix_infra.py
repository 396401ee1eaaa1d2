"""The second fault matrix, infrastructure rows (issue 17: rows 1, 3, 4, 7, 10, 11).

Each test drives the real code against the fake servers at the wire
(tests/fakes.py) and the real Redis, and checks what docs/failures.md's
"Infrastructure" table promises: what the user sees, the exit code, what is kept.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from pydantic import BaseModel

from deployments.cli import main
from hedgeflow.breaker import BreakerKey, BreakerOpenError, BreakerSettings, CircuitBreaker, MemoryStore, RedisStore
from hedgeflow.llm.latency import LatencyTimeout
from tests.fakes import FAKE_KEY, FakeServer, fake_data, fake_data_server, fake_model, fake_model_server  # noqa: F401
from tests.flowkit import run_flow

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- row 11: input, one line, exit 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "nosuch:x"], "bad model spec 'nosuch:x'"),
        (["--analysts", "soros"], "unknown analyst(s) soros"),
        (["--tickers", "ZZZZ"], "unknown ticker(s) ZZZZ"),
        (["--analysts", ","], "--analysts names no analyst"),
        (["--cash", "inf"], "--cash inf is not a finite number"),
        (["--cash", "nan"], "--cash nan is not a finite number"),
        (["--model", "openai-compatible:m@http://127.0.0.1:99999/v1"], "the port must be 1-65535"),
        (["--model", "openai-compatible:m@http:///v1"], "the host is missing"),
    ],
)
def test_bad_input_with_financialdatasets_is_one_line_and_exit_2(
    argv: list[str], message: str, fake_data: FakeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FINANCIAL_DATASETS_API_KEY", FAKE_KEY)
    monkeypatch.setenv("FINANCIAL_DATASETS_BASE_URL", fake_data.url)
    base = ["analyze", "--data-provider", "financialdatasets", "--tickers", "AAPL"]
    assert main(base + argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:99999", "the port must be 1-65535"),
        ("http://127.0.0.1:0", "the port must be 1-65535"),
        ("ftp://example.com", "must start with http:// or https://"),
        ("http://", "the host is missing"),
        ("http://host:port", "the port must be 1-65535"),
    ],
)
def test_a_bad_data_base_url_is_one_line_and_exit_2(
    url: str, message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINANCIAL_DATASETS_API_KEY", FAKE_KEY)
    monkeypatch.setenv("FINANCIAL_DATASETS_BASE_URL", url)
    assert main(["analyze", "--data-provider", "financialdatasets", "--tickers", "AAPL"]) == 2
    err = capsys.readouterr().err
    assert "FINANCIAL_DATASETS_BASE_URL" in err and message in err, err
    assert len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- fetch keys follow the data layer's code


def test_fetch_cache_key_includes_the_data_layers_code_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.caching as caching
    from hedgeflow.cache_rules import data_version

    params = {"ticker": "AAPL", "dataset": "prices", "provider": "offline", "start": "2025-07-09", "end": "2025-10-08"}
    key = caching.fetch_cache_key(None, params)
    # the digest the key must carry, computed as tasks/caching._digest does, with data_version() last
    assert key == f"AAPL-fetch-prices-{caching._digest('offline', 'prices', '2025-07-09', '2025-10-08', data_version())}"
    monkeypatch.setattr(caching, "_data_version", lambda: "changed-code")
    caching._data_version_once.cache_clear()
    try:
        assert caching.fetch_cache_key(None, params) != key
    finally:
        caching._data_version_once.cache_clear()


# ---------------------------------------------------------------- row 4: hung calls must not open the breaker

KEY = BreakerKey("openai-compatible", "fake")


class Clock:
    """A clock the test moves by hand (epoch seconds)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_hung_calls_weighed_against_the_calls_beside_them_do_not_open_the_breaker() -> None:
    """The matrix's case: 38 calls at once, 30 answer in 2 s, 8 hang to the 60 s timeout (21 % failed)."""
    clock = Clock()
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=5, failure_window_s=30, failure_rate=0.5),
                             MemoryStore(clock))
    permits = [breaker.acquire(KEY) for _ in range(38)]
    clock.now += 2
    for permit in permits[:30]:
        permit.success()
    clock.now += 58  # the hung calls' failures land at their timeout, 60 s after they began
    for permit in permits[30:]:
        permit.failure("timeout")
    assert breaker.state(KEY).state == "closed"


def test_an_outage_of_hung_calls_still_opens_the_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=5, failure_window_s=30, failure_rate=0.5),
                             MemoryStore(clock))
    permits = [breaker.acquire(KEY) for _ in range(38)]
    clock.now += 60
    for permit in permits[:18]:
        permit.failure("timeout")
    assert breaker.state(KEY).state == "closed"  # 18 of the 38 calls made together
    permits[18].failure("timeout")
    assert breaker.state(KEY).state == "open"  # 19 of 38: half of them


@pytest.mark.redis
def test_hung_calls_do_not_open_the_breaker_on_redis(redis_url: str) -> None:
    """The same on Redis's clock, scaled down: a 0.5 s window, 16 answers at once, 4 calls failing after 0.8 s."""
    prefix = f"hedgeflow:breaker:test-{uuid.uuid4().hex[:12]}"
    try:
        store = RedisStore(redis_url, prefix=prefix, fail_open=False)
        breaker = CircuitBreaker(BreakerSettings(failure_threshold=3, failure_window_s=0.5, failure_rate=0.5), store)
        permits = [breaker.acquire(KEY) for _ in range(20)]
        for permit in permits[:16]:
            permit.success()
        time.sleep(0.8)
        for permit in permits[16:]:
            permit.failure("timeout")
        assert breaker.state(KEY).state == "closed"
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


def test_the_timeout_follows_the_providers_latency() -> None:
    """timeout = min(cap, max(floor, 5 x median)); the cap until 5 answers are seen (hedgeflow/llm/latency.py)."""
    timeouts = LatencyTimeout(cap_s=60.0)
    for _ in range(4):
        timeouts.observe(2.0)
    assert timeouts.timeout_s() == 60.0  # 4 answers: not enough to judge
    timeouts.observe(2.0)
    assert timeouts.timeout_s() == 10.0  # 5 x 2 s = 10 s, the floor
    for _ in range(50):
        timeouts.observe(4.0)
    assert timeouts.timeout_s() == 20.0  # the last 50 answers: median 4 s
    for _ in range(50):
        timeouts.observe(30.0)
    assert timeouts.timeout_s() == 60.0  # 150 s capped by the SDK's read timeout
    assert LatencyTimeout(cap_s=6.0).floor_s == 6.0  # a cap below the floor wins


def test_a_model_client_learns_the_latency_of_its_answers(fake_model: FakeServer) -> None:
    from hedgeflow.llm import ModelConfig, ModelRequest, make_client
    from hedgeflow.llm.client import clear_client_cache

    clear_client_cache()
    client = make_client(ModelConfig(provider="openai-compatible", model="fake", base_url=f"{fake_model.url}/v1"))
    request = ModelRequest(name="probe", system="You judge.", user="AAPL")
    for _ in range(5):
        client.complete(request, Verdict)
    assert client.timeouts.timeout_s() == 10.0  # the fake answers at once: the floor  # type: ignore[attr-defined]
    clear_client_cache()


class Verdict(BaseModel):
    signal: str
    confidence: float


# ---------------------------------------------------------------- row 7: a refused key stops the provider for the run


def test_a_refused_key_is_asked_once_and_every_other_call_falls_back_at_once(fake_model: FakeServer) -> None:
    from hedgeflow.llm import AUTH_REFUSED, AuthRefusals, FallbackClient, ModelConfig, ModelRequest, RulesClient
    from hedgeflow.llm.openai_client import OpenAIClient

    fake_model.mode(status=401)
    primary = OpenAIClient(ModelConfig(provider="openai-compatible", model="fake", base_url=f"{fake_model.url}/v1"),
                           "sk-wrong")
    told: list[str] = []
    refusals = AuthRefusals()
    clients = [FallbackClient(primary, RulesClient(), CircuitBreaker(), refusals=refusals, on_refused=told.append)
               for _ in range(5)]  # one per task, sharing the run's refusals
    request = ModelRequest(name="probe", system="You judge.", user="AAPL",
                           rules_answer={"signal": "neutral", "confidence": 50.0})
    replies = [client.complete(request, Verdict) for client in clients]
    assert fake_model.counters()["calls"] == 1
    assert all(AUTH_REFUSED in (r.degraded_reason or "") for r in replies)
    assert len(told) == 1 and "401" in told[0] and "sk-wrong" not in told[0]
    assert pickle.loads(pickle.dumps(refusals)).reason(primary.provider, primary.model) == refusals.reason(
        primary.provider, primary.model)


# ---------------------------------------------------------------- row 10: the breaker without Redis outlives the process

_OPEN_IT = """
from blocks.breaker import CircuitBreakerBlock
breaker = CircuitBreakerBlock(failure_threshold=2, failure_rate=0).breaker()
for _ in range(2):
    breaker.acquire(("openai-compatible", "fake")).failure("server_error: 500")
print(breaker.state(("openai-compatible", "fake")).state)
"""

_COUNT_IT = """
from blocks.breaker import CircuitBreakerBlock
breaker = CircuitBreakerBlock(failure_threshold=1000, failure_rate=0, failure_window_s=600).breaker()
for _ in range(25):
    breaker.acquire(("openai-compatible", "fake")).failure("server_error: 500")
"""


def _python(code: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HEDGEFLOW_HOME": str(home)}
    env.pop("HEDGEFLOW_REDIS_URL", None)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_an_open_breaker_without_redis_is_seen_by_the_next_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from blocks.breaker import CircuitBreakerBlock
    from hedgeflow.paths import home

    monkeypatch.delenv("HEDGEFLOW_REDIS_URL", raising=False)
    out, err = _python(_OPEN_IT, home()).communicate(timeout=120)
    assert out.strip() == "open", err
    breaker = CircuitBreakerBlock(failure_threshold=2, failure_rate=0).breaker()
    with pytest.raises(BreakerOpenError):
        breaker.acquire(("openai-compatible", "fake"))  # this process never saw a failure
    assert (home() / "breaker").is_dir()


def test_the_file_store_is_safe_across_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes recording 25 failures each at once: all 50 are counted (a lost update would drop some)."""
    from blocks.breaker import CircuitBreakerBlock
    from hedgeflow.paths import home

    monkeypatch.delenv("HEDGEFLOW_REDIS_URL", raising=False)
    runs = [_python(_COUNT_IT, home()) for _ in range(2)]
    for run in runs:
        assert run.wait(timeout=120) == 0, run.stderr.read() if run.stderr else ""
    breaker = CircuitBreakerBlock(failure_threshold=1000, failure_rate=0, failure_window_s=600).breaker()
    assert breaker.state(("openai-compatible", "fake")).failures == 50


# ---------------------------------------------------------------- row 1: a cold 7-ticker run on Redis


@pytest.mark.slow
@pytest.mark.redis
def test_a_cold_seven_ticker_run_with_redis_completes(
    redis_url: str, cold_cache: None, fake_model: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """133 analyst tasks in flight at once share the process's Redis pools (was: 33 MaxConnectionsError)."""
    from blocks.memory import MEMORY
    from flows.hedge_fund import hedge_fund
    from hedgeflow.data.catalogue import bundled_ranges
    from hedgeflow.request import PRICES_ONLY

    monkeypatch.setenv("HEDGEFLOW_REDIS_URL", redis_url)
    tickers = sorted(set(bundled_ranges()) - PRICES_ONLY)
    model = f"openai-compatible:fake-{uuid.uuid4().hex[:8]}@{fake_model.url}/v1"  # a model of its own: cold keys
    try:
        result = run_flow(hedge_fund, tickers=tickers, end=dt.date(2025, 10, 8), model=model, persist=False)
        assert len(tickers) == 7 and len(result.signals) == 7 * 19
        assert result.status == "completed" and not result.errors
        assert all(not s.degraded for s in result.signals)
    finally:  # this run's own keys only: the analyst and portfolio results of its unique model
        own = [Path(name).name for name in list(MEMORY._items) if "-analyst-" in name or "-portfolio-" in name]
        for db in (0, 1):
            client = redis.Redis.from_url(f"{redis_url.rstrip('/')}/{db}")
            if own:
                client.delete(*own)


# ---------------------------------------------------------------- row 3: a dead holder's locks, and its flow run

_HOLD = """
import sys, time
from blocks.locking import AtomicFileLockManager
from blocks.redis_locking import ExpiringRedisLockManager
kind, where, key = sys.argv[1:4]
if kind == "redis":
    manager = ExpiringRedisLockManager(connection_url=where)
else:
    from pathlib import Path
    manager = AtomicFileLockManager(lock_files_directory=Path(where))
assert manager.acquire_lock(key, holder="the-crashed-run")
print("held", flush=True)
time.sleep(600)
"""


def _hold_then_kill(kind: str, where: str, key: str) -> None:
    """A real process takes the lock, then dies by kill -9 (no cleanup of any kind runs)."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, kind, where, key], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held", holder.stderr
    finally:
        holder.kill()  # SIGKILL
        holder.wait(timeout=30)
    assert holder.returncode == -9


def test_a_file_lock_of_a_killed_process_is_freed_at_once(tmp_path: Path) -> None:
    from blocks.locking import LOCK_HOLD_S, AtomicFileLockManager

    key = f"AAPL-analyst-technicals-{uuid.uuid4().hex[:8]}"
    _hold_then_kill("file", str(tmp_path), key)
    manager = AtomicFileLockManager(lock_files_directory=tmp_path)
    assert manager.is_locked(key) is False  # its owner's pid is gone: the file was removed
    # the rerun takes it well before the dead lock would have expired
    assert manager.acquire_lock(key, holder="the-rerun", acquire_timeout=LOCK_HOLD_S / 10)
    manager.release_lock(key, holder="the-rerun")


@pytest.mark.redis
def test_a_redis_lock_of_a_killed_process_is_freed_at_once(redis_url: str) -> None:
    from blocks.locking import LOCK_HOLD_S
    from blocks.redis_locking import ExpiringRedisLockManager

    url = f"{redis_url.rstrip('/')}/2"
    key = f"fault-matrix-{uuid.uuid4().hex[:12]}"
    manager = ExpiringRedisLockManager(connection_url=url)
    name = manager._lock_name_for_key(key)
    try:
        _hold_then_kill("redis", url, key)
        assert manager.is_locked(key)  # Redis keeps it: only its owner's absence says it is dead
        assert manager.acquire_lock(key, holder="the-rerun", acquire_timeout=LOCK_HOLD_S / 10)
        manager.release_lock(key, holder="the-rerun")
    finally:
        manager.client.delete(name, f"{name}:owner")


def test_a_wait_for_a_live_holder_says_what_it_waits_for(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import blocks.locking as locking

    monkeypatch.setattr(locking, "WAIT_NOTICE_S", 0.0)
    manager = locking.AtomicFileLockManager(lock_files_directory=tmp_path)
    assert manager.acquire_lock("V-fetch-prices-1", holder="first")
    assert not manager.acquire_lock("V-fetch-prices-1", holder="second", acquire_timeout=0.3)
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting for")]
    assert waits == [f"waiting for V-fetch-prices-1, being computed by pid {os.getpid()} on {os.uname().nodename} "
                     f"(alive; its lock expires in at most {locking.LOCK_HOLD_S:.0f}s)"]


@pytest.mark.slow
def test_a_rerun_after_kill_9_does_not_stall_and_marks_the_dead_run_crashed(
    tmp_path: Path, fake_model: FakeServer
) -> None:
    """kill -9 of a running ``hedgeflow analyze``; the rerun takes the dead run's locks and marks its flow run Crashed."""
    import sqlite3

    from blocks.locking import LOCK_HOLD_S

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k != "HEDGEFLOW_REDIS_URL"}
    env.update(HEDGEFLOW_HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "prefect"),
               HEDGEFLOW_SERVER="ephemeral", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    argv = [str(Path(sys.executable).with_name("hedgeflow")), "analyze", "--tickers", "AAPL", "--end", "2025-10-08",
            "--analysts", "technicals,fundamentals", "--model", f"openai-compatible:fake@{fake_model.url}/v1", "--json"]
    fake_model.mode(latency=120.0)  # every model call outlives the run we kill
    first = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)  # its own group: the ephemeral server dies with it
    locks = tmp_path / "home" / "results" / ".locks"
    try:
        deadline = time.monotonic() + 180
        while not any("-analyst-" in p.name for p in locks.glob("*")) and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()[1][-2000:]
            time.sleep(0.2)
        assert any("-analyst-" in p.name for p in locks.glob("*"))
    finally:
        os.killpg(first.pid, 9)
        first.wait(timeout=30)
    fake_model.mode(latency=0.0)
    rerun = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=LOCK_HOLD_S * 0.8)  # a stall on the dead locks would last LOCK_HOLD_S
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "marked Crashed" in rerun.stderr
    (database,) = (tmp_path / "prefect").glob("*.db")
    with sqlite3.connect(database) as db:
        states = sorted(row[0] for row in db.execute("SELECT state_type FROM flow_run"))
    assert states == ["COMPLETED", "CRASHED"]


@pytest.mark.slow
def test_a_refused_key_is_said_once_and_analyze_exits_1(tmp_path: Path, fake_model: FakeServer) -> None:
    import json

    fake_model.mode(status=401)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API") and k != "HEDGEFLOW_REDIS_URL"}
    env.update(HEDGEFLOW_HOME=str(tmp_path), HEDGEFLOW_SERVER="ephemeral", OPENAI_COMPATIBLE_API_KEY="sk-wrong-key-123",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    run = subprocess.run(
        [str(Path(sys.executable).with_name("hedgeflow")), "analyze", "--tickers", "AAPL", "--end", "2025-10-08",
         "--analysts", "technicals,fundamentals,valuation", "--model", f"openai-compatible:fake@{fake_model.url}/v1",
         "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr[-3000:]
    assert run.stderr.count("refused the API key") == 1, run.stderr[-3000:]
    assert "sk-wrong-key-123" not in run.stderr + run.stdout
    result = json.loads(run.stdout)
    assert all(s["degraded"] and "refused the API key" in s["degraded_reason"] for s in result["signals"])
    assert fake_model.counters()["calls"] <= 3  # the analysts' calls already in flight; never the portfolio manager
