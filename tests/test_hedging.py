"""Hedged requests against the real fake model server: the real OpenAI SDK over loopback HTTP.

Each test queues the fake's faults for its next requests (``mode(next=[...])``):
the first request gets the first fault, the hedge the next. The fake records a
request whose client hung up before the answer with status 499 and no tokens,
so "the loser was cancelled" and "cost counted once" are read from the server.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hedgeflow.breaker import BreakerSettings, CircuitBreaker, MemoryStore
from hedgeflow.llm import (
    AnalystAnswer,
    FallbackClient,
    ModelAPIError,
    ModelConfig,
    ModelError,
    ModelTimeoutError,
    RulesClient,
    analyst_request,
    make_client,
)
from hedgeflow.llm.hedging import Hedgeable, HedgedClient, HedgeSettings
from tests.fakes import FAKE_KEY, FakeServer, start
from tests.test_llm_fallback import ANALYSIS, RULES

PERSONA = "You are a valuation analyst."
FAST = HedgeSettings(multiple=2.0, floor_s=0.2, min_samples=3)  # hedge after max(0.2 s, 2 x median)
_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    from bench.fake_model import create_app

    fake = start(create_app(latency=0.02, hang_s=60.0))  # a hung request outlives every test
    yield fake
    fake.stop()


@pytest.fixture
def fake(server: FakeServer) -> FakeServer:
    server.reset()
    server.mode(latency=0.02)
    return server


def vendor(fake: FakeServer, read_timeout_s: float = 20.0) -> Hedgeable:
    """A fresh OpenAI-compatible client (its own latency history) on the fake."""
    config = ModelConfig(provider="openai-compatible", model=f"hedge-{next(_names)}", base_url=f"{fake.url}/v1",
                         read_timeout_s=read_timeout_s)
    client = make_client(config, FAKE_KEY)
    assert isinstance(client, Hedgeable)
    return client


def warmed(fake: FakeServer, settings: HedgeSettings = FAST, **kwargs: Any) -> HedgedClient:
    """A hedged client that has seen ``min_samples`` answers, so slowness may start a hedge."""
    client = HedgedClient(vendor(fake), settings, **kwargs)
    for _ in range(settings.min_samples):
        client.complete(REQUEST, AnalystAnswer)
    fake.reset()
    return client


REQUEST = analyst_request(PERSONA, "valuation", ANALYSIS, RULES)


def statuses(fake: FakeServer, expected: dict[str, int], wait_s: float = 10.0) -> dict[str, int]:
    """The fake's answers by status, once they reach ``expected`` (a hang-up is seen a moment after it)."""
    deadline = time.monotonic() + wait_s
    while True:
        seen: dict[str, int] = fake.counters()["by_status"]
        if seen == expected or time.monotonic() > deadline:
            return seen
        time.sleep(0.02)


def test_a_hung_request_is_beaten_by_its_hedge_and_closed(fake: FakeServer) -> None:
    client = warmed(fake)
    fake.mode(next=["timeout"])  # the first request hangs 60 s; the read timeout is 20 s
    reply = client.complete(REQUEST, AnalystAnswer)
    assert reply.source == "model" and reply.output.signal == RULES.signal  # the fake echoes the rules signal
    # the hung request was closed by the client (499), not left running to its timeout
    assert statuses(fake, {"200": 1, "499": 1}) == {"200": 1, "499": 1}
    counters = fake.counters()
    # cost once: the tokens of the one answer sent, one call billed
    assert reply.usage.calls == 1
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (counters["input_tokens"], counters["output_tokens"])


def test_no_hedge_for_slowness_before_enough_answers(fake: FakeServer) -> None:
    causes: list[ModelError | None] = []

    def ask(cause: ModelError | None) -> bool:
        causes.append(cause)
        return True

    client = HedgedClient(vendor(fake, read_timeout_s=1.0), FAST, may_hedge=ask)  # no answer seen yet
    fake.mode(next=["timeout"])
    assert client.complete(REQUEST, AnalystAnswer).source == "model"
    # no hedge while it was only slow: the one hedge came when its read timeout failed it
    assert len(causes) == 1 and isinstance(causes[0], ModelTimeoutError)
    assert statuses(fake, {"499": 1, "200": 1}) == {"499": 1, "200": 1}


