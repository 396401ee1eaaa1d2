"""The run form Prefect builds from the flows' signatures: choices, checks, descriptions; and bad input's end state."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, get_args

import pytest


def schema_of(flow: Any) -> dict[str, Any]:
    from prefect.utilities.callables import parameter_schema

    return parameter_schema(flow).model_dump()


def refused(parameters: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """What the server (deployments enforce their parameter schema) and the form refuse: the failing paths."""
    from prefect.utilities.schema_tools.validation import validate

    return [error.json_path for error in validate(parameters, schema)]


@pytest.fixture(scope="module")
def analyze() -> dict[str, Any]:
    from flows.hedge_fund import hedge_fund

    return schema_of(hedge_fund)


def test_known_sets_are_choices(analyze: dict[str, Any]) -> None:
    from hedgeflow.analysts.registry import CATALOGUE
    from hedgeflow.data.offline import OfflineProvider
    from hedgeflow.schemas import BundledTicker

    props = analyze["properties"]
    named, saved = props["data_provider"]["anyOf"]  # the form's two tabs: a choice, or a saved block's name
    assert named["enum"] == ["offline", "live", "financialdatasets"] and saved["pattern"].startswith("^block:")
    analysts = next(option for option in props["analysts"]["anyOf"] if option.get("type") == "array")
    assert analysts["items"]["enum"] == list(CATALOGUE)
    bundled, typed = props["tickers"]["anyOf"]  # the form's two tabs: "bundled" (choices) and "any symbol"
    assert (bundled["title"], typed["title"]) == ("bundled", "any symbol")
    from hedgeflow.request import PRICES_ONLY

    companies = sorted(set(OfflineProvider().tickers()) - PRICES_ONLY)  # SPY is the benchmark: never analysed
    assert bundled["items"]["enum"] == companies == list(get_args(BundledTicker))
    assert typed["items"]["pattern"] and bundled["minItems"] == typed["minItems"] == 1


def test_no_description_holds_html_like_placeholders(analyze: dict[str, Any]) -> None:
    """The UI renders descriptions as Markdown: ``<model>`` would vanish as an unknown HTML tag."""
    from flows.precompute import precompute

    def descriptions(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["description"]] if isinstance(node.get("description"), str) else []
            return own + [d for value in node.values() for d in descriptions(value)]
        return [d for value in node for d in descriptions(value)] if isinstance(node, list) else []

    for schema in (analyze, schema_of(precompute)):
        found = descriptions(schema)
        assert len(found) >= 3
        assert not [d for d in found if "<" in d or ">" in d]
    assert "anthropic:MODEL" in analyze["properties"]["model"]["description"]


@pytest.mark.parametrize(
    ("parameters", "path"),
    [
        ({"tickers": ["AAPL", "NVDA"]}, None),
        ({"tickers": ["AAPL"], "model": "anthropic:claude-sonnet-4-5"}, None),
        ({"tickers": ["AAPL"], "model": "openai-compatible:llama3.1@http://localhost:11434/v1"}, None),
        ({"tickers": ["AAPL"], "model": "block:hedgeflow-anthropic-model/claude"}, None),
        ({"tickers": ["MSFT"], "data_provider": "financialdatasets"}, None),
        ({"tickers": ["SCWO"], "data_provider": "live"}, None),
        ({"tickers": ["SCWO"], "data_provider": "block:sec-live"}, None),
        ({"tickers": ["SCWO"], "data_provider": "block:"}, "$.data_provider"),
        ({"tickers": []}, "$.tickers"),
        ({"tickers": ["AAPL,NVDA"]}, "$.tickers"),
        ({"tickers": ["AAPL"], "model": "claude"}, "$.model"),
        ({"tickers": ["AAPL"], "model": "anthropic:<model>"}, "$.model"),
        ({"tickers": ["AAPL"], "model": "openai-compatible:llama3.1"}, "$.model"),
        ({"tickers": ["AAPL"], "analysts": ["buffett"]}, "$.analysts"),
        ({"tickers": ["AAPL"], "data_provider": "yahoo"}, "$.data_provider"),
        ({"tickers": ["AAPL"], "portfolio": {"cash": -1}}, "$.portfolio"),
        ({"tickers": ["AAPL"], "portfolio": {"positions": {"AAPL": {"long": -3}}}}, "$.portfolio"),
    ],
)
def test_the_schema_refuses_bad_input_before_a_run_exists(
    analyze: dict[str, Any], parameters: dict[str, Any], path: str | None
) -> None:
    errors = refused(parameters, analyze)
    if path is None:
        assert errors == []
    else:
        assert errors and all(e.startswith(path) for e in errors), errors


def test_portfolio_and_position_fields_say_what_they_are(analyze: dict[str, Any]) -> None:
    definitions = analyze["definitions"]
    for name in ("Portfolio", "Position"):
        fields = definitions[name]["properties"]
        assert all(field.get("description") for field in fields.values()), name
    positions = definitions["Portfolio"]["properties"]["positions"]
    assert '{"AAPL": {"long": 10, "long_cost_basis": 150.0}' in positions["description"], "the shape, by example"
    assert positions["additionalProperties"] == {"$ref": "#/definitions/Position"}


def test_precompute_form(analyze: dict[str, Any]) -> None:
    from flows.precompute import precompute

    props = schema_of(precompute)["properties"]
    named, saved = props["data_provider"]["anyOf"]  # the form's two tabs: a choice, or a saved block's name
    assert named["enum"] == ["offline", "live", "financialdatasets"] and saved["pattern"].startswith("^block:")
    assert props["model"]["pattern"] == analyze["properties"]["model"]["pattern"]
    assert all(p.get("description") for p in props.values())


def test_input_the_schema_cannot_judge_fails_the_run_in_one_message(
    cold_cache: None, caplog: pytest.LogCaptureFixture
) -> None:
    """MSFT is a well-formed ticker the bundled data lacks: the run fails before its body, no traceback logged."""
    from flows.hedge_fund import hedge_fund

    with caplog.at_level(logging.INFO):
        state = asyncio.run(hedge_fund(tickers=["MSFT"], return_state=True))  # type: ignore[call-overload]
    assert state.is_failed()
    assert state.message.startswith("Validation of flow parameters failed with error:")
    assert "unknown ticker(s) MSFT; available: AAPL, BRK-B, GOOGL, META, NVDA, SPY, TSLA, V" in state.message
    assert "Traceback" not in state.message
    run_logs = [r for r in caplog.records if r.name.startswith("prefect")]
    assert any("unknown ticker(s) MSFT" in r.getMessage() for r in run_logs)
    assert not [r for r in run_logs if r.exc_info or r.exc_text], "no traceback in the run's logs"
    assert not any(r.name.startswith(("tasks", "flows")) for r in caplog.records), "no task ran"
