"""The plan: per-date windows, batches, the cost estimate and the budget check, worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from hedgeflow.backtest.plan import (
    analysis_window,
    batches,
    estimate_cost,
    total_usage,
    within_budget,
)
from hedgeflow.schemas import AgentSignal, ModelUsage

DATES = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(30)]


def test_the_window_of_d_is_the_one_analyze_uses() -> None:
    assert analysis_window(dt.date(2024, 5, 1)) == (dt.date(2024, 1, 31), dt.date(2024, 5, 1))  # 91 days back


def test_batches() -> None:
    assert [len(b) for b in batches(DATES, "rules")] == [24, 6]
    assert [len(b) for b in batches(DATES, "openai:gpt-4.1-mini")] == [6] * 5
    assert sum(batches(DATES, "rules"), []) == DATES  # chronological, nothing lost


def test_estimate_cost() -> None:
    # 1,000 calls x (900 input x $1 + 150 output x $5) per million tokens = 0.9 + 0.75 = $1.65
    estimate = estimate_cost("anthropic:claude-haiku-4-5", 1_000)
    assert (estimate.calls, estimate.input_tokens, estimate.output_tokens) == (1_000, 900_000, 150_000)
    assert estimate.cost_usd == pytest.approx(1.65)
    assert estimate_cost("rules", 0).cost_usd == 0.0
    assert "counted as 0" in estimate_cost("openai-compatible:mine@http://127.0.0.1:1/v1", 10).note


def test_budget_and_spend() -> None:
    assert within_budget(0.4, 0.6, 1.0) and within_budget(5.0, 5.0, None)
    assert not within_budget(0.5, 0.6, 1.0)
    used = [AgentSignal(analyst="a", ticker="X", as_of=DATES[0], signal="neutral", confidence=0, reasoning="",
                        usage=ModelUsage(calls=1, input_tokens=10, cost_usd=c)) for c in (0.25, 0.5)]
    assert total_usage(used).calls == 2 and total_usage(used).cost_usd == pytest.approx(0.75)
