"""The committee's roster: keys and one-line descriptions, importable without loading analysts.

Each key names a module ``hedgeflow.analysts.<key>`` holding ``NAME``,
``DESCRIPTION``, ``PERSONA``, ``analyze`` and ``derive_signal``. An analyst's
``version`` (part of its cache key) hashes every module its signal depends on.
"""

from __future__ import annotations

import importlib
from functools import cache

from hedgeflow.analysts.base import AnalystSpec
from hedgeflow.cache_rules import DATA_MODULES, code_version, module_closure
from hedgeflow.errors import InvalidRequestError

__all__ = ["CATALOGUE", "analyst_version", "dependencies", "load_analyst", "load_committee", "resolve_analysts"]

# key -> one-line description (kept in step with each module's DESCRIPTION by a test)
CATALOGUE: dict[str, str] = {
    "technicals": "Trend, mean reversion, momentum, volatility regime and price statistics.",
    "fundamentals": "Profitability, growth, financial health and price ratios by majority vote.",
    "valuation": "DCF scenarios, owner earnings, EV/EBITDA against history and residual income.",
    "sentiment": "Balance of insider trades and news; neutral when there is no such data.",
    "warren_buffett": "Durable moats, consistent earnings and an owner-earnings margin of safety.",
    "charlie_munger": "Moat, management, predictability and a fair free-cash-flow yield.",
    "ben_graham": "Earnings stability, financial strength and a discount to NCAV or the Graham number.",
    "bill_ackman": "Quality businesses, capital discipline, activism potential and a DCF.",
    "cathie_wood": "Disruptive growth: revenue acceleration, R&D intensity and a high-growth DCF.",
    "michael_burry": "Deep value on free-cash-flow yield and EV/EBIT, balance sheet and contrarian signals.",
    "peter_lynch": "Growth at a reasonable price: PEG, P/E, fundamentals, sentiment and insiders.",
    "phil_fisher": "Long-term growth quality, stable margins and efficient management.",
    "mohnish_pabrai": "Downside protection first, free-cash-flow yield and the potential to double.",
    "aswath_damodaran": "Story and numbers: growth, reinvestment, risk, relative value and an FCFF DCF.",
    "rakesh_jhunjhunwala": "Profitable growth with a strong balance sheet and a quality-adjusted DCF.",
    "stanley_druckenmiller": "Asymmetric risk-reward: growth, momentum, valuation multiples and sentiment.",
    "nassim_taleb": "Tail risk, fragility, convexity and skin in the game.",
    "growth": "Growth trends, PEG and P/S valuation, margin trends, insiders and financial health.",
    "news_sentiment": "Headline sentiment; neutral at confidence 0 when there is no news.",
}


# What every analysis also depends on beyond its own imports: the model prompts built from it.
ALWAYS_DEPENDS_ON = ("hedgeflow.analysts.base", "hedgeflow.llm.prompts")


@cache
def dependencies(key: str) -> tuple[str, ...]:
    """Every hedgeflow module analyst ``key``'s signal depends on: its module, what it imports at
    module level, transitively (base, common, finmath, schemas...), the prompts and the data
    modules that derive the figures it reads; sorted."""
    return module_closure((f"hedgeflow.analysts.{key}", *ALWAYS_DEPENDS_ON, *DATA_MODULES))


def _known(key: str) -> None:
    if key not in CATALOGUE:
        raise InvalidRequestError(f"unknown analyst {key!r}; known: {', '.join(CATALOGUE)}")


@cache
def analyst_version(key: str) -> str:
    """The code version in analyst ``key``'s cache key, hashed from sources without importing the analyst:
    a run that finds every signal cached never loads one."""
    _known(key)
    return code_version(dependencies(key))


@cache
def load_analyst(key: str) -> AnalystSpec:
    _known(key)
    module = importlib.import_module(f"hedgeflow.analysts.{key}")
    return AnalystSpec(
        key=key,
        name=module.NAME,
        description=module.DESCRIPTION,
        persona=module.PERSONA,
        analyze=module.analyze,
        derive_signal=module.derive_signal,
        version=analyst_version(key),
    )


def resolve_analysts(keys: list[str] | None) -> list[str]:
    """``None`` or ``["all"]`` means the whole committee; unknown keys are an error."""
    if not keys or keys == ["all"]:
        return list(CATALOGUE)
    unknown = [k for k in keys if k not in CATALOGUE]
    if unknown:
        raise InvalidRequestError(f"unknown analyst(s) {', '.join(unknown)}; known: {', '.join(CATALOGUE)}")
    return list(dict.fromkeys(keys))


def load_committee(keys: list[str] | None = None) -> list[AnalystSpec]:
    return [load_analyst(k) for k in resolve_analysts(keys)]
