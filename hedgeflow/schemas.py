"""Pydantic types that every layer speaks.

Market data follows the financialdatasets.ai API shapes (the de-facto schema
of this field), so a live provider and the bundled data produce the same
objects. Everything here is plain data: no I/O, no Prefect.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "MODEL_HELP",
    "MODEL_PATTERN",
    "TICKER_PATTERN",
    "Action",
    "AnalystKey",
    "BundledTicker",
    "DataProviderName",
    "ModelSpec",
    "Ticker",
    "Tickers",
    "AgentSignal",
    "Analysis",
    "CacheStats",
    "CompanyNews",
    "FinancialMetrics",
    "InsiderTrade",
    "LineItem",
    "ModelUsage",
    "Order",
    "Period",
    "Portfolio",
    "Position",
    "PositionLimit",
    "Price",
    "PriceAdjustment",
    "RunRequest",
    "RunResult",
    "Signal",
    "Snapshot",
    "SubScore",
]

Signal = Literal["bullish", "bearish", "neutral"]
Action = Literal["buy", "sell", "short", "cover", "hold"]
Period = Literal["annual", "quarterly", "ttm"]
# "splits_and_dividends" (yfinance auto_adjust, the bundled prices) puts older closes below the
# prices traded, so a market cap from them understates older values of dividend payers.
PriceAdjustment = Literal["none", "splits", "splits_and_dividends"]

# --------------------------------------------------------------------------- run parameters
# The flows' parameter types: Prefect turns them into the run form's choices and checks
# (a JSON schema enum or pattern), so bad input is refused before a run exists.

DATA_PROVIDER_BLOCK_PATTERN = r"^block:[A-Za-z0-9][A-Za-z0-9_.-]*$"
DataProviderName = Literal["offline", "live", "financialdatasets"] | Annotated[
    str,
    Field(pattern=DATA_PROVIDER_BLOCK_PATTERN, title="saved block",
          description="block:NAME, a saved Hedgeflow Data Provider block."),
]
AnalystKey = Literal[  # the committee; kept equal to hedgeflow.analysts.registry.CATALOGUE by a test
    "technicals", "fundamentals", "valuation", "sentiment", "warren_buffett", "charlie_munger", "ben_graham",
    "bill_ackman", "cathie_wood", "michael_burry", "peter_lynch", "phil_fisher", "mohnish_pabrai",
    "aswath_damodaran", "rakesh_jhunjhunwala", "stanley_druckenmiller", "nassim_taleb", "growth", "news_sentiment",
]
BundledTicker = Literal["AAPL", "BRK-B", "GOOGL", "META", "NVDA", "TSLA", "V"]  # the offline data's companies (SPY is prices only)
TICKER_PATTERN = r"^[A-Za-z][A-Za-z0-9.\-]{0,9}$"
Ticker = Annotated[
    str,
    Field(pattern=TICKER_PATTERN, title="Ticker", description="A symbol such as AAPL or BRK-B."),
]
Tickers = Annotated[list[BundledTicker], Field(min_length=1, title="bundled")] | Annotated[
    list[Ticker], Field(min_length=1, title="any symbol")
]  # the form offers the bundled ones as choices, and a list of typed symbols for a live provider
MODEL_HELP = (
    "rules (no model call), anthropic:MODEL, openai:MODEL, openai-compatible:MODEL@BASE_URL "
    "or block:BLOCK_TYPE_SLUG/BLOCK_NAME; e.g. anthropic:claude-sonnet-4-5, "
    "openai-compatible:llama3.1@http://localhost:11434/v1, block:hedgeflow-anthropic-model/claude."
)
MODEL_PATTERN = (
    r"^(rules|(anthropic|openai):[^\s@<>]+(@https?://[^\s<>]+)?|openai-compatible:[^\s@<>]+@https?://[^\s<>]+"
    r"|block:[a-z0-9-]+/[A-Za-z0-9_.-]+)$"
)
ModelSpec = Annotated[str, Field(pattern=MODEL_PATTERN)]


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# --------------------------------------------------------------------------- market data


class Price(_Data):
    """One daily bar; ``time`` is the ISO date of the session."""

    open: float
    close: float
    high: float
    low: float
    volume: int
    time: str


class FinancialMetrics(_Data):
    """Ratios as of a report period, valued at the price of the as-of date.

    Ratios are fractions (0.25 means 25%); growth is period over prior period.
    """

    ticker: str
    report_period: str
    period: Period
    currency: str = "USD"
    market_cap: float | None = None
    enterprise_value: float | None = None
    price_to_earnings_ratio: float | None = None
    price_to_book_ratio: float | None = None
    price_to_sales_ratio: float | None = None
    enterprise_value_to_ebitda_ratio: float | None = None
    free_cash_flow_yield: float | None = None
    peg_ratio: float | None = None
    gross_margin: float | None = None
    operating_margin: float | None = None
    net_margin: float | None = None
    return_on_equity: float | None = None
    return_on_assets: float | None = None
    return_on_invested_capital: float | None = None
    asset_turnover: float | None = None
    current_ratio: float | None = None
    quick_ratio: float | None = None
    debt_to_equity: float | None = None
    interest_coverage: float | None = None
    revenue_growth: float | None = None
    earnings_growth: float | None = None
    book_value_growth: float | None = None
    free_cash_flow_growth: float | None = None
    earnings_per_share: float | None = None
    book_value_per_share: float | None = None
    free_cash_flow_per_share: float | None = None
    payout_ratio: float | None = None


LINE_ITEM_FIELDS: tuple[str, ...] = (
    "revenue",
    "net_income",
    "operating_income",
    "ebit",
    "ebitda",
    "gross_profit",
    "research_and_development",
    "interest_expense",
    "free_cash_flow",
    "capital_expenditure",
    "depreciation_and_amortization",
    "dividends_and_other_cash_distributions",
    "issuance_or_purchase_of_equity_shares",
    "outstanding_shares",
    "total_assets",
    "total_liabilities",
    "shareholders_equity",
    "current_assets",
    "current_liabilities",
    "total_debt",
    "cash_and_equivalents",
    "goodwill_and_intangible_assets",
    "working_capital",
)


class LineItem(_Data):
    """Statement items for one period, in USD (shares in units).

    Cash outflows keep the API's sign convention: capital expenditure,
    dividends and buybacks are negative.
    """

    ticker: str
    report_period: str
    period: Period
    currency: str = "USD"
    revenue: float | None = None
    net_income: float | None = None
    operating_income: float | None = None
    ebit: float | None = None
    ebitda: float | None = None
    gross_profit: float | None = None
    research_and_development: float | None = None
    interest_expense: float | None = None
    free_cash_flow: float | None = None
    capital_expenditure: float | None = None
    depreciation_and_amortization: float | None = None
    dividends_and_other_cash_distributions: float | None = None
    issuance_or_purchase_of_equity_shares: float | None = None
    outstanding_shares: float | None = None
    total_assets: float | None = None
    total_liabilities: float | None = None
    shareholders_equity: float | None = None
    current_assets: float | None = None
    current_liabilities: float | None = None
    total_debt: float | None = None
    cash_and_equivalents: float | None = None
    goodwill_and_intangible_assets: float | None = None
    working_capital: float | None = None


class InsiderTrade(_Data):
    ticker: str
    issuer: str | None = None
    name: str | None = None
    title: str | None = None
    is_board_director: bool | None = None
    transaction_date: str | None = None
    transaction_shares: float | None = None
    transaction_price_per_share: float | None = None
    transaction_value: float | None = None
    shares_owned_before_transaction: float | None = None
    shares_owned_after_transaction: float | None = None
    security_title: str | None = None
    filing_date: str


class CompanyNews(_Data):
    ticker: str
    title: str
    author: str | None = None
    source: str | None = None
    date: str
    url: str | None = None
    sentiment: Signal | None = None


class Snapshot(_Data):
    """All of one ticker's data as of ``end``: what every analyst reads.

    ``insider_trades`` and ``news`` are ``None`` when the provider has no such
    data (the bundled set has neither); ``missing`` names what is absent and
    why, so analysts report it instead of inventing it.
    """

    ticker: str
    start: dt.date
    end: dt.date
    provider: str
    prices: tuple[Price, ...]
    metrics: tuple[FinancialMetrics, ...] = ()  # ttm, newest first
    line_items: tuple[LineItem, ...] = ()  # annual, newest first
    quarterly_line_items: tuple[LineItem, ...] = ()  # newest first
    insider_trades: tuple[InsiderTrade, ...] | None = None
    news: tuple[CompanyNews, ...] | None = None
    market_cap: float | None = None
    price_adjustment: PriceAdjustment | None = Field(
        default=None,
        description="How the provider's closes are adjusted (market cap = close x shares inherits it); "
        "None when the provider does not say.",
    )
    missing: tuple[str, ...] = ()
    fingerprint: str = Field(default="", description="Digest of everything above: part of analyst cache keys.")

    @property
    def latest_metrics(self) -> FinancialMetrics | None:
        return self.metrics[0] if self.metrics else None


# --------------------------------------------------------------------------- analysis


class SubScore(_Data):
    """One named part of an analysis.

    ``score`` runs from -1 (bearish) to +1 (bullish); ``None`` means no data,
    and a sub-score without data leaves the weighting instead of counting as
    bearish.
    """

    name: str
    score: float | None = Field(default=None, ge=-1.0, le=1.0)
    weight: float = Field(default=1.0, ge=0.0)
    details: str = ""
    figures: dict[str, float | None] = Field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.score is not None


class Analysis(_Data):
    """An analyst's compact findings: what a model prompt carries, never raw data."""

    analyst: str
    ticker: str
    as_of: dt.date
    sub_scores: tuple[SubScore, ...]
    figures: dict[str, float | None] = Field(default_factory=dict)

    def sub_score(self, name: str) -> SubScore:
        for sub in self.sub_scores:
            if sub.name == name:
                return sub
        raise KeyError(name)


