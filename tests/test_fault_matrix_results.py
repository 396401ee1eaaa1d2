"""Issue 17, the second fault matrix, rows 2, 5, 6, 8, 9 and 12: results, orders, usage and persistence.

Each test injects one fault (the fake model and data servers, a database URL
that refuses, a provider whose dataset fails) and checks what the user gets:
the run's status and exit code, which orders and signals are marked, what is
counted, what is kept. docs/failures.md tabulates the same rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from blocks.breaker import CircuitBreakerBlock
from hedgeflow.llm.base import ModelReply, ModelRequest
from hedgeflow.schemas import AgentSignal, ModelUsage, Order, RunRequest, RunResult
from tests.fakes import FakeServer, fake_model, fake_model_server  # noqa: F401 - fixtures
from tests.flowkit import run_flow

END = dt.date(2025, 10, 8)
T0 = dt.datetime(2025, 10, 9, 12, 0, tzinfo=dt.timezone.utc)
BREAKER = "test-fault-matrix-results"
HEDGEFLOW = str(Path(sys.executable).with_name("hedgeflow"))
REFUSING_DB = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1: connection refused at once
T = TypeVar("T", bound=BaseModel)


def _signal(ticker: str, analyst: str, degraded: bool = False) -> AgentSignal:
    return AgentSignal(analyst=analyst, ticker=ticker, as_of=END, signal="bullish", confidence=60.0,
                       reasoning="r", degraded=degraded, degraded_reason="breaker open" if degraded else None)


def _order(ticker: str) -> Order:
    return Order(ticker=ticker, action="hold", quantity=0, confidence=50.0, reasoning="r")


def _result(tickers: list[str], **parts: Any) -> RunResult:
    from hedgeflow.results import build_result

    base: dict[str, Any] = dict(run_id="r", request=RunRequest(tickers=tickers), start=END, end=END, started_at=T0,
                                signals=[], limits=[], orders=[], errors={})
    return build_result(**{**base, **parts})


# --------------------------------------------------------------------------- row 2: run status


def test_run_status_comes_from_what_was_delivered() -> None:
    """The matrix's case: 7 tickers, 100 signals and 7 orders, 33 analyst tasks failed: partial, not failed."""
    from hedgeflow.results import EXIT_CODES, exit_code

    tickers = ["AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META", "TSLA"]
    signals = [_signal(t, f"a{n}") for t in tickers for n in range(15)][:100]
    analyst_errors = {f"{t}/a{n}": "MaxConnectionsError: Too many connections"
                      for t in tickers for n in range(19)}
    analyst_errors = dict(list(analyst_errors.items())[:33])
    partial = _result(tickers, signals=signals, orders=[_order(t) for t in tickers], analyst_errors=analyst_errors)
    assert partial.status == "partial" and partial.errors == {} and len(partial.analyst_errors) == 33
    assert exit_code(partial) == 3

    one_ticker_short = _result(["AAPL", "NVDA"], signals=[_signal("AAPL", "a")], orders=[_order("AAPL")],
                               errors={"NVDA": "no prices"})
    assert one_ticker_short.status == "partial" and one_ticker_short.errors == {"NVDA": "no prices"}

    failed = _result(["AAPL"], errors={"AAPL": "no prices"})
    assert failed.status == "failed" and exit_code(failed) == 1  # no orders at all

    degraded = _result(["AAPL"], signals=[_signal("AAPL", "a", degraded=True)], orders=[_order("AAPL")])
    assert degraded.status == "degraded" and exit_code(degraded) == 0
    from_rules = _result(["AAPL"], signals=[_signal("AAPL", "a")], orders=[_order("AAPL")],
                         degraded_orders={"AAPL": "no decision from the model"})
    assert from_rules.status == "degraded"
    completed = _result(["AAPL"], signals=[_signal("AAPL", "a")], orders=[_order("AAPL")])
    assert completed.status == "completed" and exit_code(completed) == 0
    assert EXIT_CODES == {"completed": 0, "degraded": 0, "partial": 3, "failed": 1}


# --------------------------------------------------------------------------- row 5: portfolio manager gaps


class _Answers:
    """A FunctionModel-style client: answers every request with ``answer`` (a dict), billing 100/20 tokens."""

    provider, model = "openai-compatible", "scripted"

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        return ModelReply[output_type](output=output_type.model_validate(self.answer),  # type: ignore[valid-type]
                                       usage=ModelUsage(calls=1, input_tokens=100, output_tokens=20))


