"""Persona analysts (Buffett, Munger, Graham, Ackman, Wood, Burry, Lynch, Fisher).

Constructed companies check each sub-score's direction: a cheap, strong
compounder scores bullish, a shrinking, leveraged, loss-making one bearish, and
a company that reports nothing abstains (``None``, never bearish). Figures
from the bundled SEC facts are checked against values computed by hand.
"""

from __future__ import annotations

import datetime as dt
import importlib
from types import ModuleType

import pytest

from hedgeflow.analysts.registry import CATALOGUE
from hedgeflow.schemas import CompanyNews, InsiderTrade, LineItem, Price, Snapshot

B = 1e9
YEARS = ("2019-12-31", "2020-12-31", "2021-12-31", "2022-12-31", "2023-12-31")
END = dt.date(2024, 6, 28)
KEYS = (
    "warren_buffett", "charlie_munger", "ben_graham", "bill_ackman",
    "cathie_wood", "michael_burry", "peter_lynch", "phil_fisher",
)


def module(key: str) -> ModuleType:
    return importlib.import_module(f"hedgeflow.analysts.{key}")


def items(**fields: list[float | None]) -> tuple[LineItem, ...]:
    """Annual line items from per-field lists (oldest first), returned newest first like a Snapshot."""
    rows = [
        LineItem(ticker="TEST", report_period=year, period="annual", **{k: v[i] for k, v in fields.items()})
        for i, year in enumerate(YEARS)
    ]
    return tuple(reversed(rows))


def snapshot(line_items: tuple[LineItem, ...], market_cap: float | None, **extra: object) -> Snapshot:
    prices = (Price(open=10, close=10, high=10, low=10, volume=1, time="2024-06-28"),)
    return Snapshot(ticker="TEST", start=dt.date(2024, 3, 28), end=END, provider="test", prices=prices,
                    line_items=line_items, market_cap=market_cap, **extra)  # type: ignore[arg-type]


def scaled(revenue: list[float], share: list[float] | float) -> list[float | None]:
    shares = share if isinstance(share, list) else [share] * len(revenue)
    return [r * s for r, s in zip(revenue, shares)]


REV = [100 * B, 108 * B, 118 * B, 132 * B, 152 * B]  # accelerating growth
STRONG = items(
    revenue=REV, gross_profit=scaled(REV, [0.58, 0.59, 0.60, 0.61, 0.62]),
    operating_income=scaled(REV, 0.30), ebit=scaled(REV, 0.30), net_income=scaled(REV, 0.25),
    research_and_development=scaled(REV, 0.12), free_cash_flow=scaled(REV, 0.28),
    capital_expenditure=scaled(REV, -0.04), depreciation_and_amortization=scaled(REV, 0.04),
    dividends_and_other_cash_distributions=scaled(REV, -0.05),
    issuance_or_purchase_of_equity_shares=scaled(REV, -0.05),
    outstanding_shares=[1.00 * B, 0.98 * B, 0.96 * B, 0.94 * B, 0.92 * B],
    shareholders_equity=[80 * B, 90 * B, 100 * B, 110 * B, 120 * B],
    total_debt=[20 * B] * 5, cash_and_equivalents=[50 * B] * 5,
    current_assets=[100 * B] * 5, current_liabilities=[40 * B] * 5,
    total_liabilities=[60 * B] * 5, total_assets=[140 * B, 150 * B, 160 * B, 170 * B, 180 * B],
)
WREV = [100 * B, 95 * B, 90 * B, 86 * B, 80 * B]  # shrinking, losing money, borrowing, diluting
WEAK = items(
    revenue=WREV, gross_profit=scaled(WREV, [0.22, 0.20, 0.18, 0.16, 0.14]),
    operating_income=scaled(WREV, [0.04, 0.02, 0.0, -0.02, -0.04]), ebit=scaled(WREV, [0.04, 0.02, 0.0, -0.02, -0.04]),
    net_income=[2 * B, 0.0, -2 * B, -4 * B, -6 * B], research_and_development=[1 * B] * 5,
    free_cash_flow=[1 * B, -1 * B, -3 * B, -4 * B, -6 * B], capital_expenditure=scaled(WREV, -0.005),
    depreciation_and_amortization=scaled(WREV, 0.02), dividends_and_other_cash_distributions=[0.0] * 5,
    issuance_or_purchase_of_equity_shares=[0.0] * 5, outstanding_shares=[1.0 * B, 1.05 * B, 1.1 * B, 1.2 * B, 1.3 * B],
    shareholders_equity=[30 * B, 25 * B, 20 * B, 15 * B, 10 * B], total_debt=[60 * B, 70 * B, 80 * B, 90 * B, 100 * B],
    cash_and_equivalents=[5 * B] * 5, current_assets=[30 * B] * 5, current_liabilities=[40 * B] * 5,
    total_liabilities=[100 * B, 110 * B, 120 * B, 130 * B, 140 * B],
    total_assets=[130 * B, 135 * B, 140 * B, 145 * B, 150 * B],
)
EMPTY = items()  # periods exist, nothing reported

