"""The real Anthropic and OpenAI SDKs against the fake model server: answers, repairs, errors, usage."""

from __future__ import annotations

import datetime as dt

import pytest

from hedgeflow.llm import (
    AnalystAnswer,
    ModelAPIError,
    ModelAuthError,
    ModelConfig,
    ModelConnectionError,
    ModelOutputError,
    ModelTimeoutError,
    cost_usd,
    make_client,
    model_orders,
    model_signal,
)
from hedgeflow.llm.client import ModelClient
from hedgeflow.llm.prompts import analyst_request
from hedgeflow.schemas import AgentSignal, Analysis, ModelUsage, Order, SubScore
from tests.fakes import FAKE_KEY, FakeServer, fake_model, fake_model_server  # noqa: F401

AS_OF = dt.date(2024, 6, 28)
ANALYSIS = Analysis(
    analyst="warren_buffett", ticker="AAPL", as_of=AS_OF,
    sub_scores=(SubScore(name="roe", score=0.62, details="ROE above 15%", figures={"roe": 0.2534}),
                SubScore(name="moat", score=None, details="no data: margins")),
)
RULES = AgentSignal(analyst="warren_buffett", ticker="AAPL", as_of=AS_OF, signal="bullish",
                    confidence=62.0, reasoning="rules")
PERSONA = "You are Warren Buffett. You buy wonderful businesses at fair prices."
PROVIDERS = ["anthropic", "openai"]


def client_for(server: FakeServer, provider: str, key: str = FAKE_KEY) -> ModelClient:
    model = "claude-haiku-4-5" if provider == "anthropic" else "gpt-4.1-mini"
    base = server.url if provider == "anthropic" else f"{server.url}/v1"
    return make_client(ModelConfig(provider=provider, model=model, base_url=base, read_timeout_s=1.0), key)  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_structured_answer_echoes_the_rules_signal(fake_model: FakeServer, provider: str) -> None:
    signal = model_signal(client_for(fake_model, provider), PERSONA, ANALYSIS, RULES)
    assert (signal.signal, signal.confidence, signal.source) == ("bullish", 62.0, "model")
    assert signal.reasoning == "echo of rules signal"
    assert signal.model.startswith(f"{provider}:") and signal.usage.calls == 1
    assert signal.usage.input_tokens > 0 and signal.usage.cost_usd > 0


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["malformed", "malformed_text"])
def test_malformed_answer_is_repaired(fake_model: FakeServer, provider: str, fault: str) -> None:
    fake_model.mode(next=[fault])
    signal = model_signal(client_for(fake_model, provider), PERSONA, ANALYSIS, RULES)
    assert signal.signal == "bullish" and signal.confidence == 62.0


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["garbage", "truncated"])
def test_unrepairable_answer_raises_output_error(fake_model: FakeServer, provider: str, fault: str) -> None:
    fake_model.mode(next=[fault])
    with pytest.raises(ModelOutputError) as caught:
        model_signal(client_for(fake_model, provider), PERSONA, ANALYSIS, RULES)
    assert not caught.value.transient
    assert caught.value.usage is not None and caught.value.usage.output_tokens > 0  # billed all the same


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limit_is_transient_with_retry_after(fake_model: FakeServer, provider: str) -> None:
    fake_model.mode(next=["rate_limit"])
    with pytest.raises(ModelAPIError) as caught:
        model_signal(client_for(fake_model, provider), PERSONA, ANALYSIS, RULES)
    assert (caught.value.status_code, caught.value.transient, caught.value.retry_after_s) == (429, True, 2.0)
    assert fake_model.counters()["calls"] == 1  # SDK retries are off: Prefect owns retries


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["server_error", "overloaded"])
def test_server_errors_are_transient(fake_model: FakeServer, provider: str, fault: str) -> None:
    fake_model.mode(next=[fault])
    with pytest.raises(ModelAPIError) as caught:
        model_signal(client_for(fake_model, provider), PERSONA, ANALYSIS, RULES)
    assert caught.value.transient and caught.value.status_code >= 500
    if provider == "anthropic" and fault == "overloaded":
        assert caught.value.status_code == 529


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout_and_cut_connection_are_transient(fake_model: FakeServer, provider: str) -> None:
    fake_model.mode(next=["timeout", "disconnect"])
    client = client_for(fake_model, provider)
    with pytest.raises(ModelTimeoutError) as timed_out:
        model_signal(client, PERSONA, ANALYSIS, RULES)
    with pytest.raises(ModelConnectionError) as cut:
        model_signal(client, PERSONA, ANALYSIS, RULES)
    assert timed_out.value.transient and cut.value.transient


