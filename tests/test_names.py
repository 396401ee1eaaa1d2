"""Names a user reads in the UI: flow runs, the signals artifact, the result-storage block."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest

BUNDLE_END = dt.date(2025, 10, 8)  # the last price date of the bundled data (hedgeflow/data/bundled/PROVENANCE.md)


def test_generated_names_are_recognised_and_typed_ones_are_not() -> None:
    from prefect.utilities.names import generate_slug

    from flows.naming import is_generated

    assert all(is_generated(generate_slug(2)) for _ in range(500)), "the API's, the CLI's and the scheduler's"
    # the UI run form's: a Greek letter (maybe a number), a constellation, maybe a suffix
    for name in ("gamma3-centauri-nebula", "alpha-andromedae", "omega42-canis-majoris-void"):
        assert is_generated(name), name
    for name in ("my-run", "AAPL before earnings", "rebalance-friday", "nightly", "weekly-check"):
        assert not is_generated(name), name


def named_run(flow: Any, name: str | None, **parameters: Any) -> str:
    """Create a flow run (named ``name``, or by the API) as a deployment trigger would, run it; its final name."""
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow_async

    async def main() -> str:
        async with get_client() as client:
            run = await client.create_flow_run(flow, name=name, parameters=parameters)
            await run_flow_async(flow, flow_run=run, parameters=parameters, return_type="state")
            return (await client.read_flow_run(run.id)).name

    return asyncio.run(main())


def probe_flow(name_fn: Any) -> Any:
    """A flow with the analyze parameters the run name reads, named by ``name_fn``, doing nothing."""
    from prefect import flow

    @flow(name="naming-probe", flow_run_name=name_fn)
    def probe(tickers: list[str], end: dt.date | None = None, model: str = "rules",
              data_provider: str = "offline") -> None:
        return None

    return probe


def test_analyze_runs_name_the_as_of_date(prefect_server: None) -> None:
    from flows.hedge_fund import run_name

    probe = probe_flow(run_name)
    assert named_run(probe, None, tickers=["AAPL", "NVDA"]) == f"AAPL,NVDA as of {BUNDLE_END} (rules)"
    assert named_run(probe, None, tickers=["AAPL"], end="2024-06-28", model="openai:gpt-4o") == (
        "AAPL as of 2024-06-28 (openai:gpt-4o)"
    )


def test_a_typed_run_name_is_kept(prefect_server: None) -> None:
    from flows.hedge_fund import run_name

    probe = probe_flow(run_name)
    assert named_run(probe, "AAPL before earnings", tickers=["AAPL"]) == "AAPL before earnings"
    assert named_run(probe, "gamma3-centauri-nebula", tickers=["AAPL"]) == f"AAPL as of {BUNDLE_END} (rules)"


def test_precompute_runs_say_what_they_warm(prefect_server: None) -> None:
    from prefect import flow

    from flows.precompute import run_name

    @flow(name="naming-probe-warm", flow_run_name=run_name)
    def probe(tickers: list[str] | None = None, model: str = "rules") -> None:
        return None

    assert named_run(probe, None) == "warm the popular tickers (rules)"
    assert named_run(probe, None, tickers=["AAPL", "TSLA"]) == "warm AAPL,TSLA (rules)"
    assert named_run(probe, "warm-up after deploy") == "warm-up after deploy"


def test_the_signals_artifact_description_names_the_run_not_its_id() -> None:
    from hedgeflow.schemas import RunRequest, RunResult
    from tasks.report import signals_description

    run_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.timezone.utc)
    result = RunResult(run_id=run_id, request=RunRequest(tickers=["AAPL", "NVDA"]), started_at=now,
                       finished_at=now, start=dt.date(2025, 7, 9), end=BUNDLE_END)
    text = signals_description(result)
    assert text == "Every analyst's signal for AAPL, NVDA, 2025-07-09 to 2025-10-08, model rules"
    assert run_id not in text


def test_a_process_reads_the_saved_result_storage_and_rewrites_one_that_differs(
    cold_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every process needs the same saved document: one that is as wanted is read (not written again, so its
    update time stays), one edited to point elsewhere is written back, and either way the run's storage
    carries the server's document id, which Prefect's result records name."""
    from prefect.client.orchestration import get_client

    import tasks.caching as caching
    from blocks.cache import TieredResultStorage

    first = asyncio.run(caching.cache_backend())
    name = caching.result_storage_name(first)
    wanted = first.result_storage.local_path

    async def document() -> Any:
        async with get_client() as client:
            return await client.read_block_document_by_name(name, TieredResultStorage.get_block_type_slug())

    saved = asyncio.run(document())
    monkeypatch.setattr(caching, "_BACKENDS", {})  # a new process
    again = asyncio.run(caching.cache_backend())
    assert again.result_storage._block_document_id == saved.id
    assert asyncio.run(document()).updated == saved.updated  # read, not written

    asyncio.run(TieredResultStorage(local_path="/somewhere/else").asave(name, overwrite=True))
    monkeypatch.setattr(caching, "_BACKENDS", {})
    repaired = asyncio.run(caching.cache_backend())
    assert repaired.result_storage.local_path == wanted
    assert asyncio.run(document()).data["local_path"] == wanted
    assert repaired.result_storage._block_document_id == saved.id


def test_the_result_storage_block_says_what_it_is(cold_cache: None) -> None:
    from prefect.client.orchestration import get_client

    from blocks.cache import TieredResultStorage
    from tasks.caching import cache_backend, result_storage_name

    backend = asyncio.run(cache_backend())
    name = result_storage_name(backend)
    assert name.startswith("hedgeflow-task-results-local-") and len(name) == len("hedgeflow-task-results-local-") + 8
    assert "cached task results" in TieredResultStorage.get_description()

    async def saved() -> Any:
        async with get_client() as client:
            return await client.read_block_document_by_name(name, TieredResultStorage.get_block_type_slug())

    document = asyncio.run(saved())
    assert document.name == name
    assert document.block_type.description == TieredResultStorage.get_description()