# the sub-scores each persona must call bullish for STRONG and bearish for WEAK
DIRECTIONAL = {
    "warren_buffett": ("fundamentals", "consistency", "moat", "management", "pricing_power", "book_value", "intrinsic_value"),
    "charlie_munger": ("moat", "management", "predictability", "valuation"),
    "ben_graham": ("earnings_stability", "financial_strength", "valuation"),
    "bill_ackman": ("quality", "discipline", "valuation"),
    "cathie_wood": ("disruptive_potential", "innovation_growth", "valuation"),
    "michael_burry": ("deep_value", "balance_sheet"),
    "peter_lynch": ("growth", "valuation", "fundamentals"),
    "phil_fisher": ("growth_quality", "margin_stability", "management_efficiency", "valuation"),
}


@pytest.mark.parametrize("key", KEYS)
def test_module_contract(key: str) -> None:
    mod = module(key)
    assert mod.DESCRIPTION == CATALOGUE[key]
    assert mod.NAME and len(mod.PERSONA) > 200
    assert mod.THRESHOLDS.__dataclass_params__.frozen and mod.WEIGHTS.__dataclass_params__.frozen


@pytest.mark.parametrize("key", KEYS)
def test_strong_compounder_is_bullish(key: str) -> None:
    mod = module(key)
    analysis = mod.analyze(snapshot(STRONG, 300 * B))
    for name in DIRECTIONAL[key]:
        sub = analysis.sub_score(name)
        assert sub.score is not None and sub.score > 0, (name, sub)
    signal = mod.derive_signal(analysis)
    assert signal.signal == "bullish" and signal.confidence > 0


@pytest.mark.parametrize("key", KEYS)
def test_weak_leveraged_company_is_bearish(key: str) -> None:
    mod = module(key)
    analysis = mod.analyze(snapshot(WEAK, 50 * B))
    for name in DIRECTIONAL[key]:
        sub = analysis.sub_score(name)
        assert sub.score is not None and sub.score < 0, (name, sub)
    assert mod.derive_signal(analysis).signal == "bearish"


@pytest.mark.parametrize("key", KEYS)
def test_missing_data_abstains(key: str) -> None:
    mod = module(key)
    analysis = mod.analyze(snapshot(EMPTY, None))
    assert all(sub.score is None for sub in analysis.sub_scores), analysis.sub_scores
    assert all(sub.details.startswith("no data") for sub in analysis.sub_scores)
    signal = mod.derive_signal(analysis)
    assert (signal.signal, signal.confidence) == ("neutral", 0.0)
    bare = Snapshot(ticker="X", start=END, end=END, provider="test", prices=())
    assert mod.derive_signal(mod.analyze(bare)).confidence == 0.0


@pytest.mark.parametrize("key", KEYS)
def test_degenerate_figures_never_raise(key: str) -> None:
    """Zero revenue and shares, negative equity, a zero market cap: guarded, not raised."""
    odd = items(revenue=[0.0] * 5, net_income=[-1.0] * 5, outstanding_shares=[0.0] * 5,
                shareholders_equity=[-5.0] * 5, free_cash_flow=[0.0] * 5, gross_profit=[0.0] * 5,
                operating_income=[float("nan")] * 5, total_assets=[0.0] * 5)
    for cap in (0.0, None, float("nan")):
        signal = module(key).derive_signal(module(key).analyze(snapshot(odd, cap)))
        assert 0.0 <= signal.confidence <= 100.0


@pytest.mark.parametrize("key", KEYS)
def test_confidence_follows_the_sub_scores(key: str) -> None:
    mod = module(key)
    strong = mod.derive_signal(mod.analyze(snapshot(STRONG, 300 * B))).confidence
    dearer = mod.derive_signal(mod.analyze(snapshot(STRONG, 3000 * B))).confidence
    assert strong != dearer  # a tenfold price changes the valuation sub-score, so the confidence moves


def test_missing_line_item_leaves_the_weighting_not_bearish() -> None:
    """BRK-B reports no current assets, V no gross profit: those checks abstain."""
    graham, buffett = module("ben_graham"), module("warren_buffett")
    no_current = tuple(li.model_copy(update={"current_assets": None}) for li in STRONG)
    strength = graham.analyze(snapshot(no_current, 300 * B)).sub_score("financial_strength")
    assert strength.figures["current_ratio"] is None and strength.score is not None and strength.score > 0
    no_gross = tuple(li.model_copy(update={"gross_profit": None}) for li in STRONG)
    analysis = buffett.analyze(snapshot(no_gross, 300 * B))
    assert analysis.sub_score("pricing_power").score is None
    assert buffett.derive_signal(analysis).signal == "bullish"


def test_insiders_and_news_when_a_provider_has_them() -> None:
    trades = tuple(
        InsiderTrade(ticker="TEST", transaction_shares=shares, filing_date="2024-05-01") for shares in (5000, 3000, -1000)
    )
    news = tuple(CompanyNews(ticker="TEST", title=f"h{i}", date="2024-05-01", sentiment="bearish") for i in range(6))
    snap = snapshot(STRONG, 300 * B, insider_trades=trades, news=news)
    burry = module("michael_burry").analyze(snap)
    assert burry.sub_score("insiders").score == pytest.approx((8000 - 1000) / 9000)
    assert burry.sub_score("news").score == 1.0  # all headlines negative: Burry reads opportunity
    assert module("peter_lynch").analyze(snap).sub_score("news").score == -1.0
    empty = snapshot(STRONG, 300 * B, insider_trades=(), news=())
    assert module("phil_fisher").analyze(empty).sub_score("insiders").score is None


