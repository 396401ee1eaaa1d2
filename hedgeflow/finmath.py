"""Shared financial maths: pure functions, written once, used by every analyst.

Conventions (as in empyrical): inputs are plain sequences of floats, oldest
first; rates and returns are fractions (0.05 is 5%); too little data returns
``nan`` rather than raising. No I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "TRADING_DAYS",
    "adx",
    "annualised_volatility",
    "beta",
    "bollinger_position",
    "cagr",
    "capm_cost_of_equity",
    "coefficient_of_variation",
    "dcf_value",
    "doubling_years",
    "ema",
    "excess_kurtosis",
    "free_cash_flow_to_firm",
    "graham_number",
    "growth_rate",
    "hurst_exponent",
    "margin_of_safety",
    "max_drawdown",
    "multiple_implied_equity_value",
    "owner_earnings",
    "residual_income_value",
    "returns",
    "rsi",
    "safe_div",
    "skewness",
    "tail_ratio",
    "trailing_return",
    "wacc",
    "weighted_mean",
    "zscore",
]

TRADING_DAYS = 252
NAN = float("nan")
Floats = Sequence[float] | np.ndarray  # plain sequences or numpy arrays, oldest first


def _arr(values: Floats) -> np.ndarray:
    return np.asarray(values, dtype=float)


def safe_div(numerator: float | None, denominator: float | None) -> float:
    """numerator / denominator, or nan when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return NAN
    return float(numerator) / float(denominator)


def growth_rate(new: float | None, old: float | None) -> float:
    """(new - old) / |old|: period-over-period growth, nan without a non-zero base."""
    if new is None or old is None or old == 0:
        return NAN
    return (float(new) - float(old)) / abs(float(old))


def cagr(first: float | None, last: float | None, years: float) -> float:
    """Compound annual growth (last / first) ** (1 / years) - 1; nan unless both are positive."""
    if first is None or last is None or first <= 0 or last <= 0 or years <= 0:
        return NAN
    return float((last / first) ** (1.0 / years) - 1.0)


def returns(closes: Floats) -> np.ndarray:
    """Simple daily returns r_t = p_t / p_{t-1} - 1 (one fewer than prices)."""
    prices = _arr(closes)
    if prices.size < 2:
        return np.empty(0)
    out: np.ndarray = prices[1:] / prices[:-1] - 1.0
    return out


def annualised_volatility(daily_returns: Floats, periods: int = TRADING_DAYS) -> float:
    """Sample standard deviation (ddof=1) x sqrt(periods); nan under two returns."""
    r = _arr(daily_returns)
    if r.size < 2:
        return NAN
    return float(np.std(r, ddof=1) * math.sqrt(periods))


def max_drawdown(closes: Floats) -> float:
    """Worst fall from a running peak, min(p_t / max(p_<=t) - 1): 0 or negative; nan if empty."""
    prices = _arr(closes)
    if prices.size == 0:
        return NAN
    peaks = np.maximum.accumulate(prices)
    return float(np.min(prices / peaks - 1.0))


def ema(values: Floats, span: int) -> np.ndarray:
    """Exponential moving average, alpha = 2 / (span + 1), seeded with the first value."""
    x = _arr(values)
    out = np.empty_like(x)
    if x.size == 0:
        return out
    alpha = 2.0 / (span + 1.0)
    out[0] = x[0]
    for i in range(1, x.size):
        out[i] = alpha * x[i] + (1.0 - alpha) * out[i - 1]
    return out


def rsi(closes: Floats, period: int = 14) -> float:
    """Wilder's relative strength index of the last bar, 100 - 100 / (1 + avg gain / avg loss)."""
    deltas = np.diff(_arr(closes))
    if deltas.size < period:
        return NAN
    gains = np.clip(deltas, 0, None)
    losses = np.clip(-deltas, 0, None)
    avg_gain, avg_loss = gains[:period].mean(), losses[:period].mean()
    for g, l in zip(gains[period:], losses[period:]):
        avg_gain = (avg_gain * (period - 1) + g) / period
        avg_loss = (avg_loss * (period - 1) + l) / period
    if avg_loss == 0:
        return 100.0 if avg_gain > 0 else 50.0
    return float(100.0 - 100.0 / (1.0 + avg_gain / avg_loss))


