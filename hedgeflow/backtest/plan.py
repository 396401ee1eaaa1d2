"""What a backtest will do before it does it: sessions, rebalance dates, per-date windows, model spend.

Point in time by construction: the analysis for rebalance date D uses the
window ``hedgeflow analyze --end D`` uses (D - 91 days to D), so every fetch
and analyst result is the very cache entry a later ``analyze`` of D reuses,
and no dataset is asked for anything after D.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hedgeflow.analysts.registry import resolve_analysts
from hedgeflow.backtest.calendar import rebalance_dates, sessions_between
from hedgeflow.backtest.models import BacktestRequest, CostEstimate
from hedgeflow.data.snapshot import PRICE_LOOKBACK_DAYS
from hedgeflow.errors import InvalidRequestError
from hedgeflow.llm import parse_model
from hedgeflow.llm.pricing import price_for
from hedgeflow.request import DEFAULT_WINDOW_DAYS
from hedgeflow.schemas import AgentSignal, ModelUsage, Price

__all__ = [
    "INPUT_TOKENS_PER_CALL",
    "OUTPUT_TOKENS_PER_CALL",
    "BacktestPlan",
    "analysis_window",
    "batch_estimate",
    "batches",
    "estimate_cost",
    "history_start",
    "plan_backtest",
    "total_usage",
    "validate_backtest",
    "within_budget",
]

# Measured on the bundled data: an analyst prompt is 1,200-2,700 characters (about 300-700
# tokens) plus the persona and the answer schema; an answer is three short fields.
INPUT_TOKENS_PER_CALL = 900
OUTPUT_TOKENS_PER_CALL = 150
BATCH_DATES = 6  # rebalance dates per mapped batch with a model: the max-cost check runs between batches
RULES_BATCH_DATES = 24  # with the free rules model: bounds the task runs in flight


def analysis_window(day: dt.date) -> tuple[dt.date, dt.date]:
    """The (start, end) window of the analysis as of ``day``: the default window of ``analyze --end day``."""
    return day - dt.timedelta(days=DEFAULT_WINDOW_DAYS), day


def history_start(start: dt.date) -> dt.date:
    """Where the price history the book and the risk manager need begins: a year before the window."""
    return start - dt.timedelta(days=DEFAULT_WINDOW_DAYS + PRICE_LOOKBACK_DAYS)


def estimate_cost(model: str, calls: int) -> CostEstimate:
    """Calls x tokens per call x the price table (hedgeflow/llm/pricing.py): an upper bound, no cache hits."""
    if model == "rules" or calls == 0:
        return CostEstimate(note="rules model: no model calls")
    if model.startswith("block:"):
        return CostEstimate(calls=calls, input_tokens=calls * INPUT_TOKENS_PER_CALL,
                            output_tokens=calls * OUTPUT_TOKENS_PER_CALL, note="model block: price unknown before it loads")
    spec = parse_model(model)
    price = price_for(spec.provider, spec.model)
    usage = ModelUsage(calls=calls, input_tokens=calls * INPUT_TOKENS_PER_CALL, output_tokens=calls * OUTPUT_TOKENS_PER_CALL)
    cost = 0.0 if price is None else (usage.input_tokens * price.input + usage.output_tokens * price.output) / 1e6
    note = "at most: cached analyses cost nothing" if price else f"no price for {model}: counted as 0"
    return CostEstimate(calls=calls, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                        cost_usd=round(cost, 6), note=note)


@dataclass(frozen=True)
class BacktestPlan:
    sessions: list[dt.date]
    rebalance: list[dt.date]
    analysts: list[str]
    estimate: CostEstimate


def plan_backtest(
    request: BacktestRequest, analysts: list[str], prices: Mapping[str, Sequence[Price]]
) -> BacktestPlan:
    """Sessions are the dates any traded ticker has a bar in the window; rebalance dates follow the frequency."""
    days = (dt.date.fromisoformat(bar.time) for series in prices.values() for bar in series)
    sessions = sessions_between(days, request.start, request.end)
    rebalance = rebalance_dates(sessions, request.frequency)
    calls = 0 if request.model == "rules" else len(rebalance) * len(request.tickers) * len(analysts)
    return BacktestPlan(sessions=sessions, rebalance=rebalance, analysts=analysts,
                        estimate=estimate_cost(request.model, calls))


def batches(dates: Sequence[dt.date], model: str) -> list[list[dt.date]]:
    """Chronological batches: small ones when model calls cost money, larger ones for the rules model."""
    size = RULES_BATCH_DATES if model == "rules" else BATCH_DATES
    return [list(dates[i : i + size]) for i in range(0, len(dates), size)]


def total_usage(signals: Iterable[AgentSignal]) -> ModelUsage:
    """The summed model usage of ``signals`` (pass only those computed by this run: cache hits cost nothing)."""
    return sum((s.usage for s in signals), ModelUsage())


def batch_estimate(plan: BacktestPlan, batch: Iterable[dt.date]) -> float:
    """USD the batch may cost: its share of the plan's estimate."""
    n = len(list(batch))
    return plan.estimate.cost_usd * n / len(plan.rebalance) if plan.rebalance else 0.0


def within_budget(spent_usd: float, next_batch_usd: float, max_cost_usd: float | None) -> bool:
    """True when the next batch's estimate still fits under the budget (always, without one)."""
    if max_cost_usd is None:
        return True
    total = spent_usd + next_batch_usd
    return total <= max_cost_usd or math.isclose(total, max_cost_usd)


def validate_backtest(request: BacktestRequest, available: dict[str, tuple[dt.date, dt.date]]) -> list[str]:
    """Raise InvalidRequestError naming what is available; return the analyst keys."""
    wanted = [*request.tickers, request.benchmark]
    unknown = [t for t in dict.fromkeys(wanted) if t not in available]
    if unknown:
        raise InvalidRequestError(f"unknown ticker(s) {', '.join(unknown)}; available: {', '.join(sorted(available))}")
    analysts = resolve_analysts(request.analysts)
    if request.model != "rules" and not request.model.startswith("block:"):
        parse_model(request.model)
    for ticker in request.tickers:
        first, last = available[ticker]
        if request.start < first or request.end > last:
            raise InvalidRequestError(f"the window {request.start} to {request.end} is outside the data for {ticker}: {first} to {last}")
    return analysts