def test_omitted_or_invalid_pm_decisions_take_the_rules_order_marked() -> None:
    from hedgeflow.llm.agents import model_decisions

    allowed = {"AAPL": {"buy": 10, "hold": 0}, "MSFT": {"buy": 10, "hold": 0}, "NVDA": {"buy": 10, "short": 5, "hold": 0}}
    rules = [Order(ticker="AAPL", action="buy", quantity=4, confidence=62.0, reasoning="net conviction +0.40"),
             Order(ticker="MSFT", action="hold", quantity=0, confidence=10.0, reasoning="net conviction +0.10"),
             Order(ticker="NVDA", action="short", quantity=3, confidence=55.0, reasoning="net conviction -0.45")]
    answer = {"decisions": [  # AAPL omitted; MSFT may not be sold (no position); NVDA fine
        {"ticker": "MSFT", "action": "sell", "quantity": 5, "confidence": 70, "reasoning": "sell it"},
        {"ticker": "NVDA", "action": "buy", "quantity": 2, "confidence": 80, "reasoning": "buy it"},
    ]}
    decision = model_decisions(_Answers(answer), [], allowed, {"AAPL": 200.0, "MSFT": 400.0, "NVDA": 150.0}, rules)
    orders = {o.ticker: o for o in decision.orders}
    assert (orders["AAPL"].action, orders["AAPL"].quantity, orders["AAPL"].confidence) == ("buy", 4, 62.0)
    assert "[rules: no decision from the model]" in orders["AAPL"].reasoning
    assert (orders["MSFT"].action, orders["MSFT"].quantity) == ("hold", 0)
    assert "[rules: sell 5 not allowed]" in orders["MSFT"].reasoning
    assert (orders["NVDA"].action, orders["NVDA"].quantity, orders["NVDA"].reasoning) == ("buy", 2, "buy it")
    assert decision.degraded == {"AAPL": "no decision from the model", "MSFT": "sell 5 not allowed"}
    assert decision.usage.calls == 1


@pytest.fixture
def breaker_block(prefect_server: None) -> Iterator[CircuitBreakerBlock]:
    block = CircuitBreakerBlock(failure_threshold=5, failure_window_s=30, open_timeout_s=5, half_open_probes=1)
    block.save(BREAKER, overwrite=True)
    block.breaker().reset(("openai-compatible", "fake"))
    yield block
    block.breaker().reset(("openai-compatible", "fake"))


def _model(server: FakeServer) -> str:
    return f"openai-compatible:fake@{server.url}/v1"


def test_a_malformed_pm_answer_degrades_the_run_and_is_not_cached(
    cold_cache: None, fake_model: FakeServer, breaker_block: CircuitBreakerBlock
) -> None:
    """One analyst, one ticker: call 1 is the analyst's, call 2 the portfolio manager's (garbage, not retried)."""
    from flows.hedge_fund import hedge_fund

    fake_model.mode(next=["none", "garbage"])
    first: RunResult = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=["technicals"],
                                model=_model(fake_model), persist=False, breaker_block=BREAKER)
    assert first.status == "degraded"
    assert set(first.degraded_orders) == {"AAPL"} and "ModelOutputError" in first.degraded_orders["AAPL"]
    assert "[rules:" in first.orders[0].reasoning
    calls = fake_model.counters()["calls"]
    assert calls == 2

    second: RunResult = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=["technicals"],
                                 model=_model(fake_model), persist=False, breaker_block=BREAKER)
    assert fake_model.counters()["calls"] == calls + 1  # the analyst's signal is cached, the PM asked again
    assert second.status == "completed" and second.degraded_orders == {}
    # row 8: the cached signal's call is a saving, not this run's spending; the garbage answer was billed
    assert second.usage.calls == 1 and second.usage_by_analyst["technicals"].calls == 0
    assert second.cache_savings.calls == 1
    assert first.usage.calls == 2 and first.usage_by_analyst["portfolio_manager"].output_tokens > 0


# --------------------------------------------------------------------------- row 8: usage accounting


def test_usage_counts_what_this_run_spent(
    cold_cache: None, fake_model: FakeServer, breaker_block: CircuitBreakerBlock
) -> None:
    """A malformed analyst answer's tokens are counted; a warm rerun spends nothing and says what it saved."""
    from flows.hedge_fund import hedge_fund

    fake_model.mode(next=["garbage"])
    cold: RunResult = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=["technicals", "valuation"],
                               model=_model(fake_model), persist=False, breaker_block=BREAKER)
    served = fake_model.counters()
    assert served["calls"] == 3 and sum(s.degraded for s in cold.signals) == 1
    assert cold.usage.calls == 3  # the billed garbage answer included
    assert (cold.usage.input_tokens, cold.usage.output_tokens) == (served["input_tokens"], served["output_tokens"])

    warm: RunResult = run_flow(hedge_fund, tickers=["AAPL"], end=END, analysts=["technicals", "valuation"],
                               model=_model(fake_model), persist=False, breaker_block=BREAKER)
    spent = fake_model.counters()["calls"] - served["calls"]  # the degraded signal was not cached: asked again
    assert spent == 2  # that analyst and the portfolio manager
    assert warm.usage.calls == spent
    assert warm.cache_savings.calls == 1 and warm.cache.hits >= 1


# --------------------------------------------------------------------------- row 9: optional datasets


