"""From the simulation's record to the result: metrics, scorecard inputs, tables for artifacts."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

import numpy as np

import hedgeflow.backtest.metrics as m
from hedgeflow import finmath
from hedgeflow.backtest.engine import rules_decision, simulate
from hedgeflow.backtest.models import (
    BacktestMetrics,
    BacktestRequest,
    BacktestResult,
    EquityPoint,
    ScorecardRow,
    Trade,
)
from hedgeflow.backtest.plan import BacktestPlan
from hedgeflow.backtest.scorecard import build_scorecard, closes_by_ticker, signal_records
from hedgeflow.backtest.weighting import weighted_decision
from hedgeflow.schemas import AgentSignal, CacheStats, ModelUsage, Price

__all__ = [
    "assemble_result",
    "backtest_metrics",
    "metrics_markdown",
    "scorecard_markdown",
]


def backtest_metrics(curve: Sequence[EquityPoint], trades: Sequence[Trade]) -> BacktestMetrics:
    """Every metric of docs/backtest.md from the daily curve and the fills."""
    equity = [p.equity for p in curve]
    bench = [p.benchmark for p in curve]
    daily = finmath.returns(equity)
    bench_daily = finmath.returns(bench)
    worst, peak, trough, recovery = m.drawdown_dates(equity, [p.date for p in curve])
    gross, net = m.exposure([p.long_value for p in curve], [p.short_value for p in curve], equity)
    traded = sum(t.quantity * t.price for t in trades)
    return BacktestMetrics(
        total_return=m.total_return(equity),
        annualised_return=m.annualised_return(equity),
        volatility=finmath.annualised_volatility(daily),
        sharpe=m.sharpe_ratio(daily),
        sortino=m.sortino_ratio(daily),
        max_drawdown=worst,
        max_drawdown_peak=peak,
        max_drawdown_trough=trough,
        max_drawdown_recovery=recovery,
        turnover=m.turnover(traded, equity),
        gross_exposure=gross,
        net_exposure=net,
        benchmark_return=m.total_return(bench),
        alpha=m.alpha(daily, bench_daily),
        beta=finmath.beta(daily, bench_daily),
        trades=len(trades),
        sessions=len(curve),
    )


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.2%}"


def _num(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}"


def metrics_markdown(result: BacktestResult) -> str:
    """The metrics as a two-column markdown table."""
    k = result.metrics
    if k is None:
        return "No metrics: the backtest did not run to its end."
    rows = [
        ("Total return", _pct(k.total_return)),
        ("Annualised return", _pct(k.annualised_return)),
        ("Volatility (annualised)", _pct(k.volatility)),
        ("Sharpe", _num(k.sharpe)),
        ("Sortino", _num(k.sortino)),
        ("Max drawdown", f"{_pct(k.max_drawdown)} ({k.max_drawdown_peak} to {k.max_drawdown_trough}, "
                         f"recovered {k.max_drawdown_recovery or 'never'})"),
        ("Turnover (x mean equity)", _num(k.turnover)),
        ("Gross / net exposure", f"{_num(k.gross_exposure)} / {_num(k.net_exposure)}"),
        (f"Benchmark ({result.request.benchmark}) return", _pct(k.benchmark_return)),
        ("Alpha (annualised) / beta", f"{_pct(k.alpha)} / {_num(k.beta)}"),
        ("Trades / sessions", f"{k.trades} / {k.sessions}"),
        ("Model calls / cost", f"{result.usage.calls} / ${result.usage.cost_usd:.4f}"),
    ]
    return "\n".join(["| Metric | Value |", "| --- | --- |", *(f"| {a} | {b} |" for a, b in rows)])


def scorecard_markdown(rows: Sequence[ScorecardRow]) -> str:
    """The scorecard as a markdown table, best rank IC first within each horizon."""
    lines = [
        "| Analyst | Ticker | Horizon | Signals | Hit rate | Rank IC | Bullish | Neutral | Bearish |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    ordered = sorted(rows, key=lambda r: (r.horizon, -np.nan_to_num(r.rank_ic, nan=-2.0), r.analyst, r.ticker))
    for r in ordered:
        hit = "n/a" if math.isnan(r.hit_rate) else f"{r.hit_rate:.0%}"
        lines.append(
            f"| {r.analyst} | {r.ticker} | {r.horizon} | {r.signals} | {hit} | {_num(r.rank_ic)} | "
            f"{_pct(r.mean_return_bullish)} | {_pct(r.mean_return_neutral)} | {_pct(r.mean_return_bearish)} |"
        )
    return "\n".join(lines)


def assemble_result(
    *,
    run_id: str,
    request: BacktestRequest,
    plan: BacktestPlan,
    decided: Sequence[dt.date],
    bars: dict[str, Sequence[Price]],
    benchmark: Sequence[Price],
    signals: Sequence[AgentSignal],
    errors: dict[str, str],
    usage: ModelUsage,
    started_at: dt.datetime,
    stopped_reason: str | None = None,
    cache: CacheStats | None = None,
) -> BacktestResult:
    """Simulate the book on the committee's signals, then metrics and scorecard, in one result.

    ``decided`` are the rebalance dates whose signals were computed; when the
    run stopped early (max cost) the book runs only up to the next rebalance
    date it could not decide, rather than holding blindly to the end.
    """
    undecided = [d for d in plan.rebalance if d not in set(decided)]
    sessions = [s for s in plan.sessions if not undecided or s < undecided[0]]
    by_date: dict[dt.date, list[AgentSignal]] = defaultdict(list)
    for signal in signals:
        by_date[signal.as_of].append(signal)
    decide = weighted_decision(dict(by_date)) if request.weight_analysts else rules_decision
    sim = simulate(
        sessions, bars, benchmark, list(decided), dict(by_date),
        cash=request.cash, margin_requirement=request.margin_requirement, costs=request.costs, decide=decide,
    )
    records = signal_records(signals)
    status: Literal["completed", "degraded", "stopped", "failed"]
    if not signals:
        status = "failed"
    elif stopped_reason:
        status = "stopped"
    elif errors or any(s.degraded for s in signals):
        status = "degraded"
    else:
        status = "completed"
    return BacktestResult(
        run_id=run_id,
        request=request,
        status=status,
        stopped_reason=stopped_reason,
        started_at=started_at,
        finished_at=dt.datetime.now(dt.timezone.utc),
        rebalance_dates=list(decided),
        equity_curve=sim.equity_curve,
        trades=sim.trades,
        metrics=backtest_metrics(sim.equity_curve, sim.trades) if len(sim.equity_curve) > 1 else None,
        scorecard=build_scorecard(records, closes_by_ticker({t: bars[t] for t in request.tickers if t in bars})),
        signals=sorted(records, key=lambda r: (r.date, r.ticker, r.analyst)),
        errors=errors,
        estimate=plan.estimate,
        usage=usage,
        cache=cache or CacheStats(),
    )
