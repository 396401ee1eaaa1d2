"""The live provider through the flow, the command line and its block, against the fake live servers."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterator

import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from blocks.data_provider import HedgeflowDataProvider
from hedgeflow.analysts.registry import CATALOGUE
from hedgeflow.data.live import LiveProvider, UserAgentError, last_completed_session
from hedgeflow.schemas import RunRequest, RunResult
from tests.fakes import FakeServer
from tests.flowkit import run_flow
from tests.live_fakes import USER_AGENT, live_fake, live_fake_server  # noqa: F401 - fixtures


@pytest.fixture
def fresh_providers() -> Iterator[None]:
    from tasks.fetch import reset_providers

    reset_providers()
    yield
    reset_providers()


def test_a_company_the_bundle_lacks_runs_end_to_end_and_a_second_run_makes_no_request(
    cold_cache: None, live_fake: FakeServer, fresh_providers: None
) -> None:
    from prefect.client.orchestration import get_client

    from flows.hedge_fund import hedge_fund
    from tasks.live_data import SEC_RATE_LIMIT

    result: RunResult = run_flow(hedge_fund, tickers=["SCWO"], data_provider="live", persist=False)
    assert result.status == "completed" and not result.errors
    assert result.end == last_completed_session()  # the live default as-of date
    assert {s.analyst for s in result.signals} == set(CATALOGUE)
    news = next(s for s in result.signals if s.analyst == "news_sentiment")
    assert "not provided" not in news.reasoning  # the feed's headlines reached the analyst
    first = live_fake.counters()
    assert first["sec"] >= 3 and first["yahoo"] >= 2

    again: RunResult = run_flow(hedge_fund, tickers=["SCWO"], data_provider="live", persist=False)
    assert [s.signal for s in again.signals] == [s.signal for s in result.signals]
    assert live_fake.counters()["calls"] == first["calls"]  # every dataset came from the cache
    # A Prefect server is configured (the test harness): SEC requests took slots of the shared limit.
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(SEC_RATE_LIMIT)
    assert (limit.limit, limit.slot_decay_per_second) == (1, 9.0)


def test_a_saved_block_configures_the_live_provider(
    prefect_server: None, live_fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.live_data import build_provider

    HedgeflowDataProvider(sec_user_agent=USER_AGENT, sec_data_url=live_fake.url, sec_www_url=live_fake.url,
                          prices_url=live_fake.url, news_url=live_fake.url).save("fake-live", overwrite=True)
    for name in ("HEDGEFLOW_SEC_USER_AGENT", "HEDGEFLOW_SEC_DATA_URL", "HEDGEFLOW_SEC_WWW_URL"):
        monkeypatch.delenv(name)
    provider = build_provider("block:fake-live")
    assert isinstance(provider, LiveProvider) and provider.settings.sec_www_url == live_fake.url
    assert "SCWO" in provider.tickers()


class TestDataProviderBlockStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[HedgeflowDataProvider]:
        return HedgeflowDataProvider

    def test_has_a_valid_image(self, block: type[HedgeflowDataProvider]) -> None:
        pytest.skip("no logo, and tests never reach the network")


def test_the_block_rejects_a_user_agent_without_an_email_and_returns_plain_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="name and e-mail"):
        HedgeflowDataProvider(sec_user_agent="hedgeflow")
    monkeypatch.setenv("HEDGEFLOW_SEC_USER_AGENT", USER_AGENT)
    settings = HedgeflowDataProvider(prices_url="http://127.0.0.1:9/", sec_requests_per_s=5).settings()
    assert settings.sec_user_agent == USER_AGENT  # an empty field falls back to the environment
    assert settings.prices_url == "http://127.0.0.1:9" and settings.sec_requests_per_s == 5
    monkeypatch.delenv("HEDGEFLOW_SEC_USER_AGENT")
    with pytest.raises(UserAgentError):
        HedgeflowDataProvider().settings()


# --------------------------------------------------------------------------- the command line


def test_tickers_search_finds_a_company_by_name(live_fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    from deployments.cli import main

    assert main(["tickers", "--data-provider", "live", "--search", "apple"]) == 0
    assert capsys.readouterr().out.split() == ["AAPL", "CIK", "320193", "Apple", "Inc."]


def test_an_unknown_ticker_is_one_line_and_exit_2_before_work(
    live_fake: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from deployments.cli import main

    assert main(["analyze", "--tickers", "SCWO,NOPE", "--data-provider", "live"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NOPE" in err and "--search" in err
    assert live_fake.counters()["by_path"] == {"/files/company_tickers.json": 1}  # only the list was read


def test_the_live_provider_without_a_user_agent_is_one_line_and_exit_2(
    live_fake: FakeServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deployments.cli import main

    monkeypatch.delenv("HEDGEFLOW_SEC_USER_AGENT")
    assert main(["analyze", "--tickers", "AAPL", "--data-provider", "live"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HEDGEFLOW_SEC_USER_AGENT" in err
    assert live_fake.counters()["calls"] == 0


def test_the_live_as_of_date_defaults_to_the_last_completed_session(live_fake: FakeServer) -> None:
    from deployments.cli import _parser
    from deployments.cli_analyze import build_request

    def _request(args: argparse.Namespace) -> RunRequest:
        return build_request(args, lambda line: None)

    request = _request(_parser().parse_args(["analyze", "--tickers", "scwo", "--data-provider", "live"]))
    assert request.end == last_completed_session() and request.tickers == ["SCWO"]
    pinned = _request(_parser().parse_args(["analyze", "--tickers", "AAPL", "--end", "2025-10-08",
                                            "--data-provider", "live"]))
    assert pinned.end == dt.date(2025, 10, 8)