def adx(high: Floats, low: Floats, close: Floats, period: int = 14) -> float:
    """Wilder's average directional index of the last bar (0-100); nan under 2 x period bars."""
    h, l, c = _arr(high), _arr(low), _arr(close)
    if c.size < 2 * period + 1:
        return NAN
    up, down = h[1:] - h[:-1], l[:-1] - l[1:]
    plus_dm = np.where((up > down) & (up > 0), up, 0.0)
    minus_dm = np.where((down > up) & (down > 0), down, 0.0)
    tr = np.maximum.reduce([h[1:] - l[1:], np.abs(h[1:] - c[:-1]), np.abs(l[1:] - c[:-1])])

    def wilder(x: np.ndarray) -> np.ndarray:
        out = np.empty(x.size - period + 1)
        out[0] = x[:period].sum()
        for i in range(1, out.size):
            out[i] = out[i - 1] - out[i - 1] / period + x[period + i - 1]
        return out

    atr = wilder(tr)
    plus_di = 100.0 * wilder(plus_dm) / np.where(atr == 0, np.nan, atr)
    minus_di = 100.0 * wilder(minus_dm) / np.where(atr == 0, np.nan, atr)
    denom = plus_di + minus_di
    dx = 100.0 * np.abs(plus_di - minus_di) / np.where(denom == 0, np.nan, denom)
    dx = np.nan_to_num(dx)
    adx_values = [dx[:period].mean()]
    for value in dx[period:]:
        adx_values.append((adx_values[-1] * (period - 1) + value) / period)
    return float(adx_values[-1])


def zscore(value: float, window: Floats) -> float:
    """(value - mean(window)) / std(window, ddof=1); nan for a flat or short window."""
    w = _arr(window)
    if w.size < 2:
        return NAN
    sd = float(np.std(w, ddof=1))
    return NAN if sd == 0 else float((value - w.mean()) / sd)


def bollinger_position(closes: Floats, window: int = 20, width: float = 2.0) -> float:
    """Where the last close sits in its Bollinger band: 0 at the lower band, 1 at the upper."""
    c = _arr(closes)
    if c.size < window:
        return NAN
    recent = c[-window:]
    mid, sd = recent.mean(), np.std(recent, ddof=1)
    if sd == 0:
        return 0.5
    lower, upper = mid - width * sd, mid + width * sd
    return float((c[-1] - lower) / (upper - lower))


def hurst_exponent(closes: Floats, max_lag: int = 20) -> float:
    """Hurst exponent H from the scaling std(p_{t+lag} - p_t) ~ lag ** H of log prices.

    H < 0.5 mean-reverting, 0.5 random walk, > 0.5 trending; nan under 2 x max_lag prices.
    """
    c = _arr(closes)
    if c.size < 2 * max_lag or np.any(c <= 0):
        return NAN
    logp = np.log(c)
    lags = np.arange(2, max_lag)
    tau = np.array([np.std(logp[lag:] - logp[:-lag]) for lag in lags])
    if np.any(tau <= 0):
        return NAN
    slope = np.polyfit(np.log(lags), np.log(tau), 1)[0]
    return float(slope)


def skewness(values: Floats) -> float:
    """Sample skewness E[(x - mu)^3] / sigma^3 (population moments); nan under 3 values."""
    x = _arr(values)
    if x.size < 3:
        return NAN
    sd = x.std()
    return NAN if sd == 0 else float(np.mean((x - x.mean()) ** 3) / sd**3)


def excess_kurtosis(values: Floats) -> float:
    """E[(x - mu)^4] / sigma^4 - 3: 0 for a normal distribution; nan under 4 values."""
    x = _arr(values)
    if x.size < 4:
        return NAN
    sd = x.std()
    return NAN if sd == 0 else float(np.mean((x - x.mean()) ** 4) / sd**4 - 3.0)


def tail_ratio(values: Floats) -> float:
    """|95th percentile| / |5th percentile| of returns: above 1, the right tail is fatter."""
    x = _arr(values)
    if x.size < 20:
        return NAN
    low = abs(np.percentile(x, 5))
    return NAN if low == 0 else float(abs(np.percentile(x, 95)) / low)