@pytest.mark.parametrize("provider", PROVIDERS)
def test_outage_mode_fails_every_call(fake_model: FakeServer, provider: str) -> None:
    fake_model.mode(outage=True)
    for _ in range(3):
        with pytest.raises(ModelAPIError) as caught:
            model_signal(client_for(fake_model, provider), PERSONA, ANALYSIS, RULES)
        assert caught.value.status_code == (529 if provider == "anthropic" else 500)
    fake_model.mode(reset=True)
    assert model_signal(client_for(fake_model, provider), PERSONA, ANALYSIS, RULES).source == "model"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_auth_error_names_the_provider_never_the_key(fake_model: FakeServer, provider: str) -> None:
    secret = "sk-live-DO-NOT-LEAK-4f9a8b7c6d5e"
    fake_model.mode(status=401)
    with pytest.raises(ModelAuthError) as caught:
        model_signal(client_for(fake_model, provider, key=secret), PERSONA, ANALYSIS, RULES)
    error = caught.value
    assert provider in str(error) and not error.transient and error.status_code == 401
    for text in (str(error), repr(error), repr(error.__cause__), repr(error.__context__)):
        assert secret not in text and secret[-8:] not in text


@pytest.mark.parametrize("provider", PROVIDERS)
def test_usage_and_cost_match_the_servers_counters(fake_model: FakeServer, provider: str) -> None:
    client = client_for(fake_model, provider)
    total = ModelUsage()
    for ticker in ("AAPL", "NVDA", "TSLA"):
        total += model_signal(client, PERSONA, ANALYSIS.model_copy(update={"ticker": ticker}), RULES).usage
    orders, usage = model_orders(
        client, [RULES], {"AAPL": {"buy": 10, "hold": 0}}, {"AAPL": 190.0},
        [Order(ticker="AAPL", action="buy", quantity=25, confidence=70, reasoning="rules")],
    )
    total += usage
    counters = fake_model.counters()
    assert total.calls == counters["calls"] == 4
    assert total.input_tokens == counters["input_tokens"]
    assert total.output_tokens == counters["output_tokens"]
    assert total.cached_tokens == counters["cached_tokens"] > 0  # the persona was read from the cache
    expected = cost_usd(provider, client.model, ModelUsage(
        input_tokens=counters["input_tokens"], output_tokens=counters["output_tokens"],
        cached_tokens=counters["cached_tokens"]), cache_write_tokens=counters.get("cache_creation_tokens", 0))
    assert total.cost_usd == pytest.approx(expected, rel=1e-6)
    assert [(o.action, o.quantity) for o in orders] == [("buy", 10)]  # clamped to what is allowed


def test_repeated_system_part_is_byte_stable() -> None:
    first = analyst_request(PERSONA, "warren_buffett", ANALYSIS, RULES)
    second = analyst_request(PERSONA, "warren_buffett", ANALYSIS.model_copy(update={"ticker": "NVDA"}), RULES)
    assert first.system == second.system and first.user != second.user


def test_clients_are_cached_per_endpoint(fake_model: FakeServer) -> None:
    assert client_for(fake_model, "openai") is client_for(fake_model, "openai")
    assert client_for(fake_model, "openai") is not client_for(fake_model, "openai", key="sk-other-key-123456")
    assert AnalystAnswer.model_validate({"signal": "Bullish", "confidence": 140, "reasoning": "x"}).confidence == 100


_EXIT_CHECK = """
import atexit, sys

opened = []
# registered before the client module's own handler, so it runs after it (atexit is last in, first out)
atexit.register(lambda: print(" ".join(str(c._sdk.is_closed()) for c in opened)))
from hedgeflow.llm import model_signal
from hedgeflow.llm.client import make_client, parse_model
from tests.fakes import FAKE_KEY
from tests.test_llm_clients import ANALYSIS, PERSONA, RULES

for spec, call in zip(sys.argv[1:], (True, False)):
    client = make_client(parse_model(spec), api_key=FAKE_KEY)
    opened.append(client)
    if call:  # one used on the model-call loop, one never used
        assert model_signal(client, PERSONA, ANALYSIS, RULES).source == "model"
import gc
gc.freeze()  # as the CLI does: nothing is left for a final collection to close
"""


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_clients_are_closed_at_exit_and_the_exit_is_silent(fake_model: FakeServer, provider: str) -> None:
    # an SDK client left open to the interpreter's teardown printed "Exception ignored in ... __del__"
    import subprocess
    import sys
    from pathlib import Path

    base = fake_model.url if provider == "anthropic" else f"{fake_model.url}/v1"
    specs = [f"{provider}:used@{base}", f"{provider}:unused@{base}"]
    done = subprocess.run([sys.executable, "-c", _EXIT_CHECK, *specs], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True"]
    assert done.stderr == ""


def test_clearing_the_cache_closes_its_clients_and_the_next_one_starts_without_history(fake_model: FakeServer) -> None:
    # the benchmark clears it between scenarios: a client taught by a zero-latency run hedged every call
    # of the next scenario at the 1 s floor
    from hedgeflow.llm.client import clear_client_cache

    clear_client_cache()  # earlier tests taught the cached client
    first = client_for(fake_model, "openai")
    model_signal(first, PERSONA, ANALYSIS, RULES)
    assert len(first.timeouts._latencies) == 1  # type: ignore[attr-defined]
    clear_client_cache()
    second = client_for(fake_model, "openai")
    assert second is not first and first._sdk.is_closed()  # type: ignore[attr-defined]
    assert second.timeouts.median_s(1) is None  # type: ignore[attr-defined]