def test_a_failing_optional_dataset_leaves_only_its_part_missing(
    cold_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tasks.fetch
    from flows.hedge_fund import hedge_fund
    from hedgeflow.data.offline import OfflineProvider
    from hedgeflow.errors import TransientDataError

    class FlakyNews(OfflineProvider):  # what FinancialDatasets raises for a 503 on /news/
        def get_company_news(self, ticker: str, start: dt.date, end: dt.date):  # type: ignore[no-untyped-def]
            raise TransientDataError(f"news for {ticker}: 503 Service Unavailable")

        def get_insider_trades(self, ticker: str, start: dt.date, end: dt.date):  # type: ignore[no-untyped-def]
            if ticker == "NVDA":
                raise TransientDataError(f"insider trades for {ticker}: 429 Too Many Requests")
            return super().get_insider_trades(ticker, start, end)

    monkeypatch.setattr(tasks.fetch, "provider_named", lambda name: FlakyNews())
    result: RunResult = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END,
                                 analysts=["technicals", "sentiment"], persist=False)
    assert result.errors == {} and [o.ticker for o in result.orders] == ["AAPL", "NVDA"]
    assert {(s.ticker, s.analyst) for s in result.signals} == {
        (t, a) for t in ("AAPL", "NVDA") for a in ("technicals", "sentiment")}
    assert set(result.data_gaps) == {"AAPL/news", "NVDA/news", "NVDA/insider_trades"}
    assert "503 Service Unavailable" in result.data_gaps["AAPL/news"]
    assert result.status == "degraded"
    from hedgeflow.report import render_text

    assert "NVDA/insider_trades: missing, analysed without it" in render_text(result)


# --------------------------------------------------------------------------- row 6: database down at persist


def test_database_down_at_persist_prints_keeps_and_replays(tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(HEDGEFLOW_HOME=str(home), HEDGEFLOW_SERVER="ephemeral", HEDGEFLOW_DATABASE_URL=REFUSING_DB)
    run = subprocess.run([HEDGEFLOW, "analyze", "--tickers", "AAPL", "--analysts", "technicals", "--json"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 4, run.stderr[-2000:]
    printed = RunResult.model_validate_json(run.stdout)  # the whole result, on stdout
    assert printed.orders and printed.persist_error and "127.0.0.1:1" in printed.persist_error
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("hedgeflow: error: run not saved to the database")
    assert "Traceback" not in run.stderr
    kept = home / "unwritten" / f"{printed.run_id}.json"
    assert printed.saved_to == str(kept)
    assert json.loads(kept.read_text())["run_id"] == printed.run_id  # readable JSON, not a pickle

    env["HEDGEFLOW_DATABASE_URL"] = postgres_url
    try:
        replay = subprocess.run([HEDGEFLOW, "history", "--replay", "--run", printed.run_id, "--json"],
                                env=env, capture_output=True, text=True, timeout=120)
        assert replay.returncode == 0, replay.stderr
        assert "replayed 1 kept run" in replay.stderr
        assert json.loads(replay.stdout)["run_id"] == printed.run_id
        assert not kept.exists()
    finally:
        from sqlalchemy import delete

        from hedgeflow.store import OrderRow, RunRow, SignalRow, get_engine

        with get_engine(postgres_url).begin() as connection:  # only what this test wrote
            for table, column in ((SignalRow, SignalRow.run_id), (OrderRow, OrderRow.run_id), (RunRow, RunRow.id)):
                connection.execute(delete(table).where(column == printed.run_id))


# --------------------------------------------------------------------------- row 12: noise


def test_an_outage_with_redis_down_says_each_thing_once(tmp_path: Path, fake_model: FakeServer) -> None:
    """Redis unreachable and the model down: one Redis warning, repeats summarised, no traceback at exit."""
    fake_model.mode(outage=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(HEDGEFLOW_HOME=str(tmp_path / "home"), HEDGEFLOW_SERVER="ephemeral", OPENAI_API_KEY="sk-test",
               HEDGEFLOW_REDIS_URL="redis://127.0.0.1:1/0")
    run = subprocess.run([HEDGEFLOW, "analyze", "--tickers", "AAPL,NVDA", "--analysts", "technicals,valuation,growth",
                          "--model", _model(fake_model)], env=env, capture_output=True, text=True, timeout=300)
    fake_model.mode(outage=False)
    assert run.returncode == 0, run.stderr[-2000:]  # degraded: every order delivered, from rules
    assert run.stderr.count("is unreachable") == 1, run.stderr
    assert "more warning(s) like: degraded to rules: circuit breaker" in run.stderr
    degraded_lines = [line for line in run.stderr.splitlines() if "degraded to rules: circuit breaker" in line]
    assert len(degraded_lines) == 2  # the first such warning, then its summary
    assert "SyncHttpxClientWrapper" not in run.stderr and "Exception ignored" not in run.stderr
