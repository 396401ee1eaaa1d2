"""Provider limits shared by workers: the helper every model call and fetch goes through, and a small load test.

``tasks/limits.py`` against a real Prefect test server (the limits are
Prefect global concurrency limits); then ``bench/load.py`` at a small size: 4
runs over pairs that all share AAPL, on 2 ``hedgeflow worker``s, a PostgreSQL-backed
Prefect server in a throw-away database, an in-flight limit of 2 and a rate
of 240 model requests per minute, measured at the fake model server's wire.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from bench.load import busiest_window
from hedgeflow.llm.base import ModelReply, ModelRequest
from hedgeflow.schemas import ModelUsage

T = TypeVar("T", bound=BaseModel)


class Answer(BaseModel):
    text: str


class EchoClient:
    """A ModelClient that records, at the call, how many calls are open at once."""

    def __init__(self, provider: str, hold_s: float = 0.0) -> None:
        self.provider, self.model, self.hold_s = provider, "echo", hold_s
        self.open = self.peak = self.calls = 0
        self.lock = threading.Lock()

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        with self.lock:
            self.open += 1
            self.calls += 1
            self.peak = max(self.peak, self.open)
        time.sleep(self.hold_s)
        with self.lock:
            self.open -= 1
        return ModelReply(output=output_type.model_validate({"text": request.user}), usage=ModelUsage())


REQUEST = ModelRequest(system="s", user="u", name="answer")


def at_once(client: Any, calls: int, timeout_s: float = 120) -> None:
    """``calls`` requests, each on its own thread, all started before any is waited for."""
    threads = [threading.Thread(target=client.complete, args=(REQUEST, Answer)) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s)


@pytest.fixture
def provider(prefect_server: None) -> Iterator[str]:
    """A provider name of this test alone; its limits are deleted afterwards."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from blocks.limits import in_flight_limit_name, rate_limit_name
    from tasks.limits import forget_limits

    name = f"test-{secrets.token_hex(4)}"
    forget_limits()
    yield name
    forget_limits()
    with get_client(sync_client=True) as client:
        for limit in (in_flight_limit_name(name), rate_limit_name(name)):
            with contextlib.suppress(ObjectNotFound):  # the test may not have created it
                client.delete_global_concurrency_limit_by_name(limit)


def _apply(provider: str, in_flight: int, rpm: float) -> None:
    from blocks.limits import ProviderLimit
    from deployments.limits import apply_limits
    from tasks.limits import forget_limits

    apply_limits([ProviderLimit(provider=provider, requests_per_minute=rpm, in_flight=in_flight)])
    forget_limits()


def test_without_a_server_a_call_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tasks.limits import existing_limits, forget_limits, limited, provider_limits

    client = EchoClient("openai")
    forget_limits()
    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert existing_limits() == frozenset()
        assert limited(client) is client  # nothing wraps it, nothing is asked per call
        with provider_limits("openai"):
            pass


def test_a_provider_without_limits_on_the_server_is_not_wrapped(provider: str) -> None:
    from tasks.limits import existing_limits, limited

    client = EchoClient(provider)
    assert limited(client) is client
    assert not any(provider in name for name in existing_limits())


def test_a_call_holds_an_in_flight_slot_and_gives_it_back(provider: str) -> None:
    from prefect.client.orchestration import get_client

    from blocks.limits import in_flight_limit_name
    from tasks.limits import LimitedClient, limited

    _apply(provider, in_flight=3, rpm=6000)
    client = limited(EchoClient(provider))
    assert isinstance(client, LimitedClient)

    def active() -> int:
        with get_client(sync_client=True) as api:
            return api.read_global_concurrency_limit_by_name(in_flight_limit_name(provider)).active_slots

    seen: list[int] = []

    class Probe(EchoClient):
        def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
            seen.append(active())  # read on the server while this call is open
            return super().complete(request, output_type)

    reply = LimitedClient(Probe(provider)).complete(REQUEST, Answer)
    assert reply.output == Answer(text="u")
    assert seen == [1] and active() == 0


