"""The guarded model: FallbackClient wraps a model with the breaker and answers with the rules model when it cannot.

A FunctionModel-style primary (a function per call) stands in for a vendor
client; the breaker is the real one on the in-process store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import pytest
from pydantic import BaseModel

from hedgeflow.breaker import BreakerSettings, CircuitBreaker, MemoryStore
from hedgeflow.llm import (
    AnalystAnswer,
    FallbackClient,
    ModelAPIError,
    ModelAuthError,
    ModelError,
    ModelReply,
    ModelRequest,
    PortfolioAnswer,
    RulesClient,
    UnavailableClient,
    model_signal,
)
from hedgeflow.llm.prompts import portfolio_request
from hedgeflow.schemas import AgentSignal, Analysis, ModelUsage, Order

T = TypeVar("T", bound=BaseModel)
M = {"provider": "openai", "model": "gpt-x"}
RULES = AgentSignal(analyst="valuation", ticker="AAPL", as_of=dt.date(2025, 10, 8), signal="bearish",
                    confidence=63.3, reasoning="DCF value 18 % below price")
ANALYSIS = Analysis(analyst="valuation", ticker="AAPL", as_of=dt.date(2025, 10, 8), sub_scores=[])


class FunctionModel:
    """A ModelClient whose every call is ``answer(request)``; counts the calls."""

    provider, model = "openai", "gpt-x"

    def __init__(self, answer: Callable[[ModelRequest], dict[str, object]]) -> None:
        self.answer, self.calls = answer, 0

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        self.calls += 1
        output = output_type.model_validate(self.answer(request))
        return ModelReply[output_type](output=output, usage=ModelUsage(calls=1, input_tokens=100))  # type: ignore[valid-type]


def failing(error: ModelError) -> Callable[[ModelRequest], dict[str, object]]:
    def answer(request: ModelRequest) -> dict[str, object]:
        raise error
    return answer


def breaker(**settings: object) -> CircuitBreaker:
    return CircuitBreaker(BreakerSettings(**settings), MemoryStore())  # type: ignore[arg-type]


BULLISH = {"signal": "bullish", "confidence": 80, "reasoning": "cheap"}


def test_the_rules_model_gives_the_rules_signal_exactly() -> None:
    assert model_signal(RulesClient(), "persona", ANALYSIS, RULES) == RULES


def test_a_healthy_model_answers_through_the_wrapper() -> None:
    primary = FunctionModel(lambda request: BULLISH)
    signal = model_signal(FallbackClient(primary, RulesClient(), breaker()), "persona", ANALYSIS, RULES)
    assert (signal.signal, signal.confidence, signal.source, signal.model) == ("bullish", 80.0, "model", "openai:gpt-x")
    assert not signal.degraded and signal.usage.calls == 1


def test_a_failure_not_worth_a_retry_gives_the_rules_signal_marked_degraded() -> None:
    reasons: list[str] = []
    client = FallbackClient(FunctionModel(failing(ModelAuthError("HTTP 401", **M))), RulesClient(), breaker(),
                            on_fallback=reasons.append)
    signal = model_signal(client, "persona", ANALYSIS, RULES)
    assert (signal.signal, signal.confidence, signal.reasoning) == (RULES.signal, RULES.confidence, RULES.reasoning)
    assert signal.degraded and signal.source == "rules" and signal.model == "openai:gpt-x"
    assert reasons == [signal.degraded_reason] and "HTTP 401" in reasons[0]


def test_a_transient_failure_the_caller_retries_is_raised_and_counted() -> None:
    shared = breaker(failure_threshold=2, failure_rate=0.0)
    client = FallbackClient(FunctionModel(failing(ModelAPIError("HTTP 503", status_code=503, **M))), RulesClient(),
                            shared, retry=lambda error: error.transient)
    for _ in range(2):
        with pytest.raises(ModelAPIError):
            client.complete(ModelRequest(system="s", user="u", name="analyst_signal"), AnalystAnswer)
    assert shared.state(("openai", "gpt-x")).state == "open"  # two counted failures, threshold 2


def test_an_open_breaker_answers_with_the_fallback_without_calling_the_model() -> None:
    shared = breaker(failure_threshold=1, failure_rate=0.0, open_timeout_s=60)
    shared.acquire(("openai", "gpt-x")).failure("server_error: down")
    primary = FunctionModel(lambda request: BULLISH)
    signal = model_signal(FallbackClient(primary, RulesClient(), shared), "persona", ANALYSIS, RULES)
    assert primary.calls == 0 and signal.degraded and "is open" in (signal.degraded_reason or "")


def test_the_portfolio_fallback_is_the_rules_decision() -> None:
    rules = [Order(ticker="AAPL", action="buy", quantity=12, confidence=40.0, reasoning="net conviction +0.40")]
    request = portfolio_request([RULES], {"AAPL": {"buy": 20, "hold": 0}}, {"AAPL": 250.0}, rules)
    client = FallbackClient(UnavailableClient(ModelAuthError("no API key for openai", **M)), RulesClient(), breaker())
    reply = client.complete(request, PortfolioAnswer)
    (decision,) = reply.output.decisions
    assert (decision.ticker, decision.action, decision.quantity, decision.reasoning) == (
        "AAPL", "buy", 12, "net conviction +0.40")
    assert reply.source == "rules" and "no API key" in (reply.degraded_reason or "")
