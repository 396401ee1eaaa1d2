"""Task caching across runs, processes and tiers (issue 6)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hedgeflow.schemas import RunResult
from tests.fakes import FakeServer, fake_model, fake_model_server  # noqa: F401 - fixtures
from tests.flowkit import on_session_server, run_flow

ROOT = Path(__file__).resolve().parents[1]
END = dt.date(2025, 10, 8)
FEW = ["technicals", "fundamentals", "valuation"]


def _model(server: FakeServer) -> str:
    return f"openai-compatible:fake@{server.url}/v1"


def _run(**params: object) -> RunResult:
    from flows.hedge_fund import hedge_fund

    return run_flow(hedge_fund, end=END, persist=False, **params)


def test_second_identical_run_is_all_cached(cold_cache: None, fake_model: FakeServer) -> None:
    first = _run(tickers=["AAPL", "NVDA"], analysts=FEW, model=_model(fake_model))
    assert first.cache.hits == 0 and first.cache.lookups == 2 * 1 + 2 * 3  # a snapshot per ticker, the analysts
    calls = fake_model.counters()["calls"]
    second = _run(tickers=["AAPL", "NVDA"], analysts=FEW, model=_model(fake_model))
    assert second.cache.hit_rate == 1.0 and second.cache.memory_hits == second.cache.lookups
    assert fake_model.counters()["calls"] == calls  # no new model call, the portfolio manager's included
    assert [s.model_dump(exclude={"elapsed_s", "usage"}) for s in second.signals] == [
        s.model_dump(exclude={"elapsed_s", "usage"}) for s in first.signals
    ]
    assert second.usage.calls == 0 and second.cache_savings.calls == first.usage.calls  # issue 17 row 8


def test_refresh_recomputes(cold_cache: None) -> None:
    _run(tickers=["V"], analysts=FEW)
    again = _run(tickers=["V"], analysts=FEW, refresh=True)
    assert again.cache.hits == 0


def test_the_storage_tier_serves_a_fresh_process_memory(cold_cache: None) -> None:
    from blocks.cache import MEMORY

    _run(tickers=["V"], analysts=FEW)
    MEMORY.clear()  # as a new worker would start
    again = _run(tickers=["V"], analysts=FEW)
    assert again.cache.hit_rate == 1.0 and again.cache.storage_hits == again.cache.lookups


def test_a_model_change_recomputes_only_the_analysts(cold_cache: None, fake_model: FakeServer) -> None:
    _run(tickers=["AAPL"], analysts=FEW)
    switched = _run(tickers=["AAPL"], analysts=FEW, model=_model(fake_model))
    assert switched.cache.hits == 1  # the snapshot; no analyst
    assert all(s.source == "model" for s in switched.signals)


def test_an_analyst_code_change_recomputes_only_that_analyst(
    cold_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hedgeflow.analysts import registry

    _run(tickers=["AAPL"], analysts=FEW)
    original = registry.analyst_version
    monkeypatch.setattr("tasks.caching.analyst_version",
                        lambda key: "edited-code" if key == "valuation" else original(key))
    again = _run(tickers=["AAPL"], analysts=FEW)
    assert again.cache.lookups - again.cache.hits == 1


def test_precompute_warms_the_default_window(cold_cache: None, fake_model: FakeServer) -> None:
    import asyncio

    from flows.precompute import precompute

    model = _model(fake_model)
    asyncio.run(precompute(tickers=["AAPL", "NVDA"], model=model))
    analyst_calls = fake_model.counters()["calls"]
    assert analyst_calls == 2 * 19
    from flows.hedge_fund import hedge_fund

    result: RunResult = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], model=model, persist=False)
    assert result.cache.hit_rate >= 0.8
    assert fake_model.counters()["calls"] == analyst_calls + 1  # the portfolio manager only


def test_an_expired_dataset_is_fetched_again_alone(cold_cache: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot is one task run, but each dataset keeps its own cache entry: with the snapshot and
    one dataset's entry gone (as when it expires), a refetch asks the provider for that dataset only."""
    import tasks.fetch
    from blocks.cache import MEMORY
    from hedgeflow.paths import home

    _run(tickers=["V"], analysts=FEW)
    asked: list[str] = []
    real = tasks.fetch.fetch_named

    def counting(provider: str, dataset: str, *args: object) -> object:
        asked.append(dataset)
        return real(provider, dataset, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(tasks.fetch, "fetch_named", counting)
    for path in (home() / "results").glob("V-*"):
        if "-snapshot-" in path.name or "-fetch-news-" in path.name:
            path.unlink()
    MEMORY.clear()
    again = _run(tickers=["V"], analysts=FEW)
    assert asked == ["news"]
    assert again.cache.hits == again.cache.lookups - 1  # the snapshot recomputed; every analyst cached


def test_unreachable_redis_says_so_and_uses_the_local_tier(tmp_path: Path) -> None:
    from blocks.cache import HedgeflowCache

    backend = HedgeflowCache(redis_url="redis://127.0.0.1:1", local_path=str(tmp_path)).backend()
    assert backend.tier == "local"
    assert backend.notice and "unreachable" in backend.notice and "local tier" in backend.notice


def _cli(home: Path, *args: str, redis: str | None = None) -> subprocess.Popen[str]:
    """``hedgeflow analyze`` in its own process, on the session's Prefect server (needs ``prefect_server``)."""
    env = {**os.environ, "HEDGEFLOW_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           **on_session_server()}
    env.pop("HEDGEFLOW_REDIS_URL", None)
    if redis:
        env["HEDGEFLOW_REDIS_URL"] = redis
    return subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "analyze", "--end", "2025-10-08", "--json", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _result(process: subprocess.Popen[str]) -> dict[str, object]:
    try:
        out, err = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        process.kill()  # never leave a process behind
        process.communicate()
        raise
    assert process.returncode == 0, err[-3000:]
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.slow
def test_without_redis_a_second_process_reuses_local_results(tmp_path: Path, prefect_server: None) -> None:
    args = ("--tickers", "TSLA", "--analysts", ",".join(FEW))
    first = _result(_cli(tmp_path, *args))
    second = _result(_cli(tmp_path, *args))
    assert first["cache"]["hits"] == 0  # type: ignore[index]
    assert second["cache"]["hits"] == second["cache"]["lookups"] == 4  # type: ignore[index]  # snapshot, 3 analysts


@pytest.fixture
def slow_model(fake_model: FakeServer) -> Iterator[FakeServer]:
    fake_model.mode(latency=1.5)
    yield fake_model
    fake_model.mode(latency=0.0)


@pytest.mark.slow
@pytest.mark.redis
def test_with_redis_two_processes_make_each_model_call_once(
    tmp_path: Path, redis_url: str, slow_model: FakeServer, prefect_server: None
) -> None:
    from pydantic import SecretStr

    from blocks.cache import HedgeflowCache
    from tasks.caching import clear_cache

    clear_cache("GOOGL", HedgeflowCache(redis_url=SecretStr(redis_url)))
    args = ("--tickers", "GOOGL", "--analysts", ",".join(FEW), "--model", _model(slow_model))
    with ThreadPoolExecutor(2) as pool:
        processes = [_cli(tmp_path / name, *args, redis=redis_url) for name in ("a", "b")]
        results = list(pool.map(_result, processes))
    counters = slow_model.counters()
    assert counters["by_path"]["/v1/chat/completions"] == len(FEW) + 1  # each analyst and the portfolio manager once
    signals = [[(s["analyst"], s["signal"], s["confidence"]) for s in r["signals"]] for r in results]  # type: ignore[index, union-attr]
    assert signals[0] == signals[1]