def test_an_in_flight_limit_of_one_keeps_threads_from_overlapping(provider: str) -> None:
    from tasks.limits import limited

    _apply(provider, in_flight=1, rpm=60_000)
    inner = EchoClient(provider, hold_s=0.3)
    client = limited(inner)
    at_once(client, 4)
    assert inner.calls == 4 and inner.peak == 1  # without the limit four 0.3 s sleeps overlap


def test_a_process_asks_the_server_for_no_more_slots_than_the_limit_has(provider: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve calls at once against an in-flight limit of 2: at most 2 of them ever wait on the server.

    Prefect's own ``concurrency`` runs; the wrapper only counts the callers inside it (asking or holding).
    """
    import tasks.limits
    from tasks.limits import limited

    real = tasks.limits.concurrency
    inside, peak, lock = [0], [0], threading.Lock()

    @contextlib.contextmanager
    def counted(name: str) -> Iterator[None]:
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        try:
            with real(name):
                yield
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(tasks.limits, "concurrency", counted)
    _apply(provider, in_flight=2, rpm=60_000)
    inner = EchoClient(provider, hold_s=0.2)
    client = limited(inner)
    at_once(client, 12)
    assert inner.calls == 12 and inner.peak <= 2
    assert peak[0] == 2  # without the process's gate all twelve wait on the server at once


def test_a_rate_limit_spaces_calls(provider: str) -> None:
    from tasks.limits import limited

    _apply(provider, in_flight=100, rpm=600)  # one slot, freed 0.1 s after it is taken
    inner = EchoClient(provider)
    client = limited(inner)
    began = time.monotonic()
    for _ in range(6):
        client.complete(REQUEST, Answer)
    # six calls need at least five gaps of 60 / 600 s: 0.5 s, however fast the calls themselves are
    assert time.monotonic() - began >= 0.5 and inner.calls == 6


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), max_size=40),
       st.floats(min_value=0.01, max_value=50))
def test_busiest_window_is_the_most_times_in_any_window(times: list[float], window_s: float) -> None:
    # brute force: every window worth checking starts at one of the times
    brute = max((sum(1 for u in times if t <= u < t + window_s) for t in times), default=0)
    assert busiest_window(times, window_s) == brute


def test_busiest_window_by_hand() -> None:
    # [0, 1) holds 0, 0.5, 0.9; [0.5, 1.5) 0.5, 0.9, 1.0; [1.0, 2.0) 1.0, 1.6, 1.9: three at most, never four
    assert busiest_window([0, 0.5, 0.9, 1.0, 1.6, 1.9], 1.0) == 3
    assert busiest_window([0, 0.5, 0.9, 1.0, 1.6, 1.9], 1.01) == 4  # [0, 1.01) reaches 1.0
    assert busiest_window([], 60) == 0


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_four_runs_on_two_workers_share_the_cache_and_never_pass_a_limit(postgres_url: str) -> None:
    from bench.load import run_load

    analysts = ["warren_buffett", "technicals", "valuation", "sentiment"]
    report = run_load(4, 2, in_flight=2, rpm=240, data_in_flight=2, analysts=analysts, model_latency=0.3,
                      timeout_s=1200)
    assert report["completed"] == 4, report
    # the pairs (AAPL, x) for four others (AAPL in every run): 5 tickers x 4 analysts + 4 portfolio calls, each once
    assert report["unique_model_keys"] == 5 * 4 + 4
    assert report["model_calls"] == report["unique_model_keys"], report
    assert report["peak_model_in_flight"] <= 2 and report["peak_data_in_flight"] <= 2, report
    # the rate: one slot freed 0.25 s after it is taken, so at most 1 + 5 x 4 grants in any 5 s, and one more
    # request whose grant fell just before the window but reached the wire just inside it
    assert report["busiest_5s_model_requests"] <= 2 + 5 * 4, report
    assert report["limits_respected"], report
