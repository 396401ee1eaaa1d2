"""The progress artifact ends at the final count, whatever order concurrent updates would land in."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import pytest


class SlowEarlyUpdates:
    """Stands in for the artifact API: a request for a lower count takes longer to land.

    Two requests in flight at once would then land out of order (the final
    count first, an older one after it), which is how the artifact got stuck
    at "109 of 133". ``landed`` is what the artifact showed after each request.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.landed: list[tuple[float, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, artifact_id: uuid.UUID, progress: float, description: str = "") -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.002 * (100.0 - progress))  # 0.2 s for 0 %, nothing for 100 %
        self.landed.append((progress, description))
        self.in_flight -= 1


def run_steps(total: int, every_s: float, monkeypatch: pytest.MonkeyPatch, share: float = 0.0) -> SlowEarlyUpdates:
    from tasks import progress as module

    monkeypatch.setattr(module, "UPDATE_EVERY_S", every_s)
    monkeypatch.setattr(module, "UPDATE_EVERY_SHARE", share)
    api = SlowEarlyUpdates(total)

    async def main() -> None:
        progress = module.Progress(total, update=api)
        progress._artifact = uuid.uuid4()  # as start() leaves it, without a server
        progress._sent = 0

        async def analyst(i: int) -> None:
            await asyncio.sleep(0.001 * (i % 7))  # finish in a jumbled order
            await progress.step()

        await asyncio.gather(*(analyst(i) for i in range(total)))

    asyncio.run(main())
    return api


@pytest.mark.parametrize("every_s", [0.0, 0.01])
def test_the_final_count_lands_last(every_s: float, monkeypatch: pytest.MonkeyPatch) -> None:
    api = run_steps(38, every_s, monkeypatch)
    assert api.landed[-1] == (100.0, "38 of 38 analysts finished")
    assert api.most_in_flight == 1, "one request at a time"
    shown = [p for p, _ in api.landed]
    assert shown == sorted(shown), "the artifact never goes backwards"


def test_the_artifact_moves_in_tenths_not_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """38 analysts, a tenth is 3.8: an update needs 4 more finished than the last one sent, so at most
    38 / 4 = 9.5 of them, plus the final one; the bar still ends at 100 %."""
    api = run_steps(38, 0.0, monkeypatch, share=0.1)
    assert 2 <= len(api.landed) <= 10
    assert api.landed[-1] == (100.0, "38 of 38 analysts finished")
    shown = [progress for progress, _ in api.landed]
    assert shown == sorted(shown) and all(b - a >= 100 * 4 / 38 - 1e-9 for a, b in itertools.pairwise(shown[:-1]))


def test_listeners_see_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks import progress as module

    seen: list[tuple[int, int]] = []
    module.add_listener(lambda done, total, ticker: seen.append((done, total)))
    try:
        run_steps(5, 0.0, monkeypatch)
    finally:
        module._LISTENERS.clear()
    assert seen == [(i, 5) for i in range(1, 6)]


def test_a_server_error_on_an_update_stops_the_updates_not_the_run(monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A busy Prefect server answered 500 to a progress update and a load-test run failed on it: no longer."""
    import httpx
    from prefect.exceptions import PrefectHTTPStatusError

    from tasks import progress as module

    monkeypatch.setattr(module, "UPDATE_EVERY_S", 0.0)
    monkeypatch.setattr(module, "UPDATE_EVERY_SHARE", 0.0)
    calls: list[float] = []

    async def busy_server(artifact_id: uuid.UUID, progress: float, description: str = "") -> None:
        calls.append(progress)
        if len(calls) == 2:
            request = httpx.Request("PATCH", f"http://127.0.0.1/api/artifacts/{artifact_id}")
            response = httpx.Response(500, request=request, json={"exception_message": "Internal Server Error"})
            raise PrefectHTTPStatusError.from_httpx_error(
                httpx.HTTPStatusError("Server error '500 Internal Server Error'", request=request, response=response))

    seen: list[int] = []
    module.add_listener(lambda done, total, ticker: seen.append(done))

    async def main() -> None:
        progress = module.Progress(10, update=busy_server)
        progress._artifact = uuid.uuid4()  # as start() leaves it, without a server
        progress._sent = 0
        for _ in range(10):
            await progress.step()

    try:
        asyncio.run(main())
    finally:
        module._LISTENERS.clear()
    assert calls == [10.0, 20.0]  # the first landed, the second failed, and none was tried after it
    assert seen == list(range(1, 11))  # the CLI's bar still hears every step
    said = [r.getMessage() for r in caplog.records if "progress artifact" in r.getMessage()]
    assert len(said) == 1  # once, not at every later step
    assert said[0].startswith("progress artifact not updated (the run goes on): Server error '500 Internal")


def test_the_artifact_on_a_server_reads_100_percent(prefect_server: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a real flow run on the test server: 133 steps (7 tickers x 19 analysts) end at 100 %."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    from tasks import progress as module

    monkeypatch.setattr(module, "UPDATE_EVERY_S", 0.0)  # every step an update: the most chances to reorder
    monkeypatch.setattr(module, "UPDATE_EVERY_SHARE", 0.0)

    @flow
    async def steps() -> str:
        progress = module.Progress(133)
        await progress.start()
        await asyncio.gather(*(progress.step() for _ in range(133)))
        return str(flow_run.id)

    run_id = asyncio.run(steps())

    async def read() -> Any:
        from prefect.client.schemas.filters import (
            ArtifactFilter,
            ArtifactFilterFlowRunId,
        )

        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[uuid.UUID(run_id)]))
            )
        return next(a for a in found if a.type == "progress")

    artifact = asyncio.run(read())
    assert artifact.data == 100.0
    assert artifact.description == "133 of 133 analysts finished"