class ModelUsage(BaseModel):
    """Tokens and cost of model calls; summed per analyst and per run."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0

    def __add__(self, other: ModelUsage) -> ModelUsage:
        return ModelUsage(
            calls=self.calls + other.calls,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            latency_s=self.latency_s + other.latency_s,
        )


class AgentSignal(BaseModel):
    analyst: str
    ticker: str
    as_of: dt.date
    signal: Signal
    confidence: float = Field(ge=0.0, le=100.0)
    reasoning: str
    source: Literal["rules", "model"] = "rules"
    model: str = "rules"
    degraded: bool = False
    degraded_reason: str | None = None
    usage: ModelUsage = Field(default_factory=ModelUsage)
    elapsed_s: float = 0.0


# --------------------------------------------------------------------------- portfolio


class Position(BaseModel):
    """Shares held in one ticker, long and short, and what they cost."""

    long: int = Field(default=0, ge=0, description="Shares held long.")
    short: int = Field(default=0, ge=0, description="Shares sold short.")
    long_cost_basis: float = Field(default=0.0, ge=0.0, description="Average price paid per long share, USD.")
    short_cost_basis: float = Field(default=0.0, ge=0.0, description="Average price received per short share, USD.")


class Portfolio(BaseModel):
    """The book the portfolio manager trades from."""

    cash: float = Field(default=100_000.0, ge=0.0, description="Cash available to trade, USD.")
    margin_requirement: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Share of a short position's value held as margin (0.5 is 50 %)."
    )
    margin_used: float = Field(default=0.0, ge=0.0, description="Margin already tied up by open shorts, USD.")
    positions: dict[str, Position] = Field(
        default_factory=dict,
        description=(
            "Current holdings by ticker, e.g. "
            '{"AAPL": {"long": 10, "long_cost_basis": 150.0}, "TSLA": {"short": 5, "short_cost_basis": 240.0}}; '
            "empty for none."
        ),
        examples=[{"AAPL": {"long": 10, "short": 0, "long_cost_basis": 150.0, "short_cost_basis": 0.0}}],
    )

    def position(self, ticker: str) -> Position:
        return self.positions.get(ticker, Position())


class PositionLimit(BaseModel):
    ticker: str
    price: float
    volatility_annual: float | None
    avg_correlation: float | None
    limit_fraction: float = Field(ge=0.0, le=1.0)
    limit_value: float = Field(ge=0.0)
    reasoning: str = ""


class Order(BaseModel):
    ticker: str
    action: Action
    quantity: int = Field(ge=0)
    confidence: float = Field(ge=0.0, le=100.0)
    reasoning: str


# --------------------------------------------------------------------------- run


class RunRequest(BaseModel):
    """A validated request; the flow's parameters in one place."""

    model_config = ConfigDict(extra="forbid")

    tickers: list[str] = Field(min_length=1, description="Tickers to analyse, e.g. AAPL,NVDA.")
    start: dt.date | None = Field(default=None, description="First date of the window; default three months before end.")
    end: dt.date | None = Field(default=None, description="As-of date; default the latest date the provider has.")
    analysts: list[str] | None = Field(default=None, description="Analyst keys; None for the whole committee.")
    model: str = Field(default="rules", description=MODEL_HELP)
    portfolio: Portfolio = Field(default_factory=Portfolio, description="Cash, margin requirement and current positions.")
    refresh: bool = Field(default=False, description="Recompute and rewrite cached results.")

    @field_validator("tickers")
    @classmethod
    def _upper(cls, tickers: list[str]) -> list[str]:
        cleaned = [t.strip().upper() for t in tickers if t.strip()]
        if not cleaned:
            raise ValueError("at least one ticker is required")
        return list(dict.fromkeys(cleaned))


