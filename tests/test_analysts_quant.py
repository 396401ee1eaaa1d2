"""The four quantitative analysts on constructed snapshots: each sub-score moves the right way."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Sequence

import numpy as np
import pytest

from hedgeflow.analysts import fundamentals, registry, sentiment, technicals, valuation
from hedgeflow.schemas import (
    AgentSignal,
    CompanyNews,
    FinancialMetrics,
    InsiderTrade,
    LineItem,
    Price,
    Snapshot,
)

END = dt.date(2025, 6, 30)
QUANT = {"technicals": technicals, "fundamentals": fundamentals, "valuation": valuation, "sentiment": sentiment}


# --------------------------------------------------------------------------- builders


def make_snapshot(
    closes: Sequence[float] = (),
    *,
    volumes: Sequence[int] | None = None,
    metrics: Sequence[FinancialMetrics] = (),
    line_items: Sequence[LineItem] = (),
    market_cap: float | None = None,
    insider_trades: Sequence[InsiderTrade] | None = None,
    news: Sequence[CompanyNews] | None = None,
) -> Snapshot:
    """A snapshot from closes (high/low 1% around the close) and a few statement objects."""
    vols = list(volumes) if volumes is not None else [1_000_000] * len(closes)
    first = END - dt.timedelta(days=len(closes))
    prices = tuple(
        Price(open=c, close=c, high=c * 1.01, low=c * 0.99, volume=v, time=(first + dt.timedelta(days=i)).isoformat())
        for i, (c, v) in enumerate(zip(closes, vols))
    )
    return Snapshot(
        ticker="TEST",
        start=END - dt.timedelta(days=90),
        end=END,
        provider="test",
        prices=prices,
        metrics=tuple(metrics),
        line_items=tuple(line_items),
        market_cap=market_cap,
        insider_trades=None if insider_trades is None else tuple(insider_trades),
        news=None if news is None else tuple(news),
    )


def path(drift: float, n: int = 300, vol: float = 0.01, seed: int = 1) -> list[float]:
    """A geometric random walk with daily drift: seeded, so every run sees the same prices."""
    rng = np.random.default_rng(seed)
    return list(100 * np.exp(np.cumsum(drift + vol * rng.normal(size=n))))


def metrics(**fields: float | None) -> FinancialMetrics:
    return FinancialMetrics(ticker="TEST", report_period="2025-03-31", period="ttm", **fields)


def annual(year: int, **fields: float | None) -> LineItem:
    return LineItem(ticker="TEST", report_period=f"{year}-12-31", period="annual", **fields)


def check_signal(signal: AgentSignal) -> None:
    assert 0.0 <= signal.confidence <= 100.0
    assert signal.reasoning


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize("key", list(QUANT))
def test_module_contract(key: str) -> None:
    module = QUANT[key]
    assert module.DESCRIPTION == registry.CATALOGUE[key]
    spec = registry.load_analyst(key)
    assert spec.name == module.NAME and spec.persona == module.PERSONA and len(module.PERSONA) > 100
    source = inspect.getsource(module)
    assert "prefect" not in source.lower()
    assert len(source.splitlines()) <= 300


# --------------------------------------------------------------------------- technicals


def test_steady_uptrend_is_bullish_trend_and_momentum() -> None:
    analysis = technicals.analyze(make_snapshot(path(0.003)))
    assert analysis.sub_score("trend").score > 0.5
    assert analysis.sub_score("momentum").score > 0.5
    signal = technicals.derive_signal(analysis)
    check_signal(signal)
    assert signal.signal == "bullish"
    assert "trend" in signal.reasoning and "momentum" in signal.reasoning


def test_steady_downtrend_is_bearish_trend_and_momentum() -> None:
    analysis = technicals.analyze(make_snapshot(path(-0.003)))
    assert analysis.sub_score("trend").score < -0.5
    assert analysis.sub_score("momentum").score < -0.5
    assert technicals.derive_signal(analysis).signal == "bearish"


def test_spike_far_above_the_mean_is_mean_reversion_bearish() -> None:
    closes = path(0.0, n=120, vol=0.005)
    spiked = make_snapshot(closes[:-1] + [closes[-2] * 1.25])
    dipped = make_snapshot(closes[:-1] + [closes[-2] * 0.75])
    up = technicals.analyze(spiked).sub_score("mean_reversion")
    down = technicals.analyze(dipped).sub_score("mean_reversion")
    assert up.score is not None and up.score < -0.5
    assert up.figures["zscore_50"] is not None and up.figures["zscore_50"] > 2
    assert down.score is not None and down.score > 0.5


def test_thin_volume_weakens_momentum() -> None:
    closes = path(0.003)
    normal = technicals.analyze(make_snapshot(closes)).sub_score("momentum")
    thin = technicals.analyze(make_snapshot(closes, volumes=[1_000_000] * 279 + [300_000] * 21))
    assert thin.sub_score("momentum").figures["volume_ratio"] < 1
    assert 0 < thin.sub_score("momentum").score < normal.score


def test_rising_volatility_is_bearish_regime_and_calming_is_bullish() -> None:
    calm, wild = path(0.0, n=200, vol=0.005, seed=3), path(0.0, n=21, vol=0.03, seed=4)
    expanding = calm + [calm[-1] * w / wild[0] for w in wild]
    contracting = path(0.0, n=200, vol=0.03, seed=5)
    contracting += [contracting[-1] * c / calm[0] for c in calm[:21]]
    assert technicals.analyze(make_snapshot(expanding)).sub_score("volatility").score < -0.5
    assert technicals.analyze(make_snapshot(contracting)).sub_score("volatility").score > 0.5


def test_right_skewed_returns_are_statistically_bullish() -> None:
    rng = np.random.default_rng(9)
    jumps = np.where(rng.random(300) < 0.05, 0.08, 0.0)  # rare large up-days: a fat right tail
    closes = list(100 * np.exp(np.cumsum(0.005 * rng.normal(size=300) + jumps - 0.004)))
    sub = technicals.analyze(make_snapshot(closes)).sub_score("statistical")
    assert sub.figures["skew"] > 1 and sub.score > 0.3


def test_short_history_abstains_instead_of_turning_bearish() -> None:
    analysis = technicals.analyze(make_snapshot(path(0.003, n=30)))
    for name in ("trend", "mean_reversion", "volatility", "statistical"):
        sub = analysis.sub_score(name)
        assert sub.score is None and sub.details.startswith("no data")
    assert analysis.sub_score("momentum").score is not None
    signal = technicals.derive_signal(analysis)
    check_signal(signal)
    assert "No data for trend" in signal.reasoning


def test_no_prices_is_neutral_at_zero() -> None:
    signal = technicals.derive_signal(technicals.analyze(make_snapshot([])))
    assert (signal.signal, signal.confidence) == ("neutral", 0.0)


# --------------------------------------------------------------------------- fundamentals

STRONG = {
    "return_on_equity": 0.35, "net_margin": 0.30, "operating_margin": 0.35,
    "revenue_growth": 0.25, "earnings_growth": 0.30, "book_value_growth": 0.20,
    "current_ratio": 2.5, "debt_to_equity": 0.2, "free_cash_flow_per_share": 5.5, "earnings_per_share": 5.0,
    "price_to_earnings_ratio": 40.0, "price_to_book_ratio": 8.0, "price_to_sales_ratio": 10.0,
}  # fmt: skip


def test_strong_margins_and_roe_are_profitability_bullish() -> None:
    strong = fundamentals.analyze(make_snapshot(metrics=[metrics(**STRONG)])).sub_score("profitability")
    weak = fundamentals.analyze(
        make_snapshot(metrics=[metrics(return_on_equity=0.02, net_margin=0.01, operating_margin=0.03)])
    ).sub_score("profitability")
    assert strong.score is not None and strong.score > 0.8
    assert strong.figures["roe"] == pytest.approx(0.35)
    assert weak.score is not None and weak.score < -0.5


def test_fundamentals_majority_vote_names_the_sides() -> None:
    analysis = fundamentals.analyze(make_snapshot(metrics=[metrics(**STRONG)]))
    assert analysis.sub_score("price_ratios").score < 0  # expensive on every ratio
    signal = fundamentals.derive_signal(analysis)
    check_signal(signal)
    assert signal.signal == "bullish"
    assert "3 bullish to 1 bearish" in signal.reasoning
    for name in ("profitability", "growth", "financial_health", "price_ratios"):
        assert name in signal.reasoning
    assert signal.reasoning.index("Against") < signal.reasoning.index("price_ratios")


def test_fundamentals_confidence_follows_the_scores() -> None:
    mild = {k: v for k, v in STRONG.items() if not k.startswith("price")}
    mild.update(return_on_equity=0.2, net_margin=0.18, operating_margin=0.2, revenue_growth=0.1)
    strong = fundamentals.derive_signal(fundamentals.analyze(make_snapshot(metrics=[metrics(**STRONG)])))
    split = dict(STRONG, revenue_growth=-0.2, earnings_growth=-0.3, book_value_growth=-0.1)
    tied = fundamentals.derive_signal(fundamentals.analyze(make_snapshot(metrics=[metrics(**split)])))
    partial = fundamentals.derive_signal(fundamentals.analyze(make_snapshot(metrics=[metrics(**mild)])))
    assert tied.signal == "neutral" and tied.confidence < strong.confidence
    assert partial.signal == "bullish" and partial.confidence != strong.confidence


def test_missing_ratios_abstain_and_losses_price_as_expensive() -> None:
    analysis = fundamentals.analyze(make_snapshot(metrics=[metrics(price_to_earnings_ratio=-12.0)]))
    assert analysis.sub_score("price_ratios").score == -1.0
    for name in ("profitability", "growth", "financial_health"):
        assert analysis.sub_score(name).score is None
    empty = fundamentals.derive_signal(fundamentals.analyze(make_snapshot()))
    assert (empty.signal, empty.confidence) == ("neutral", 0.0)
    assert "no financial metrics" in empty.reasoning


# --------------------------------------------------------------------------- valuation


def company(fcf: float, market_cap: float, *, ev_multiples: Sequence[float] = ()) -> Snapshot:
    """Statements scaled to ``fcf``: 6% revenue growth, net income = FCF, book value = 5 x FCF."""
    items = [
        annual(2024 - k, revenue=10 * fcf / 1.06**k, free_cash_flow=fcf, net_income=fcf,
               depreciation_and_amortization=0.2 * fcf, capital_expenditure=-0.2 * fcf,
               shareholders_equity=5 * fcf, working_capital=fcf)
        for k in range(4)
    ]  # fmt: skip
    history = [
        metrics(enterprise_value_to_ebitda_ratio=m, enterprise_value=market_cap * 1.1, market_cap=market_cap)
        for m in ev_multiples
    ]
    return make_snapshot(line_items=items, metrics=history, market_cap=market_cap)


def test_cheap_company_is_valuation_bullish() -> None:
    analysis = valuation.analyze(company(fcf=10e9, market_cap=50e9))  # FCF yield 20%
    for name in ("dcf", "owner_earnings", "residual_income"):
        assert analysis.sub_score(name).score > 0.5, name
    assert analysis.figures["weighted_gap"] > 0.15
    # CAGR over the years between the report dates (days / 365.25), not points - 1
    assert analysis.figures["base_growth"] == pytest.approx(0.06, abs=1e-4)
    signal = valuation.derive_signal(analysis)
    check_signal(signal)
    assert signal.signal == "bullish"
    assert "dcf" in signal.reasoning and "owner_earnings" in signal.reasoning
    assert "No data for ev_ebitda" in signal.reasoning


def test_expensive_company_is_valuation_bearish() -> None:
    signal = valuation.derive_signal(valuation.analyze(company(fcf=1e9, market_cap=200e9)))
    assert signal.signal == "bearish"
    check_signal(signal)


def test_dcf_is_the_scenario_weighted_value() -> None:
    sub = valuation.analyze(company(fcf=10e9, market_cap=60e9)).sub_score("dcf")
    expected = sum(s.weight * sub.figures[f"value_{s.name}"] for s in valuation.THRESHOLDS.scenarios)
    assert sum(s.weight for s in valuation.THRESHOLDS.scenarios) == pytest.approx(1.0)
    assert sub.figures["value_bear"] < sub.figures["value_base"] < sub.figures["value_bull"]
    assert sub.figures["value"] == pytest.approx(expected)


def test_ev_ebitda_below_its_own_history_is_bullish() -> None:
    cheap = valuation.analyze(company(1e9, 100e9, ev_multiples=[8.0, 12.0, 13.0, 12.0])).sub_score("ev_ebitda")
    dear = valuation.analyze(company(1e9, 100e9, ev_multiples=[18.0, 12.0, 13.0, 12.0])).sub_score("ev_ebitda")
    short = valuation.analyze(company(1e9, 100e9, ev_multiples=[8.0, 12.0])).sub_score("ev_ebitda")
    assert cheap.figures["ev_ebitda_median"] == pytest.approx(12.0)
    assert cheap.score > 0 > dear.score
    assert short.score is None and "needed" in short.details


def test_negative_cash_flow_or_no_market_cap_abstains() -> None:
    burning = valuation.analyze(company(fcf=-2e9, market_cap=50e9))
    assert burning.sub_score("dcf").score is None and "not positive" in burning.sub_score("dcf").details
    blind = valuation.derive_signal(valuation.analyze(make_snapshot()))
    assert (blind.signal, blind.confidence) == ("neutral", 0.0)
    assert "no market cap" in blind.reasoning


# --------------------------------------------------------------------------- sentiment


def trade(shares: float, value: float | None = None) -> InsiderTrade:
    return InsiderTrade(ticker="TEST", transaction_shares=shares, transaction_value=value, filing_date="2025-06-01")


def article(sentiment_label: str | None) -> CompanyNews:
    return CompanyNews(ticker="TEST", title="headline", date="2025-06-01", sentiment=sentiment_label)


def test_missing_insider_trades_and_news_are_neutral_at_zero() -> None:
    analysis = sentiment.analyze(make_snapshot(path(0.003)))
    assert analysis.sub_score("insiders").score is None and analysis.sub_score("news").score is None
    signal = sentiment.derive_signal(analysis)
    assert (signal.signal, signal.confidence) == ("neutral", 0.0)
    assert "insider trades not provided" in signal.reasoning and "news not provided" in signal.reasoning


def test_insider_balance_weighs_value() -> None:
    sub = sentiment.analyze(
        make_snapshot(insider_trades=[trade(1000, 90_000), trade(-100, -10_000), trade(0)])
    ).sub_score("insiders")
    assert sub.score == pytest.approx(0.8)  # (90k - 10k) / 100k
    assert (sub.figures["insider_buys"], sub.figures["insider_sells"]) == (1.0, 1.0)
    assert "in value" in sub.details
    by_shares = sentiment.analyze(make_snapshot(insider_trades=[trade(100), trade(-300)])).sub_score("insiders")
    assert by_shares.score == pytest.approx(-0.5)  # (100 - 300) / 400
    empty = sentiment.analyze(make_snapshot(insider_trades=[])).sub_score("insiders")
    assert empty.score is None and "no insider" in empty.details


def test_news_balance_and_combined_signal() -> None:
    news = [article("bullish")] * 6 + [article("bearish")] * 1 + [article("neutral")] * 3 + [article(None)]
    analysis = sentiment.analyze(make_snapshot(news=news, insider_trades=[trade(-500, -50_000)]))
    assert analysis.sub_score("news").score == pytest.approx(0.5)  # (6 - 1) / 10 labelled
    assert analysis.sub_score("insiders").score == pytest.approx(-1.0)
    signal = sentiment.derive_signal(analysis)  # 0.7 x 0.5 + 0.3 x -1 = 0.05: neutral
    check_signal(signal)
    assert signal.signal == "neutral" and signal.confidence > 0
    only_news = sentiment.derive_signal(sentiment.analyze(make_snapshot(news=news)))
    assert only_news.signal == "bullish" and "news" in only_news.reasoning and "No data for insiders" in only_news.reasoning


# --------------------------------------------------------------------------- bundled data


def test_quant_analysts_run_on_the_bundled_data() -> None:
    from hedgeflow.data.offline import OfflineProvider
    from hedgeflow.data.snapshot import build_snapshot

    snapshot = build_snapshot(OfflineProvider(), "AAPL", dt.date(2025, 7, 8), dt.date(2025, 10, 8))
    signals = {key: module.derive_signal(module.analyze(snapshot)) for key, module in QUANT.items()}
    for signal in signals.values():
        check_signal(signal)
        assert signal.ticker == "AAPL" and signal.as_of == dt.date(2025, 10, 8)
    technical = technicals.analyze(snapshot)
    assert all(sub.score is not None for sub in technical.sub_scores)  # a year of prices is enough
    assert (signals["sentiment"].signal, signals["sentiment"].confidence) == ("neutral", 0.0)
