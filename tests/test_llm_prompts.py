"""Model specs, prompts, answer repair, order clamping and prices: no server needed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from hedgeflow.errors import InvalidRequestError
from hedgeflow.llm import (
    ModelOutputError,
    PortfolioAnswer,
    clamp_orders,
    cost_usd,
    make_client,
    model_orders,
    model_signal,
    parse_model,
    portfolio_request,
    price_note,
)
from hedgeflow.llm.client import ModelConfig
from hedgeflow.llm.errors import ModelAuthError, retry_after_seconds
from hedgeflow.llm.prompts import AnalystAnswer, analyst_request, find_rules_decisions, find_rules_signal
from hedgeflow.llm.structured import parse_output, strict_json_schema
from hedgeflow.schemas import AgentSignal, Analysis, ModelUsage, Order, SubScore

AS_OF = dt.date(2024, 6, 28)
ANALYSIS = Analysis(analyst="technicals", ticker="NVDA", as_of=AS_OF,
                    sub_scores=(SubScore(name="momentum", score=-0.4, figures={"mom_6m": -0.123456789}),))
RULES = AgentSignal(analyst="technicals", ticker="NVDA", as_of=AS_OF, signal="bearish", confidence=41.25,
                    reasoning="rules")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("rules", ("rules", "rules", None)),
        ("anthropic:claude-haiku-4-5", ("anthropic", "claude-haiku-4-5", None)),
        ("openai:gpt-4.1-mini@http://127.0.0.1:9/v1", ("openai", "gpt-4.1-mini", "http://127.0.0.1:9/v1")),
        ("openai-compatible:llama3.1:8b@http://localhost:11434/v1",
         ("openai-compatible", "llama3.1:8b", "http://localhost:11434/v1")),
    ],
)
def test_parse_model(spec: str, expected: tuple[str, str, str | None]) -> None:
    config = parse_model(spec)
    assert (config.provider, config.model, config.base_url) == expected


@pytest.mark.parametrize("spec", ["", "gpt-4", "mistral:large", "anthropic:", "openai-compatible:llama3",
                                  "openai:gpt@ftp://x"])
def test_bad_model_spec_is_one_line(spec: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_model(spec)
    message = str(caught.value)
    assert "\n" not in message and ("model spec" in message or "base URL" in message)


def test_missing_key_is_an_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelAuthError, match="OPENAI_API_KEY"):
        make_client(ModelConfig(provider="openai", model="gpt-4.1"))
    monkeypatch.delenv("OPENAI_COMPATIBLE_API_KEY", raising=False)
    assert make_client(parse_model("openai-compatible:llama3@http://127.0.0.1:9/v1")).provider == "openai-compatible"


def test_analyst_prompt_is_compact_and_machine_findable() -> None:
    request = analyst_request("You are a chartist.", "technicals", ANALYSIS, RULES)
    assert request.system.startswith("You are a chartist.") and "technicals" in request.system
    assert "rules_signal: bearish 41.2" in request.user or "rules_signal: bearish 41.3" in request.user
    assert "mom_6m=-0.1235" in request.user  # figures rounded, never raw dumps
    assert find_rules_signal(request.user) == ("bearish", pytest.approx(41.2, abs=0.1))


def test_rules_client_returns_the_rules_answers_without_a_call() -> None:
    client = make_client(parse_model("rules"))
    rules = RULES.model_copy(update={"confidence": 41.2})  # one decimal, as every analyst's rules signal has
    assert model_signal(client, "persona", ANALYSIS, rules) == rules  # the rules signal itself, no call
    orders, usage = model_orders(client, [RULES], {"NVDA": {"short": 5, "hold": 0}}, {"NVDA": 120.0},
                                 [Order(ticker="NVDA", action="short", quantity=9, confidence=60, reasoning="r")])
    assert [(o.action, o.quantity) for o in orders] == [("short", 5)] and usage == ModelUsage()


def test_portfolio_prompt_and_clamping() -> None:
    signals = [RULES, RULES.model_copy(update={"analyst": "growth", "signal": "bullish", "confidence": 80.0})]
    allowed = {"NVDA": {"buy": 10, "short": 4, "hold": 0}, "AAPL": {"sell": 3, "hold": 0}}
    rules = [Order(ticker="NVDA", action="short", quantity=4, confidence=55, reasoning="r")]
    request = portfolio_request(signals, allowed, {"NVDA": 120.0, "AAPL": 190.0}, rules)
    assert "rules_decision NVDA short 4 55.0" in request.user
    assert "bullish 1 @80.0" in request.user and "bearish 1 @41.2" in request.user
    assert find_rules_decisions(request.user) == [("NVDA", "short", 4, 55.0), ("AAPL", "hold", 0, 50.0)]
    answer = PortfolioAnswer.model_validate({"decisions": [
        {"ticker": "NVDA", "action": "buy", "quantity": 99, "confidence": 120, "reasoning": "go"},
        {"ticker": "AAPL", "action": "yolo", "quantity": 5, "confidence": 50, "reasoning": "?"},
        {"ticker": "MSFT", "action": "buy", "quantity": 1, "confidence": 50, "reasoning": "invented"},
    ]})
    orders = clamp_orders([d.model_dump() for d in answer.decisions], allowed)
    assert [(o.ticker, o.action, o.quantity, o.confidence) for o in orders] == [
        ("AAPL", "hold", 0, 50.0), ("NVDA", "buy", 10, 100.0)]


def test_repair_once_then_fail() -> None:
    good = {"signal": "neutral", "confidence": 10, "reasoning": "flat"}
    fenced = f"Here you go:\n```json\n{json.dumps(good)}\n```\nanything else?"
    trailing = json.dumps(good) + " and that is final."
    for raw in (fenced, trailing, json.dumps(good), good):
        assert parse_output(raw, AnalystAnswer, provider="p", model="m").signal == "neutral"
    for raw in ("no idea", '{"signal": "very bullish", "confidence": 1, "reasoning": ""}', '{"signal": "bull', None):
        with pytest.raises(ModelOutputError):
            parse_output(raw, AnalystAnswer, provider="p", model="m")


def test_strict_schema_closes_every_object() -> None:
    schema = strict_json_schema(PortfolioAnswer)
    decision = schema["$defs"]["Decision"]
    assert schema["additionalProperties"] is False and decision["additionalProperties"] is False
    assert set(decision["required"]) == set(decision["properties"])


def test_prices_known_dated_unknown_and_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = ModelUsage(input_tokens=1_000_000, cached_tokens=400_000, output_tokens=100_000)
    # haiku 4.5: 600k x $1 + 400k x $0.10 + 100k x $5 per million = 0.60 + 0.04 + 0.50
    assert cost_usd("anthropic", "claude-haiku-4-5", usage) == pytest.approx(1.14)
    assert cost_usd("anthropic", "claude-haiku-4-5-20251001", usage) == pytest.approx(1.14)
    assert cost_usd("openai", "no-such-model", usage) == 0.0
    assert "no price" in (price_note("openai", "no-such-model") or "")
    assert cost_usd("openai-compatible", "llama3.1", usage) == 0.0
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"openai:no-such-model": {"input": 1.0, "output": 2.0, "cached_input": 0.5}}))
    monkeypatch.setenv("HEDGEFLOW_PRICES", str(prices))
    assert cost_usd("openai", "no-such-model", usage) == pytest.approx(0.6 + 0.2 + 0.2)
    assert price_note("openai", "no-such-model") is None


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds({"Retry-After": "7"}) == 7.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
