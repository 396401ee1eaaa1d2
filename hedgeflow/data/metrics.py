"""FinancialMetrics from one period's line items, the same period a year earlier, and a market cap.

Ratios are fractions; a ratio whose inputs are not reported is ``None``, never
0. Valuation multiples on a loss or a negative base (P/E with negative
earnings, P/B with negative equity) are ``None`` as well: they do not rank.
Growth compares the period with the one before it; for ttm that is the
trailing twelve months ending a year earlier, so growth is year over year
and free of seasonality.
"""

from __future__ import annotations

import math

from hedgeflow.data.xbrl import PeriodValues
from hedgeflow.finmath import growth_rate, safe_div
from hedgeflow.schemas import FinancialMetrics, Period

__all__ = ["DEFAULT_TAX_RATE", "compute_metrics", "tax_rate"]

DEFAULT_TAX_RATE = 0.21  # US federal statutory rate since 2018, used when the filing gives none


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None instead of nan."""
    value = safe_div(numerator, denominator)
    return value if math.isfinite(value) else None


def _positive_ratio(numerator: float | None, denominator: float | None) -> float | None:
    """A valuation multiple: defined only when both sides are positive."""
    if numerator is None or denominator is None or numerator <= 0 or denominator <= 0:
        return None
    return numerator / denominator


def _growth(new: float | None, old: float | None) -> float | None:
    value = growth_rate(new, old)
    return value if math.isfinite(value) else None


def tax_rate(values: dict[str, float | None]) -> float:
    """Effective tax rate = income tax / pre-tax income, if it lies in [0, 1); else 21%."""
    rate = _ratio(values.get("income_tax"), values.get("pretax_income"))
    return rate if rate is not None and 0.0 <= rate < 1.0 else DEFAULT_TAX_RATE


def compute_metrics(
    ticker: str,
    current: PeriodValues,
    prior: PeriodValues | None,
    period: Period,
    market_cap: float | None,
) -> FinancialMetrics:
    """All FinancialMetrics fields derivable from ``current`` (and ``prior`` for growth)."""
    v = current.values
    old = prior.values if prior is not None else {}
    revenue, net_income, equity = v.get("revenue"), v.get("net_income"), v.get("shareholders_equity")
    debt, cash, ebit, ebitda = v.get("total_debt"), v.get("cash_and_equivalents"), v.get("ebit"), v.get("ebitda")
    fcf, shares = v.get("free_cash_flow"), v.get("outstanding_shares")

    enterprise_value = None
    if market_cap is not None:
        enterprise_value = market_cap + (debt or 0.0) - (cash or 0.0)

    # ROIC = EBIT (1 - t) / (debt + equity - cash): after-tax operating return on the capital employed.
    invested = None if equity is None else equity + (debt or 0.0) - (cash or 0.0)
    nopat = None if ebit is None else ebit * (1.0 - tax_rate(v))
    roic = _ratio(nopat, invested) if invested is not None and invested > 0 else None

    ca, cl = v.get("current_assets"), v.get("current_liabilities")
    quick_assets = None if ca is None else ca - (v.get("inventory") or 0.0)
    interest = v.get("interest_expense")
    coverage = _ratio(ebit, abs(interest)) if interest else None

    pe = _positive_ratio(market_cap, net_income)
    earnings_growth = _growth(net_income, old.get("net_income"))
    # PEG = P/E / (earnings growth in percent); meaningful only for positive growth.
    peg = pe / (earnings_growth * 100.0) if pe is not None and earnings_growth and earnings_growth > 0 else None

    dividends = v.get("dividends_and_other_cash_distributions")
    payout = _ratio(abs(dividends), net_income) if dividends is not None and net_income and net_income > 0 else None

    return FinancialMetrics(
        ticker=ticker,
        report_period=current.end.isoformat(),
        period=period,
        market_cap=market_cap,
        enterprise_value=enterprise_value,
        price_to_earnings_ratio=pe,
        price_to_book_ratio=_positive_ratio(market_cap, equity),
        price_to_sales_ratio=_positive_ratio(market_cap, revenue),
        enterprise_value_to_ebitda_ratio=_positive_ratio(enterprise_value, ebitda),
        free_cash_flow_yield=_ratio(fcf, market_cap) if market_cap else None,
        peg_ratio=peg,
        gross_margin=_ratio(v.get("gross_profit"), revenue),
        operating_margin=_ratio(v.get("operating_income"), revenue),
        net_margin=_ratio(net_income, revenue),
        return_on_equity=_ratio(net_income, equity) if equity is not None and equity > 0 else None,
        return_on_assets=_ratio(net_income, v.get("total_assets")),
        return_on_invested_capital=roic,
        asset_turnover=_ratio(revenue, v.get("total_assets")),
        current_ratio=_ratio(ca, cl),
        quick_ratio=_ratio(quick_assets, cl),
        debt_to_equity=_ratio(debt, equity) if equity is not None and equity > 0 else None,
        interest_coverage=coverage,
        revenue_growth=_growth(revenue, old.get("revenue")),
        earnings_growth=earnings_growth,
        book_value_growth=_growth(equity, old.get("shareholders_equity")),
        free_cash_flow_growth=_growth(fcf, old.get("free_cash_flow")),
        earnings_per_share=_ratio(net_income, shares),
        book_value_per_share=_ratio(equity, shares),
        free_cash_flow_per_share=_ratio(fcf, shares),
        payout_ratio=payout,
    )