def beta(asset_returns: Floats, market_returns: Floats) -> float:
    """cov(asset, market) / var(market) over the common tail; nan under 20 pairs.

    Pairs by position: align the two series by date first (``hedgeflow.risk.aligned``).
    """
    a, m = _arr(asset_returns), _arr(market_returns)
    n = min(a.size, m.size)
    if n < 20:
        return NAN
    a, m = a[-n:], m[-n:]
    var = np.var(m, ddof=1)
    return NAN if var == 0 else float(np.cov(a, m, ddof=1)[0, 1] / var)


def dcf_value(
    cash_flow: float | None,
    growth: float,
    discount: float,
    terminal_growth: float = 0.025,
    years: int = 10,
) -> float:
    """Present value of ``cash_flow`` growing at ``growth`` for ``years``, plus a Gordon terminal value.

    PV = sum_{t=1..n} CF (1+g)^t / (1+r)^t + CF (1+g)^n (1+g_T) / ((r - g_T)(1+r)^n).
    nan when the cash flow is missing or not positive, or when r <= g_T.
    """
    if cash_flow is None or not math.isfinite(cash_flow) or cash_flow <= 0 or discount <= terminal_growth:
        return NAN
    value, flow = 0.0, float(cash_flow)
    for t in range(1, years + 1):
        flow *= 1.0 + growth
        value += flow / (1.0 + discount) ** t
    terminal = flow * (1.0 + terminal_growth) / (discount - terminal_growth)
    return value + terminal / (1.0 + discount) ** years


def margin_of_safety(intrinsic_value: float, market_cap: float | None) -> float:
    """(intrinsic value - market cap) / market cap: positive when the price is below value."""
    if market_cap is None or market_cap <= 0 or not math.isfinite(intrinsic_value):
        return NAN
    return (intrinsic_value - market_cap) / market_cap


def owner_earnings(
    net_income: float | None,
    depreciation: float | None,
    capital_expenditure: float | None,
    working_capital_change: float | None = 0.0,
) -> float:
    """Buffett's owner earnings: net income + D&A - |capex| (maintenance proxy) - increase in working capital."""
    if net_income is None or depreciation is None or capital_expenditure is None:
        return NAN
    return net_income + depreciation - abs(capital_expenditure) - (working_capital_change or 0.0)


def graham_number(eps: float | None, book_value_per_share: float | None) -> float:
    """sqrt(22.5 x EPS x BVPS): Graham's ceiling on a defensive price; nan unless both are positive."""
    if eps is None or book_value_per_share is None or eps <= 0 or book_value_per_share <= 0:
        return NAN
    return math.sqrt(22.5 * eps * book_value_per_share)


def capm_cost_of_equity(risk_free: float, beta_value: float, equity_risk_premium: float = 0.05) -> float:
    """CAPM: r_e = r_f + beta x equity risk premium (beta defaults to 1 when unknown)."""
    b = beta_value if math.isfinite(beta_value) else 1.0
    return risk_free + b * equity_risk_premium


def coefficient_of_variation(values: Floats) -> float:
    """Dispersion relative to level, std(x, ddof=1) / |mean(x)|: 0 for a constant series.

    Used as a stability measure of margins and returns (lower is steadier);
    nan under two values or when the mean is 0.
    """
    x = _arr(values)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return NAN
    mean = float(np.mean(x))
    return NAN if mean == 0 else float(np.std(x, ddof=1) / abs(mean))


def residual_income_value(
    book_value: float | None,
    net_income: float | None,
    cost_of_equity: float,
    growth: float,
    years: int = 5,
    terminal_growth: float = 0.03,
) -> float:
    """Residual income (Edwards-Bell-Ohlson) value of equity: book value plus PV of excess returns.

    RI_0 = NI - r x BV; RI_t = RI_0 (1+g)^t;
    V = BV + sum_{t=1..n} RI_t / (1+r)^t + RI_n (1+g_T) / ((r - g_T)(1+r)^n).
    Negative residual income (returns below the cost of equity) lowers the value.
    Units follow the inputs (USD); nan when book value is missing or not positive,
    net income is missing, or r <= g_T.
    """
    if book_value is None or net_income is None or cost_of_equity <= terminal_growth:
        return NAN
    if not (math.isfinite(book_value) and math.isfinite(net_income)) or book_value <= 0:
        return NAN
    residual = float(net_income) - cost_of_equity * float(book_value)
    value = float(book_value)
    for t in range(1, years + 1):
        residual_t = residual * (1.0 + growth) ** t
        value += residual_t / (1.0 + cost_of_equity) ** t
    terminal = residual * (1.0 + growth) ** years * (1.0 + terminal_growth) / (cost_of_equity - terminal_growth)
    return value + terminal / (1.0 + cost_of_equity) ** years


