"""What model calls cost: an editable price table in USD per million tokens.

Prices change; edit ``PRICES`` or point ``HEDGEFLOW_PRICES`` at a JSON file
``{"<provider>:<model>" or "<model>": {"input": .., "output": .., "cached_input": ..}}``
whose entries override the table. A model without a price costs 0, and
``price_note`` says so rather than hiding it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hedgeflow.schemas import ModelUsage

__all__ = ["PRICES", "ModelPrice", "cost_usd", "price_for", "price_note"]

log = logging.getLogger(__name__)

ANTHROPIC_CACHE_WRITE_FACTOR = 1.25  # a 5-minute cache write costs 1.25x the input price


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float


# Public list prices (USD / 1M tokens), checked 2025; dated model ids match by prefix.
PRICES: dict[str, ModelPrice] = {
    "rules:rules": ModelPrice(0.0, 0.0, 0.0),  # the rules model makes no call
    "anthropic:claude-opus-4-5": ModelPrice(5.0, 25.0, 0.50),
    "anthropic:claude-opus-4-1": ModelPrice(15.0, 75.0, 1.50),
    "anthropic:claude-opus-4": ModelPrice(15.0, 75.0, 1.50),
    "anthropic:claude-sonnet-4-5": ModelPrice(3.0, 15.0, 0.30),
    "anthropic:claude-sonnet-4": ModelPrice(3.0, 15.0, 0.30),
    "anthropic:claude-3-7-sonnet": ModelPrice(3.0, 15.0, 0.30),
    "anthropic:claude-haiku-4-5": ModelPrice(1.0, 5.0, 0.10),
    "anthropic:claude-3-5-haiku": ModelPrice(0.80, 4.0, 0.08),
    "openai:gpt-5": ModelPrice(1.25, 10.0, 0.125),
    "openai:gpt-5-mini": ModelPrice(0.25, 2.0, 0.025),
    "openai:gpt-5-nano": ModelPrice(0.05, 0.40, 0.005),
    "openai:gpt-4.1": ModelPrice(2.0, 8.0, 0.50),
    "openai:gpt-4.1-mini": ModelPrice(0.40, 1.60, 0.10),
    "openai:gpt-4.1-nano": ModelPrice(0.10, 0.40, 0.025),
    "openai:gpt-4o": ModelPrice(2.50, 10.0, 1.25),
    "openai:gpt-4o-mini": ModelPrice(0.15, 0.60, 0.075),
    "openai:o4-mini": ModelPrice(1.10, 4.40, 0.275),
    "openai:o3": ModelPrice(2.0, 8.0, 0.50),
}


@lru_cache(maxsize=8)
def _overrides(path: str, mtime: float) -> dict[str, ModelPrice]:
    raw = json.loads(Path(path).read_text())
    return {
        key: ModelPrice(float(v["input"]), float(v["output"]), float(v.get("cached_input", v["input"])))
        for key, v in raw.items()
    }


def _table() -> dict[str, ModelPrice]:
    path = os.environ.get("HEDGEFLOW_PRICES")
    if not path:
        return PRICES
    try:
        extra = _overrides(path, Path(path).stat().st_mtime)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring price file %s: %s", path, exc)
        return PRICES
    return {**PRICES, **extra}


def price_for(provider: str, model: str) -> ModelPrice | None:
    """The price of ``provider:model``: exact key, bare model name, then the longest prefix."""
    table = _table()
    for key in (f"{provider}:{model}", model):
        if key in table:
            return table[key]
    if provider == "openai-compatible":  # self-hosted: free unless priced by its exact name
        return None
    # dated ids ("claude-sonnet-4-5-20250929") fall back to their family's price
    best = max(
        (k for k in table if k.startswith(f"{provider}:") and model.startswith(k.split(":", 1)[1] + "-")),
        key=len,
        default=None,
    )
    return table[best] if best else None


def price_note(provider: str, model: str) -> str | None:
    """None when the model has a price; otherwise a sentence saying it is counted as free."""
    if price_for(provider, model) is not None:
        return None
    return f"no price for {provider}:{model}; its cost is counted as 0 (add it to HEDGEFLOW_PRICES)"


def cost_usd(provider: str, model: str, usage: ModelUsage, *, cache_write_tokens: int = 0) -> float:
    """USD for ``usage``: uncached input, cached input and output at their own prices.

    ``usage.input_tokens`` includes cached and cache-write tokens; Anthropic
    bills cache writes at 1.25x the input price.
    """
    price = price_for(provider, model)
    if price is None:
        return 0.0
    uncached = max(0, usage.input_tokens - usage.cached_tokens - cache_write_tokens)
    write_factor = ANTHROPIC_CACHE_WRITE_FACTOR if provider == "anthropic" else 1.0
    total = (
        uncached * price.input
        + cache_write_tokens * price.input * write_factor
        + usage.cached_tokens * price.cached_input
        + usage.output_tokens * price.output
    )
    return round(total / 1_000_000, 8)
