"""Request rules shared by the CLI and the flows: window, benchmark tickers, analyst names, credentials."""

from __future__ import annotations

import datetime as dt

import pytest

from hedgeflow.errors import HedgeflowError, InvalidRequestError
from hedgeflow.request import analyst_keys, check_credentials, resolve_window, validate_request, window_notices
from hedgeflow.schemas import RunRequest

D = dt.date
# The bundled ranges as `hedgeflow tickers` prints them (hedgeflow/data/bundled/PROVENANCE.md).
AVAILABLE = {"AAPL": (D(2018, 1, 2), D(2025, 10, 8)), "NVDA": (D(2018, 1, 2), D(2025, 10, 8)),
             "SPY": (D(2018, 1, 2), D(2025, 10, 7))}


def test_all_anywhere_means_the_whole_committee_and_names_are_case_insensitive() -> None:
    assert analyst_keys(["all"]) is None
    assert analyst_keys(["all", "technicals"]) is None
    assert analyst_keys(["Technicals", "WARREN_BUFFETT", "technicals"]) == ["technicals", "warren_buffett"]


def test_spy_is_refused_naming_the_companies() -> None:
    with pytest.raises(InvalidRequestError, match=r"SPY has prices only \(a benchmark\).*AAPL, NVDA$"):
        validate_request(RunRequest(tickers=["AAPL", "SPY"]), AVAILABLE)


def test_a_start_before_the_data_is_refused_naming_the_first_date() -> None:
    with pytest.raises(InvalidRequestError, match=r"before the data for AAPL begins \(2018-01-02\); use --start 2018-01-02"):
        validate_request(RunRequest(tickers=["AAPL"], start=D(2010, 1, 1), end=D(2018, 6, 1)), AVAILABLE)


def test_the_default_start_never_reaches_before_the_data() -> None:
    # end 2018-02-01 minus the 91-day default would be 2017-11-02: the data begins 2018-01-02.
    assert resolve_window(RunRequest(tickers=["AAPL"], end=D(2018, 2, 1)), AVAILABLE) == (D(2018, 1, 2), D(2018, 2, 1))
    assert validate_request(RunRequest(tickers=["AAPL"], end=D(2018, 2, 1)), AVAILABLE)[0] == D(2018, 1, 2)


def test_a_weekend_window_is_refused_and_a_weekend_end_is_noticed() -> None:
    # 2025-10-04 is a Saturday and 2025-10-05 a Sunday (calendar).
    with pytest.raises(InvalidRequestError, match="is a weekend: no trading day"):
        validate_request(RunRequest(tickers=["AAPL"], start=D(2025, 10, 4), end=D(2025, 10, 5)), AVAILABLE)
    start, end = validate_request(RunRequest(tickers=["AAPL"], end=D(2025, 10, 5)), AVAILABLE)
    assert window_notices(None, end) == [
        "end 2025-10-05 is a Sunday, not a trading day: the analysis is as of 2025-10-03, the session before"
    ]
    assert window_notices(D(2025, 7, 5), end)[1] == (
        "start 2025-07-05 is a Saturday: the window's first session is 2025-07-07 at the earliest"
    )
    assert window_notices(D(2025, 7, 7), D(2025, 10, 8)) == []


def test_a_malformed_block_spec_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="use block:<block-type-slug>/<name>"):
        validate_request(RunRequest(tickers=["AAPL"], model="block:claude"), AVAILABLE)


@pytest.mark.parametrize(
    ("model", "provider", "variable"),
    [
        ("anthropic:claude-haiku-4-5", "offline", "ANTHROPIC_API_KEY"),
        ("openai:gpt-4.1-mini", "offline", "OPENAI_API_KEY"),
        ("rules", "financialdatasets", "FINANCIAL_DATASETS_API_KEY"),
    ],
)
def test_a_missing_key_is_named(model: str, provider: str, variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "FINANCIAL_DATASETS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(HedgeflowError, match=variable):
        check_credentials(model, provider)


def test_keys_present_and_keyless_models_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    check_credentials("openai:gpt-4.1-mini", "offline")
    check_credentials("rules", "financialdatasets", {"FINANCIAL_DATASETS_API_KEY": "k"})
    check_credentials("openai-compatible:llama@http://127.0.0.1:1/v1", "offline")  # a local server needs none
    check_credentials("block:hedgeflow-openai-model/x", "offline")  # checked where blocks load