class CacheStats(BaseModel):
    """Task cache hits per tier; ``hit_rate`` over every cacheable task run."""

    lookups: int = 0
    hits: int = 0
    memory_hits: int = 0
    storage_hits: int = 0

    @property
    def hit_rate(self) -> float:
        return self.hits / self.lookups if self.lookups else 0.0

    def __add__(self, other: CacheStats) -> CacheStats:
        return CacheStats(
            lookups=self.lookups + other.lookups,
            hits=self.hits + other.hits,
            memory_hits=self.memory_hits + other.memory_hits,
            storage_hits=self.storage_hits + other.storage_hits,
        )


class RunResult(BaseModel):
    run_id: str
    request: RunRequest
    status: Literal["completed", "degraded", "partial", "failed"] = "completed"
    started_at: dt.datetime
    finished_at: dt.datetime
    start: dt.date
    end: dt.date
    signals: list[AgentSignal] = Field(default_factory=list)
    limits: list[PositionLimit] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)
    errors: dict[str, str] = Field(default_factory=dict, description="Ticker -> why it could not be analysed.")
    analyst_errors: dict[str, str] = Field(
        default_factory=dict, description="<ticker>/<analyst> -> why that analyst produced no signal.")
    degraded_orders: dict[str, str] = Field(
        default_factory=dict, description="Ticker -> why its order is the rules order, not the model's.")
    data_gaps: dict[str, str] = Field(
        default_factory=dict, description="<ticker>/<dataset> -> why an optional dataset is missing from this run.")
    usage: ModelUsage = Field(default_factory=ModelUsage, description="What this run spent: calls made in it.")
    cache_savings: ModelUsage = Field(
        default_factory=ModelUsage, description="What the cached answers this run reused had cost when made.")
    persist_error: str | None = Field(default=None, description="Why the run could not be written to the database.")
    saved_to: str | None = Field(default=None, description="The JSON file keeping a run the database did not take.")
    usage_by_analyst: dict[str, ModelUsage] = Field(default_factory=dict)
    cache: CacheStats = Field(default_factory=CacheStats)
    timings_s: dict[str, float] = Field(default_factory=dict)

    @property
    def degraded_count(self) -> int:
        return sum(1 for s in self.signals if s.degraded)
