"""The backtest's boundary types: its request, the book's daily record, its trades and its result.

Plain pydantic data, no I/O. Money is in USD, returns and rates are fractions
(0.05 is 5 %), costs in basis points are 1/10,000 of the traded value.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from hedgeflow.backtest.calendar import Frequency
from hedgeflow.schemas import CacheStats, ModelUsage, Signal

__all__ = [
    "BacktestMetrics",
    "BacktestRequest",
    "BacktestResult",
    "CostEstimate",
    "Costs",
    "EquityPoint",
    "ScorecardRow",
    "SignalRecord",
    "Trade",
]

FillAction = Literal["buy", "sell", "short", "cover"]


def _none_is_nan(value: Any) -> Any:
    return float("nan") if value is None else value


# A figure that may be unknown: nan in Python, null in JSON, and null reads back as nan.
Figure = Annotated[float, BeforeValidator(_none_is_nan)]


class Costs(BaseModel):
    """What a fill costs: commission per share and/or in bps of the traded value, and slippage in bps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commission_per_share: float = Field(default=0.0, ge=0.0, description="USD per share traded.")
    commission_bps: float = Field(default=0.0, ge=0.0, description="Basis points of the traded value.")
    slippage_bps: float = Field(default=0.0, ge=0.0, description="Basis points the fill is worse than the open.")


class BacktestRequest(BaseModel):
    """A validated backtest: the flow's parameters in one place."""

    model_config = ConfigDict(extra="forbid")

    tickers: list[str] = Field(min_length=1, description="Tickers to trade, e.g. AAPL,NVDA.")
    start: dt.date = Field(description="First session of the window.")
    end: dt.date = Field(description="Last session of the window.")
    frequency: Frequency = Field(default="monthly", description="Rebalance daily, weekly or monthly.")
    analysts: list[str] | None = Field(default=None, description="Analyst keys; None for the whole committee.")
    model: str = Field(default="rules", description="rules, anthropic:<model>, openai:<model>, ...")
    cash: float = Field(default=100_000.0, gt=0.0, description="Starting cash, USD.")
    margin_requirement: float = Field(default=0.5, gt=0.0, le=1.0, description="Collateral per USD shorted.")
    costs: Costs = Field(default_factory=Costs)
    benchmark: str = Field(default="SPY", description="Ticker whose buy-and-hold is the benchmark.")
    data_provider: str = Field(default="offline")
    max_cost_usd: float | None = Field(default=None, ge=0.0, description="Stop before model spend would pass this.")
    weight_analysts: bool = Field(default=False, description="Weight analysts by their scorecard so far (no future data).")

    @field_validator("tickers")
    @classmethod
    def _upper(cls, tickers: list[str]) -> list[str]:
        cleaned = [t.strip().upper() for t in tickers if t.strip()]
        if not cleaned:
            raise ValueError("at least one ticker is required")
        return list(dict.fromkeys(cleaned))

    @field_validator("benchmark")
    @classmethod
    def _upper_benchmark(cls, benchmark: str) -> str:
        return benchmark.strip().upper()

    @model_validator(mode="after")
    def _window(self) -> BacktestRequest:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self


class SignalRecord(BaseModel):
    """One analyst's view of one ticker as of one rebalance date (compact, for the scorecard)."""

    date: dt.date
    analyst: str
    ticker: str
    signal: Signal
    confidence: float
    degraded: bool = False


class EquityPoint(BaseModel):
    """The book at one session's close; equity = cash + long_value - short_value."""

    date: dt.date
    equity: float
    cash: float
    long_value: float
    short_value: float
    margin: float = Field(description="Collateral required for the shorts at this close (USD).")
    benchmark: Figure = Field(description="The benchmark bought with the starting cash at the first close.")


class Trade(BaseModel):
    """One fill: the session it filled on and its price (slippage included)."""

    date: dt.date
    ticker: str
    action: FillAction
    quantity: int = Field(gt=0)
    price: float = Field(description="Fill price per share, slippage included.")
    commission: float = Field(description="USD.")
    slippage: float = Field(description="USD: quantity x |fill price - open|.")
    decided: dt.date | None = Field(default=None, description="Rebalance date of the order; None for a margin call.")
    note: str = ""


class BacktestMetrics(BaseModel):
    """Performance figures; nan (null in JSON) where there is too little data. Formulas: docs/backtest.md."""

    total_return: Figure
    annualised_return: Figure
    volatility: Figure
    sharpe: Figure
    sortino: Figure
    max_drawdown: Figure
    max_drawdown_peak: dt.date | None = None
    max_drawdown_trough: dt.date | None = None
    max_drawdown_recovery: dt.date | None = None
    turnover: Figure
    gross_exposure: Figure
    net_exposure: Figure
    benchmark_return: Figure
    alpha: Figure
    beta: Figure
    trades: int = 0
    sessions: int = 0


class ScorecardRow(BaseModel):
    """How one analyst's signals on one ticker (or ALL tickers) related to forward returns."""

    analyst: str
    ticker: str
    horizon: int = Field(description="Sessions forward.")
    signals: int = Field(description="Signals with a known forward return.")
    hit_rate: Figure = Field(description="Share of bullish/bearish calls whose forward return had that sign.")
    rank_ic: Figure = Field(description="Spearman correlation of signed confidence with forward return.")
    mean_return_bullish: Figure
    mean_return_neutral: Figure
    mean_return_bearish: Figure


class CostEstimate(BaseModel):
    """Model calls, tokens and USD a backtest will need at most (cache hits make it cheaper)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    note: str = ""


class BacktestResult(BaseModel):
    run_id: str
    request: BacktestRequest
    status: Literal["completed", "degraded", "stopped", "failed"] = "completed"
    stopped_reason: str | None = None
    started_at: dt.datetime
    finished_at: dt.datetime
    rebalance_dates: list[dt.date] = Field(default_factory=list)
    equity_curve: list[EquityPoint] = Field(default_factory=list)
    trades: list[Trade] = Field(default_factory=list)
    metrics: BacktestMetrics | None = None
    scorecard: list[ScorecardRow] = Field(default_factory=list)
    signals: list[SignalRecord] = Field(default_factory=list)
    errors: dict[str, str] = Field(default_factory=dict)
    estimate: CostEstimate = Field(default_factory=CostEstimate)
    usage: ModelUsage = Field(default_factory=ModelUsage, description="What this run spent (cache hits cost nothing).")
    cache: CacheStats = Field(default_factory=CacheStats, description="Fetch and analyst task runs served from cache.")
