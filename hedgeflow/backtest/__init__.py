"""Backtests: rebalance calendar, the book, the simulation, metrics and the analyst scorecard.

Pure domain code: no Prefect, no I/O. The ``backtest`` flow maps the
per-date work (snapshots, analyst signals) through the task runner and hands
the signals to ``simulate``; docs/backtest.md gives every rule and formula.
"""

from hedgeflow.backtest.accounting import Book, Holding, fill_price
from hedgeflow.backtest.calendar import Frequency, next_session, rebalance_dates, sessions_between
from hedgeflow.backtest.engine import Simulation, history_as_of, rules_decision, simulate
from hedgeflow.backtest.models import (
    BacktestMetrics,
    BacktestRequest,
    BacktestResult,
    CostEstimate,
    Costs,
    EquityPoint,
    ScorecardRow,
    SignalRecord,
    Trade,
)
from hedgeflow.backtest.scorecard import build_scorecard, closes_by_ticker, signal_records
from hedgeflow.backtest.summary import backtest_metrics

__all__ = [
    "BacktestMetrics",
    "BacktestRequest",
    "BacktestResult",
    "Book",
    "CostEstimate",
    "Costs",
    "EquityPoint",
    "Frequency",
    "Holding",
    "ScorecardRow",
    "SignalRecord",
    "Simulation",
    "Trade",
    "backtest_metrics",
    "closes_by_ticker",
    "fill_price",
    "history_as_of",
    "next_session",
    "rebalance_dates",
    "rules_decision",
    "build_scorecard",
    "sessions_between",
    "signal_records",
    "simulate",
]
