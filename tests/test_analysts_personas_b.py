"""Personas B: Pabrai, Damodaran, Jhunjhunwala, Druckenmiller, Taleb, growth and news sentiment.

Sub-scores are checked on constructed Snapshots (hand-computable inputs); at
least one figure per analyst is checked against the bundled data, with the
hand computation written next to it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from hedgeflow.analysts import (
    aswath_damodaran,
    growth,
    mohnish_pabrai,
    nassim_taleb,
    news_sentiment,
    rakesh_jhunjhunwala,
    stanley_druckenmiller,
)
from hedgeflow.analysts.registry import CATALOGUE, load_analyst
from hedgeflow.schemas import CompanyNews, FinancialMetrics, LineItem, Price, Snapshot

KEYS = (
    "mohnish_pabrai",
    "aswath_damodaran",
    "rakesh_jhunjhunwala",
    "stanley_druckenmiller",
    "nassim_taleb",
    "growth",
    "news_sentiment",
)
END = dt.date(2025, 9, 30)


# --------------------------------------------------------------------------- builders


def prices(closes: list[float]) -> tuple[Price, ...]:
    start = dt.date(2024, 1, 1)
    return tuple(
        Price(open=c, close=c, high=c, low=c, volume=1000, time=(start + dt.timedelta(days=i)).isoformat())
        for i, c in enumerate(closes)
    )


def item(year: int, **fields: Any) -> LineItem:
    return LineItem(ticker="TEST", report_period=f"{year}-12-31", period="annual", **fields)


def metric(year: int, **fields: Any) -> FinancialMetrics:
    return FinancialMetrics(ticker="TEST", report_period=f"{year}-12-31", period="ttm", **fields)


def snapshot(**fields: Any) -> Snapshot:
    base: dict[str, Any] = {
        "ticker": "TEST",
        "start": END - dt.timedelta(days=90),
        "end": END,
        "provider": "test",
        "prices": prices([100.0] * 5),
    }
    base.update(fields)
    return Snapshot(**base)


def wave(n: int, start: float = 100.0, drift: float = 0.0005) -> list[float]:
    """A calm, deterministic path: drift plus a small alternating wiggle."""
    out = [start]
    for i in range(1, n):
        out.append(out[-1] * (1.0 + drift + 0.01 * math.sin(i * 1.7)))
    return out


def sound_company(fcf: float = 12.0) -> list[LineItem]:
    """Four years, newest first: growing revenue and FCF, net cash, liquid, low debt."""
    return [
        item(
            2024 - k,
            revenue=200.0 / 1.1**k,
            net_income=40.0 / 1.1**k,
            operating_income=50.0 / 1.1**k,
            ebit=50.0 / 1.1**k,
            gross_profit=120.0 / 1.1**k,
            free_cash_flow=fcf / 1.1**k,
            depreciation_and_amortization=5.0,
            capital_expenditure=-6.0,
            interest_expense=1.0,
            cash_and_equivalents=50.0,
            total_debt=10.0,
            shareholders_equity=150.0,
            total_assets=200.0,
            total_liabilities=50.0,
            current_assets=90.0,
            current_liabilities=30.0,
            outstanding_shares=100.0 * 1.01**k,  # shrinking by ~1% a year
            issuance_or_purchase_of_equity_shares=-2.0,
        )
        for k in range(4)
    ]


# --------------------------------------------------------------------------- every analyst


@pytest.mark.parametrize("key", KEYS)
def test_module_shape_and_catalogue(key: str) -> None:
    spec = load_analyst(key)
    assert spec.description == CATALOGUE[key]
    assert spec.persona and len(spec.persona) > 100


@pytest.mark.parametrize("key", KEYS)
def test_empty_snapshot_is_neutral_at_zero_and_never_raises(key: str) -> None:
    spec = load_analyst(key)
    analysis = spec.analyze(snapshot(prices=()))
    signal = spec.derive_signal(analysis)
    assert all(s.score is None for s in analysis.sub_scores)
    assert (signal.signal, signal.confidence) == ("neutral", 0.0)


@pytest.mark.parametrize("key", KEYS)
def test_nan_zero_and_negative_inputs_do_not_raise(key: str) -> None:
    nasty = [
        item(2024, revenue=float("nan"), net_income=-5.0, free_cash_flow=0.0, total_debt=0.0, shareholders_equity=0.0,
             interest_expense=0.0, current_liabilities=0.0, current_assets=1.0, ebit=-3.0, outstanding_shares=0.0),
        item(2023, revenue=0.0, net_income=float("inf"), free_cash_flow=-1.0),
    ]
    snap = snapshot(line_items=nasty, metrics=[metric(2024, price_to_earnings_ratio=-3.0)], market_cap=0.0,
                    prices=prices([100.0, 0.0, float("nan"), 100.0]), news=(), insider_trades=())
    spec = load_analyst(key)
    signal = spec.derive_signal(spec.analyze(snap))
    assert 0.0 <= signal.confidence <= 100.0


@pytest.mark.parametrize("key", ["stanley_druckenmiller", "nassim_taleb", "growth", "news_sentiment"])
def test_missing_insiders_and_news_abstain(key: str) -> None:
    analysis = load_analyst(key).analyze(snapshot(line_items=sound_company(), market_cap=100.0))
    for sub in analysis.sub_scores:
        if sub.name in {"insiders", "news"}:
            assert sub.score is None and "not provided by test" in sub.details


# --------------------------------------------------------------------------- Mohnish Pabrai


def test_pabrai_cheap_safe_compounder_is_bullish() -> None:
    # FCF 12 on a market cap of 100: a 12% yield (above the 10% ceiling -> +1);
    # FCF CAGR 10%: 22% a year doubles in ln 2 / ln 1.22 = 3.49 years.
    analysis = mohnish_pabrai.analyze(snapshot(line_items=sound_company(12.0), market_cap=100.0))
    assert analysis.sub_score("fcf_valuation").score == pytest.approx(1.0)
    assert analysis.figures["fcf_yield"] == pytest.approx(0.12)
    assert analysis.figures["years_to_double"] == pytest.approx(math.log(2) / math.log(1.22), rel=1e-3)
    assert analysis.sub_score("downside_protection").score > 0.5
    assert mohnish_pabrai.derive_signal(analysis).signal == "bullish"


def test_pabrai_thin_yield_is_bearish_and_missing_current_assets_abstain() -> None:
    items = [i.model_copy(update={"current_assets": None, "current_liabilities": None}) for i in sound_company(1.0)]
    analysis = mohnish_pabrai.analyze(snapshot(line_items=items, market_cap=100.0))
    assert analysis.sub_score("fcf_valuation").score == pytest.approx(-1.0)  # 1% yield, below 2%
    assert analysis.figures["current_ratio"] is None  # BRK-B style: not reported, not penalised
    assert analysis.sub_score("downside_protection").score is not None


# --------------------------------------------------------------------------- Aswath Damodaran


@pytest.mark.parametrize(("current_pe", "expected"), [(14.0, 1.0), (20.0, 0.0), (26.0, -1.0)])
def test_damodaran_pe_against_own_history(current_pe: float, expected: float) -> None:
    # median of the past P/Es is 20: 14 / 20 = 0.7x scores +1, 26 / 20 = 1.3x scores -1.
    metrics = [metric(2025, price_to_earnings_ratio=current_pe)] + [
        metric(2024 - k, price_to_earnings_ratio=pe) for k, pe in enumerate([18.0, 20.0, 22.0])
    ]
    analysis = aswath_damodaran.analyze(snapshot(metrics=metrics))
    assert analysis.sub_score("relative_valuation").score == pytest.approx(expected)


def test_damodaran_beta_assumed_and_cheap_dcf_bullish() -> None:
    analysis = aswath_damodaran.analyze(snapshot(line_items=sound_company(), market_cap=100.0))
    risk = analysis.sub_score("risk")
    assert risk.figures["beta"] == 1.0 and "beta assumed 1.0" in risk.details
    # CAPM: 4.5% + 1.0 x 5% = 9.5%
    assert analysis.figures["cost_of_equity"] == pytest.approx(0.095)
    # FCFF = 50 x (1 - 0.21) + 5 - 6 = 38.5 on a 100 market cap: deeply undervalued
    assert analysis.figures["fcff"] == pytest.approx(38.5)
    assert analysis.sub_score("dcf").score == pytest.approx(1.0)
    assert analysis.sub_score("relative_valuation").score is None  # no P/E history


# --------------------------------------------------------------------------- Rakesh Jhunjhunwala


def test_jhunjhunwala_quality_lowers_discount_and_dilution_hurts() -> None:
    analysis = rakesh_jhunjhunwala.analyze(snapshot(line_items=sound_company(), market_cap=100.0))
    # ROE 40 / 150 = 26.7% (> 20%) and operating margin 25% (> 20%): profitability +1
    assert analysis.sub_score("profitability").score == pytest.approx(1.0)
    assert analysis.figures["dcf_discount_rate"] < rakesh_jhunjhunwala.THRESHOLDS.base_discount
    assert analysis.sub_score("management").score > 0
    dilution = {"issuance_or_purchase_of_equity_shares": 5.0}
    diluting = [
        i.model_copy(update={"outstanding_shares": 100.0 / 1.10**k, **dilution}) for k, i in enumerate(sound_company())
    ]
    # share count +10% a year (-1) and no cash returned (-0.5): mean -0.75
    management = rakesh_jhunjhunwala.analyze(snapshot(line_items=diluting)).sub_score("management")
    assert management.score == pytest.approx(-0.75)


# --------------------------------------------------------------------------- Stanley Druckenmiller


def test_druckenmiller_momentum_and_loss_making_multiples() -> None:
    rising = [100.0 * 1.003**i for i in range(200)]  # +0.3% a session
    losses = [item(2024, net_income=-10.0, free_cash_flow=-5.0, ebit=-8.0, ebitda=-2.0)]
    analysis = stanley_druckenmiller.analyze(snapshot(prices=prices(rising), line_items=losses, market_cap=100.0))
    # 63 sessions at +0.3%: 1.003 ** 63 - 1 = 20.8%
    assert analysis.figures["return_3m"] == pytest.approx(1.003**63 - 1)
    assert analysis.sub_score("growth_momentum").score > 0.5
    assert analysis.sub_score("valuation").score == -1.0  # losses are priced, not missing
    falling = [100.0 * 0.997**i for i in range(200)]
    assert stanley_druckenmiller.analyze(snapshot(prices=prices(falling))).sub_score("growth_momentum").score < 0


# --------------------------------------------------------------------------- Nassim Taleb


def test_taleb_crash_scores_tail_risk_bearish() -> None:
    calm = wave(300)
    crash = calm[:200] + [p * 0.6 for p in calm[200:]]  # one 40% gap down
    calm_score = nassim_taleb.analyze(snapshot(prices=prices(calm))).sub_score("tail_risk")
    crash_analysis = nassim_taleb.analyze(snapshot(prices=prices(crash)))
    tail = crash_analysis.sub_score("tail_risk")
    assert tail.score is not None and tail.score < -0.4
    assert tail.figures["max_drawdown"] < -0.35 and tail.figures["skewness"] < -1.0
    assert calm_score.score is not None and calm_score.score > tail.score


def test_taleb_volatility_spike_and_fragility() -> None:
    closes = wave(260)
    spike = closes[:-21] + [closes[-22] * (1.08 if i % 2 else 0.93) ** (i % 2 + 1) for i in range(21)]
    regime = nassim_taleb.analyze(snapshot(prices=prices(spike))).sub_score("volatility_regime")
    assert regime.score == -1.0 and regime.figures["volatility_ratio"] > 1.6
    levered = [
        item(2024, total_debt=300.0, shareholders_equity=100.0, cash_and_equivalents=10.0,
             ebit=20.0, interest_expense=-10.0)
    ]
    fragility = nassim_taleb.analyze(snapshot(line_items=levered)).sub_score("fragility")
    assert fragility.score == -1.0  # D/E 3.0, cover 2.0x, cash 0.03x debt


# --------------------------------------------------------------------------- growth


def test_growth_accelerating_and_cheap_on_peg() -> None:
    revenues = [170.0, 130.0, 110.0, 100.0]  # newest first: +10%, +18.2%, +30.8%
    items = [item(2024 - k, revenue=r, net_income=r * 0.2, gross_profit=r * (0.6 - 0.02 * k),
                  operating_income=r * (0.3 - 0.02 * k), free_cash_flow=r * 0.2) for k, r in enumerate(revenues)]
    metrics = [metric(2024, price_to_earnings_ratio=20.0, earnings_growth=0.40, price_to_sales_ratio=4.0)
               .model_copy(update={"report_period": "2025-06-30"})]  # current: within 200 days of END
    analysis = growth.analyze(snapshot(line_items=items, metrics=metrics))
    # acceleration = 40 / 130 - 20 / 110 = 30.8% - 18.2% = +12.6 pts (above +10 pts -> +1)
    assert analysis.figures["revenue_acceleration"] == pytest.approx(40 / 130 - 20 / 110)
    assert analysis.sub_score("growth_trends").score > 0.5
    assert analysis.figures["peg"] == pytest.approx(20.0 / 40.0)  # PEG = P/E / (growth x 100)
    assert analysis.sub_score("valuation").score > 0.5
    assert analysis.sub_score("margin_trends").score == pytest.approx(1.0)  # +6 pts gross and operating
    assert growth.derive_signal(analysis).signal == "bullish"


# --------------------------------------------------------------------------- news sentiment


def news(*labels: str | None) -> tuple[CompanyNews, ...]:
    return tuple(
        CompanyNews(ticker="TEST", title=f"headline {i}", date="2025-09-01", sentiment=label)  # type: ignore[arg-type]
        for i, label in enumerate(labels)
    )


def test_news_three_bullish_one_bearish_is_bullish() -> None:
    analysis = news_sentiment.analyze(snapshot(news=news("bullish", "bullish", "bullish", "bearish", None)))
    signal = news_sentiment.derive_signal(analysis)
    assert signal.signal == "bullish" and signal.confidence > 0
    assert analysis.sub_score("news").score == pytest.approx(2 / 6)  # (3 - 1) / (4 + 2 prior)
    assert analysis.figures["unlabelled_headlines"] == 1.0
    assert news_sentiment.unlabelled_headlines(snapshot(news=news("bullish", None))) == ["headline 1"]


@pytest.mark.parametrize("items", [None, (), news(None, None)])
def test_news_without_labelled_news_is_neutral_at_zero(items: tuple[CompanyNews, ...] | None) -> None:
    signal = news_sentiment.derive_signal(news_sentiment.analyze(snapshot(news=items)))
    assert (signal.signal, signal.confidence) == ("neutral", 0.0)
    assert "no data" in signal.reasoning.lower()


# --------------------------------------------------------------------------- bundled data


@pytest.fixture(scope="module")
def bundled() -> dict[str, Snapshot]:
    offline = pytest.importorskip("hedgeflow.data.offline")
    from hedgeflow.data.snapshot import build_snapshot

    provider = offline.OfflineProvider()
    tickers = ("AAPL", "NVDA", "GOOGL", "META", "V", "BRK-B")
    return {t: build_snapshot(provider, t, END - dt.timedelta(days=90), END) for t in tickers}


@pytest.mark.parametrize("key", KEYS)
def test_bundled_tickers_all_analyse(bundled: dict[str, Snapshot], key: str) -> None:
    spec = load_analyst(key)
    for snap in bundled.values():
        signal = spec.derive_signal(spec.analyze(snap))
        assert 0.0 <= signal.confidence <= 100.0


def test_bundled_figures_by_hand(bundled: dict[str, Snapshot]) -> None:
    # Pabrai, AAPL: FY2024 (2024-09-28) FCF 108,807m / the provider's market cap at the
    # 2025-09-30 close (254.63 x 14,840.4m shares = 3,778,808.6m) = 2.879%
    pabrai = mohnish_pabrai.analyze(bundled["AAPL"])
    assert pabrai.figures["fcf_yield"] == pytest.approx(108_807e6 / 3_778_808_578_162.842, rel=1e-9)
    assert pabrai.figures["fcf_yield"] == pytest.approx(0.028794, abs=1e-6)

    # Damodaran, GOOGL: revenue 74,989m (FY2015) -> 350,018m (FY2024) over
    # 3,288 days / 365.25 = 9.002 years: (350018 / 74989) ** (1 / 9.002) - 1 = 18.66%
    damodaran = aswath_damodaran.analyze(bundled["GOOGL"])
    assert damodaran.figures["revenue_cagr"] == pytest.approx((350_018 / 74_989) ** (365.25 / 3288) - 1, rel=1e-9)
    assert damodaran.figures["beta"] == 1.0  # no SPY in the snapshot: assumed

    # Jhunjhunwala, META: FY2024 liabilities 93,417m / assets 276,054m = 33.84%
    rakesh = rakesh_jhunjhunwala.analyze(bundled["META"])
    assert rakesh.figures["liabilities_to_assets"] == pytest.approx(93_417 / 276_054)

    # Druckenmiller, NVDA: 3-month return = close 2025-09-30 186.58 / close 2025-07-01 153.2914 - 1 = 21.72%
    druck = stanley_druckenmiller.analyze(bundled["NVDA"])
    assert druck.figures["return_3m"] == pytest.approx(186.5800018310547 / 153.29136657714844 - 1)
    # P/FCF, AAPL: 3,778,808.6m / 108,807m = 34.73
    assert stanley_druckenmiller.analyze(bundled["AAPL"]).figures["p_fcf"] == pytest.approx(34.7294, abs=1e-3)

    # Taleb, GOOGL: FY2024 cash 23,466m / total debt 14,300m = 1.641x
    taleb = nassim_taleb.analyze(bundled["GOOGL"])
    assert taleb.figures["cash_to_debt"] == pytest.approx(23_466 / 14_300)

    # Growth, V: FY2024 (2024-09-30) FCF 18,693m / revenue 35,926m = 52.03%
    growth_v = growth.analyze(bundled["V"])
    assert growth_v.figures["fcf_margin"] == pytest.approx(18_693 / 35_926)

    # News sentiment: the bundled set has no news: 0 headlines, 0 unlabelled, neutral at 0
    news_analysis = news_sentiment.analyze(bundled["AAPL"])
    assert news_analysis.figures["headlines"] == 0.0 and news_analysis.figures["unlabelled_headlines"] == 0.0
    assert news_sentiment.derive_signal(news_analysis).confidence == 0.0


def test_bundled_missing_data_is_never_bearish(bundled: dict[str, Snapshot]) -> None:
    # BRK-B reports no current assets and V no gross profit: those parts abstain.
    assert mohnish_pabrai.analyze(bundled["BRK-B"]).figures["current_ratio"] is None
    assert growth.analyze(bundled["V"]).figures["gross_margin_change"] is None
    for key in KEYS:
        for sub in load_analyst(key).analyze(bundled["AAPL"]).sub_scores:
            if sub.name in {"insiders", "news"}:
                assert sub.score is None