def multiple_implied_equity_value(
    enterprise_value: float | None,
    current_multiple: float | None,
    target_multiple: float | None,
    market_cap: float | None,
) -> float:
    """Equity value if the company traded at ``target_multiple`` instead of ``current_multiple``.

    EBITDA = EV / m_now; implied EV = m_target x EBITDA; net debt = EV - market cap;
    implied equity = m_target / m_now x EV - (EV - market cap). Works for any
    EV multiple (EV/EBITDA, EV/EBIT); nan when a figure is missing or a multiple
    is not positive.
    """
    if enterprise_value is None or current_multiple is None or target_multiple is None or market_cap is None:
        return NAN
    if not all(math.isfinite(f) for f in (enterprise_value, current_multiple, target_multiple, market_cap)):
        return NAN
    if current_multiple <= 0 or target_multiple <= 0 or enterprise_value <= 0:
        return NAN
    return target_multiple / current_multiple * enterprise_value - (enterprise_value - market_cap)


def weighted_mean(values: Sequence[float | None], weights: Floats) -> float:
    """sum(w_i x_i) / sum(w_i) over the pairs whose value is finite; nan when none is, or all weights are 0."""
    pairs = [(float(v), float(w)) for v, w in zip(values, weights) if v is not None and math.isfinite(v)]
    total = sum(w for _, w in pairs)
    if not pairs or total == 0:
        return NAN
    return sum(v * w for v, w in pairs) / total


def trailing_return(closes: Floats, sessions: int) -> float:
    """Simple return over the last ``sessions`` bars, p_T / p_{T-sessions} - 1; nan without enough prices."""
    prices = _arr(closes)
    if sessions <= 0 or prices.size <= sessions or prices[-1 - sessions] <= 0:
        return NAN
    return float(prices[-1] / prices[-1 - sessions] - 1.0)


def doubling_years(annual_return: float) -> float:
    """Years for capital to double at a compound annual return r: ln 2 / ln(1 + r); nan unless r > 0."""
    if not math.isfinite(annual_return) or annual_return <= 0:
        return NAN
    return math.log(2.0) / math.log1p(annual_return)


def free_cash_flow_to_firm(
    ebit: float | None,
    tax_rate: float,
    depreciation: float | None,
    capital_expenditure: float | None,
    working_capital_change: float | None = 0.0,
) -> float:
    """Damodaran's FCFF = EBIT (1 - t) + D&A - |capex| - increase in working capital (USD).

    Capex keeps the API's negative sign convention, so its absolute value is
    subtracted; nan when EBIT, D&A or capex is missing.
    """
    if ebit is None or depreciation is None or capital_expenditure is None:
        return NAN
    if not all(math.isfinite(v) for v in (ebit, depreciation, capital_expenditure)):
        return NAN
    return ebit * (1.0 - tax_rate) + depreciation - abs(capital_expenditure) - (working_capital_change or 0.0)


def wacc(
    market_cap: float | None,
    debt: float | None,
    cost_of_equity: float,
    pre_tax_cost_of_debt: float,
    tax_rate: float,
) -> float:
    """Weighted average cost of capital, E/(D+E) r_e + D/(D+E) r_d (1 - t), at market equity value.

    Missing debt counts as none; nan when the market cap is missing or not positive.
    """
    if market_cap is None or not math.isfinite(market_cap) or market_cap <= 0:
        return NAN
    d = debt if debt is not None and math.isfinite(debt) and debt > 0 else 0.0
    total = market_cap + d
    return market_cap / total * cost_of_equity + d / total * pre_tax_cost_of_debt * (1.0 - tax_rate)