def test_hand_computed_figures_on_constructed_inputs() -> None:
    snap = snapshot(STRONG, 300 * B)
    # Buffett owner earnings 2023: NI 0.25 x 152 + D&A 0.04 x 152 - capex 0.04 x 152 = 38bn
    assert module("warren_buffett").analyze(snap).figures["owner_earnings"] == pytest.approx(38 * B)
    # Munger normalised FCF yield: mean(0.28 x (100, 108, 118, 132, 152)) / 300 = 34.16 / 300
    assert module("charlie_munger").analyze(snap).figures["normalised_fcf_yield"] == pytest.approx(34.16 / 300)
    # Lynch P/E = 300 / 38; earnings CAGR over 4 years (1461 days) = (38 / 25) ** (365.25 / 1461) - 1
    lynch = module("peter_lynch").analyze(snap).figures
    growth = (38 / 25) ** (365.25 / 1461) - 1
    assert lynch["pe_ratio"] == pytest.approx(300 / 38)
    assert lynch["peg_ratio"] == pytest.approx(300 / 38 / (growth * 100))
    # Burry EV/EBIT = (300 + 20 - 50) / (0.30 x 152)
    assert module("michael_burry").analyze(snap).figures["ev_to_ebit"] == pytest.approx(270 / 45.6)


# --------------------------------------------------------------------------- bundled SEC data


@pytest.fixture(scope="module")
def aapl() -> Snapshot:
    offline = pytest.importorskip("hedgeflow.data.offline")
    from hedgeflow.data.snapshot import build_snapshot

    return build_snapshot(offline.OfflineProvider(), "AAPL", dt.date(2024, 3, 28), END)


def test_buffett_roe_for_aapl(aapl: Snapshot) -> None:
    # ttm to 2024-03-30 from the 10-K/10-Qs: NetIncomeLoss FY2023 96,995m - H1 FY2023 54,158m
    # + H1 FY2024 57,552m = 100,389m; StockholdersEquity at 2024-03-30 74,194m; 100,389 / 74,194
    figures = module("warren_buffett").analyze(aapl).figures
    assert figures["roe"] == pytest.approx(100_389 / 74_194, rel=1e-6)
    # owner earnings FY2023: NI 96,995 + D&A 11,519 - capex 10,959 = 97,555m
    assert figures["owner_earnings"] == pytest.approx(97_555e6)


def test_graham_current_ratio_for_aapl(aapl: Snapshot) -> None:
    # 10-K FY2023 (2023-09-30): AssetsCurrent 143,566m / LiabilitiesCurrent 145,308m = 0.988 < 2
    strength = module("ben_graham").analyze(aapl).sub_score("financial_strength")
    assert strength.figures["current_ratio"] == pytest.approx(143_566 / 145_308)


def test_fisher_wood_and_burry_figures_for_aapl(aapl: Snapshot) -> None:
    # FY2023: OperatingIncomeLoss 114,301m / revenue 383,285m; R&D 29,915m / 383,285m
    assert module("phil_fisher").analyze(aapl).figures["operating_margin"] == pytest.approx(114_301 / 383_285)
    assert module("cathie_wood").analyze(aapl).figures["rd_intensity"] == pytest.approx(29_915 / 383_285)
    # FCF FY2023 = operating cash flow 110,543m - PP&E purchases 10,959m = 99,584m, over the market cap
    burry = module("michael_burry").analyze(aapl).figures
    assert burry["fcf_yield"] == pytest.approx(99_584e6 / aapl.market_cap)  # type: ignore[operator]


def test_ackman_revenue_cagr_for_aapl(aapl: Snapshot) -> None:
    # revenue FY2014 (2014-09-27) 182,795m to FY2023 (2023-09-30) 383,285m over 3,290 days
    expected = (383_285 / 182_795) ** (365.25 / 3290) - 1
    assert module("bill_ackman").analyze(aapl).figures["revenue_cagr"] == pytest.approx(expected)


@pytest.mark.parametrize("ticker", ["AAPL", "NVDA", "GOOGL", "TSLA", "META", "BRK-B", "V"])
def test_every_bundled_ticker_analyses(ticker: str) -> None:
    offline = pytest.importorskip("hedgeflow.data.offline")
    from hedgeflow.data.snapshot import build_snapshot

    snap = build_snapshot(offline.OfflineProvider(), ticker, dt.date(2024, 3, 28), END)
    for key in KEYS:
        analysis = module(key).analyze(snap)
        for name in ("insiders", "news"):  # offline: no insider trades, no news
            if any(s.name == name for s in analysis.sub_scores):
                assert analysis.sub_score(name).score is None
        assert 0.0 <= module(key).derive_signal(analysis).confidence <= 100.0
