"""The flow against the fake model server: real SDKs, breaker, retries and fallback (issues 4 and 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from blocks.breaker import CircuitBreakerBlock
from hedgeflow.schemas import RunResult
from tests.fakes import FAKE_KEY, FakeServer, fake_data_server, fake_model, fake_model_server  # noqa: F401 - fixtures
from tests.flowkit import run_flow

END = dt.date(2025, 10, 8)
FEW = ["technicals", "fundamentals", "valuation", "warren_buffett", "ben_graham"]


BREAKER = "test-flow-models"
OPEN_S = 8.0  # longer than a whole degraded run on a busy machine: the second run must find it still open


@pytest.fixture
def breaker_block(prefect_server: None) -> Iterator[CircuitBreakerBlock]:
    """A saved breaker block with a short recovery timeout; runs name it with ``breaker_block=BREAKER``."""
    block = CircuitBreakerBlock(failure_threshold=3, failure_window_s=30, open_timeout_s=OPEN_S, half_open_probes=1)
    block.save(BREAKER, overwrite=True)
    block.breaker().reset(("openai-compatible", "fake"))
    yield block
    block.breaker().reset(("openai-compatible", "fake"))


def _model(server: FakeServer) -> str:
    return f"openai-compatible:fake@{server.url}/v1"


def _rules(tickers: list[str], analysts: list[str]) -> RunResult:
    from flows.hedge_fund import hedge_fund

    return run_flow(hedge_fund, tickers=tickers, end=END, analysts=analysts, persist=False)


def test_signals_come_from_the_model_and_echo_the_rules(
    cold_cache: None, fake_model: FakeServer, breaker_block: CircuitBreakerBlock
) -> None:
    from flows.hedge_fund import hedge_fund

    rules = {(s.analyst, s.ticker): s for s in _rules(["AAPL", "NVDA"], FEW).signals}
    result: RunResult = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END, analysts=FEW,
                                 model=_model(fake_model), refresh=True, persist=False, breaker_block=BREAKER)
    assert len(result.signals) == 10 and not result.errors
    for signal in result.signals:
        assert signal.source == "model" and not signal.degraded
        expected = rules[(signal.analyst, signal.ticker)]
        assert (signal.signal, signal.confidence) == (expected.signal, expected.confidence)
    counters = fake_model.counters()
    assert result.usage.calls == counters["calls"] == 11  # 10 analysts x tickers + 1 portfolio manager
    assert result.usage.input_tokens == counters["input_tokens"]
    assert result.usage.output_tokens == counters["output_tokens"]
    assert set(result.usage_by_analyst) == set(FEW) | {"portfolio_manager"}


def test_anthropic_block_drives_the_flow(
    cold_cache: None, fake_model: FakeServer, breaker_block: CircuitBreakerBlock
) -> None:
    from pydantic import SecretStr

    from blocks.models import AnthropicModel
    from flows.hedge_fund import hedge_fund

    AnthropicModel(model="claude-haiku-4-5", api_key=SecretStr(FAKE_KEY), base_url=fake_model.url).save(
        "fake-claude", overwrite=True
    )
    result = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=FEW[:2],
                      model="block:hedgeflow-anthropic-model/fake-claude", persist=False, breaker_block=BREAKER)
    assert [s.source for s in result.signals] == ["model", "model"]
    assert fake_model.counters()["by_path"].get("/v1/messages") == 3


def test_transient_faults_are_retried_and_signals_stay_from_the_model(
    cold_cache: None, fake_model: FakeServer, breaker_block: CircuitBreakerBlock
) -> None:
    from flows.hedge_fund import hedge_fund

    fake_model.mode(next=["rate_limit", "server_error"])
    result = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=FEW, model=_model(fake_model), persist=False,
                      breaker_block=BREAKER)
    assert all(s.source == "model" and not s.degraded for s in result.signals)
    assert fake_model.counters()["calls"] == 5 + 1 + 2  # two failed calls, retried once each


def test_outage_opens_the_breaker_and_the_run_completes_degraded(
    cold_cache: None, fake_model: FakeServer, breaker_block: CircuitBreakerBlock
) -> None:
    from flows.hedge_fund import hedge_fund

    fake_model.mode(outage=True)
    model = _model(fake_model)
    result = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END, analysts=FEW, model=model, persist=False,
                      breaker_block=BREAKER)
    assert result.status == "degraded" and result.degraded_count == 10
    assert all(s.degraded and s.degraded_reason and s.source == "rules" for s in result.signals)
    assert all(s.model == "openai-compatible:fake" for s in result.signals)
    breaker = breaker_block.breaker()
    assert breaker.state(("openai-compatible", "fake")).state == "open"
    calls_when_open = fake_model.counters()["calls"]
    again = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=FEW, model=model, persist=False,
                     breaker_block=BREAKER)
    assert again.degraded_count == 5
    assert fake_model.counters()["calls"] == calls_when_open  # no call while open

    # recovery: the fake comes back, the half-open probe succeeds and the breaker closes
    fake_model.mode(outage=False)
    import time

    time.sleep(OPEN_S + 0.1)
    healed = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=FEW[:1], model=model, persist=False,
                      breaker_block=BREAKER)
    assert [s.source for s in healed.signals] == ["model"]
    assert breaker.state(("openai-compatible", "fake")).state == "closed"


def test_a_401_fails_fast_without_retry_and_never_shows_the_key(
    cold_cache: None, fake_model: FakeServer, breaker_block: CircuitBreakerBlock,
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
) -> None:
    from flows.hedge_fund import hedge_fund

    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", FAKE_KEY)
    fake_model.mode(status=401)
    result = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=FEW[:1], model=_model(fake_model), persist=False,
                      breaker_block=BREAKER)
    (signal,) = result.signals
    assert signal.degraded and "openai-compatible" in (signal.degraded_reason or "")
    assert fake_model.counters()["calls"] == 1  # one analyst call, no retry; the refused key is not asked again
    out, err = capfd.readouterr()
    assert FAKE_KEY not in out + err + result.model_dump_json()


def test_financialdatasets_provider_gives_the_offline_signals(
    cold_cache: None, fake_data_server: FakeServer, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from flows.hedge_fund import hedge_fund
    from tasks.fetch import reset_providers

    monkeypatch.setenv("FINANCIAL_DATASETS_BASE_URL", fake_data_server.url)
    monkeypatch.setenv("FINANCIAL_DATASETS_API_KEY", FAKE_KEY)
    reset_providers()
    offline = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END, persist=False)
    live = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END, persist=False, data_provider="financialdatasets")
    reset_providers()
    assert not live.errors and len(live.signals) == 38
    pick = lambda r: [(s.analyst, s.ticker, s.signal, s.confidence) for s in r.signals]  # noqa: E731
    assert pick(live) == pick(offline)
    assert [o.model_dump() for o in live.orders] == [o.model_dump() for o in offline.orders]
    out, err = capfd.readouterr()
    assert FAKE_KEY not in out + err + live.model_dump_json()


def test_transient_data_errors_are_retried(
    cold_cache: None, fake_data_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.hedge_fund import hedge_fund
    from tasks.fetch import reset_providers

    monkeypatch.setenv("FINANCIAL_DATASETS_BASE_URL", fake_data_server.url)
    monkeypatch.setenv("FINANCIAL_DATASETS_API_KEY", FAKE_KEY)
    reset_providers()
    fake_data_server.reset()
    fake_data_server.mode(next=["rate_limit", "server_error"])
    result = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=FEW[:2], persist=False,
                      data_provider="financialdatasets")
    reset_providers()
    assert not result.errors and len(result.signals) == 2
    statuses = fake_data_server.counters()["by_status"]
    assert statuses.get("429") == 1 and statuses.get("500") == 1


def test_a_ticker_whose_data_fails_fails_alone(cold_cache: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.fetch
    from flows.hedge_fund import hedge_fund
    from hedgeflow.data.offline import OfflineProvider
    from hedgeflow.errors import DataUnavailableError

    class NoNvdaPrices(OfflineProvider):
        def get_prices(self, ticker: str, start: dt.date, end: dt.date):  # type: ignore[no-untyped-def]
            if ticker == "NVDA":
                raise DataUnavailableError("no prices for NVDA from this source")
            return super().get_prices(ticker, start, end)

    monkeypatch.setattr(tasks.fetch, "provider_named", lambda name: NoNvdaPrices())
    result = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END, analysts=FEW[:2], persist=False)
    assert result.status == "partial"
    assert "no prices for NVDA" in result.errors["NVDA"]
    assert {s.ticker for s in result.signals} == {"AAPL"} and [o.ticker for o in result.orders] == ["AAPL"]


def test_twenty_percent_transient_faults_keep_the_signals_from_the_model(
    cold_cache: None, fake_model: FakeServer, breaker_block: CircuitBreakerBlock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.hedge_fund import hedge_fund
    from hedgeflow.llm.client import clear_client_cache

    monkeypatch.setenv("HEDGEFLOW_MODEL_TIMEOUT_S", "1")  # the fake hangs 3 s on a timeout fault
    clear_client_cache()
    fake_model.mode(fault_rate=0.2)
    result = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END, model=_model(fake_model), persist=False,
                      breaker_block=BREAKER)
    fake_model.mode(fault_rate=0.0)
    clear_client_cache()
    assert len(result.signals) == 38 and not result.errors
    assert sum(s.source == "model" for s in result.signals) >= 37
    assert fake_model.counters()["calls"] > 39  # faults happened and were retried