def test_a_failing_request_is_hedged_at_once_and_the_hedge_answers(fake: FakeServer) -> None:
    client = HedgedClient(vendor(fake), FAST)  # no samples needed: a failure is no guess about slowness
    fake.mode(next=["server_error"])
    reply = client.complete(REQUEST, AnalystAnswer)
    assert reply.source == "model"
    assert statuses(fake, {"500": 1, "200": 1}) == {"500": 1, "200": 1}
    assert reply.usage.calls == 1 and reply.usage.input_tokens == fake.counters()["input_tokens"]


def test_a_declined_hedge_is_not_sent(fake: FakeServer) -> None:
    asked: list[ModelError | None] = []

    def no_budget(cause: ModelError | None) -> bool:
        asked.append(cause)
        return False

    client = HedgedClient(vendor(fake), FAST, may_hedge=no_budget)
    fake.mode(next=["server_error"])
    with pytest.raises(ModelAPIError):
        client.complete(REQUEST, AnalystAnswer)
    assert len(asked) == 1 and isinstance(asked[0], ModelAPIError) and statuses(fake, {"500": 1}) == {"500": 1}


def test_hedging_off_sends_one_request(fake: FakeServer) -> None:
    client = HedgedClient(vendor(fake), HedgeSettings(enabled=False))
    fake.mode(next=["server_error"])
    with pytest.raises(ModelAPIError):
        client.complete(REQUEST, AnalystAnswer)
    assert statuses(fake, {"500": 1}) == {"500": 1}


def test_both_failing_take_the_ordinary_path_and_count_once_in_the_breaker(fake: FakeServer) -> None:
    settings = BreakerSettings(failure_threshold=2, failure_window_s=60, failure_rate=0.0, open_timeout_s=60)
    breaker = CircuitBreaker(settings, MemoryStore())
    hedged = HedgedClient(vendor(fake), FAST)
    key = (hedged.provider, hedged.model)
    retried = FallbackClient(hedged, RulesClient(), breaker, retry=lambda error: True)
    fake.mode(next=["server_error", "server_error"])
    with pytest.raises(ModelAPIError):  # the caller's retry gets the error, as without hedging
        retried.complete(REQUEST, AnalystAnswer)
    assert breaker.state(key).state == "closed"  # two failed requests, one counted failure (threshold 2)
    fake.mode(next=["server_error", "server_error"])
    degraded = FallbackClient(hedged, RulesClient(), breaker).complete(REQUEST, AnalystAnswer)
    assert degraded.source == "rules" and degraded.degraded_reason is not None  # no retry left: the rules answer
    assert breaker.state(key).state == "open"  # the second call's failure is the second counted
    assert fake.counters()["by_status"] == {"500": 4}


def test_the_rules_model_is_never_hedged() -> None:
    assert not isinstance(RulesClient(), Hedgeable)


def test_the_runs_setup_hedges_a_vendor_model_within_the_retry_budget(fake: FakeServer) -> None:
    from prefect.logging import disable_run_logger

    from blocks.models import OpenAIModel
    from hedgeflow.retry import RETRY
    from tasks.model_calls import ModelSetup, guarded_client

    assert isinstance(guarded_client(ModelSetup()), RulesClient)  # the rules model: nothing to guard or hedge
    assert not ModelSetup(block=OpenAIModel(model="m", hedge=False)).hedging().enabled  # the block turns it off
    setup = ModelSetup(model=f"openai-compatible:hedge-budget@{fake.url}/v1", hedge=FAST)
    client = guarded_client(setup)
    assert isinstance(client, FallbackClient) and isinstance(client.primary, HedgedClient)
    assert client.primary.settings == FAST
    for _ in range(RETRY.retries - 1):  # outside a task run the call is its first attempt
        setup.hedges.spend("")
    fake.mode(next=["server_error"])
    assert client.complete(REQUEST, AnalystAnswer).source == "model"  # the last retry left went to the hedge
    assert setup.hedges.spent("") == RETRY.retries
    fake.mode(next=["server_error"])
    with disable_run_logger():
        reply = client.complete(REQUEST, AnalystAnswer)
    assert reply.source == "rules" and reply.degraded_reason is not None  # budget spent: no hedge, no retry
    assert statuses(fake, {"500": 2, "200": 1}) == {"500": 2, "200": 1}
