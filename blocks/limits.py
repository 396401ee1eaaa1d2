"""Per-provider request rates and in-flight calls, shared by every worker as Prefect global concurrency limits."""

from __future__ import annotations

from typing import ClassVar

from prefect.blocks.core import Block
from pydantic import BaseModel, Field

__all__ = ["DEFAULT_LIMITS", "ProviderLimit", "ProviderLimits", "in_flight_limit_name", "rate_limit_name"]


class ProviderLimit(BaseModel):
    """One model provider's or data API's limits."""

    provider: str = Field(description="anthropic, openai, openai-compatible, financialdatasets, sec-edgar...")
    requests_per_minute: float = Field(gt=0, description="Sustained request rate across every worker.")
    in_flight: int = Field(ge=1, description="Calls open at once across every worker.")


DEFAULT_LIMITS = [
    ProviderLimit(provider="anthropic", requests_per_minute=50, in_flight=16),
    ProviderLimit(provider="openai", requests_per_minute=500, in_flight=32),
    ProviderLimit(provider="openai-compatible", requests_per_minute=600, in_flight=32),
    ProviderLimit(provider="financialdatasets", requests_per_minute=1000, in_flight=16),
]


def rate_limit_name(provider: str) -> str:
    """The global concurrency limit used as a rate limit (slots decay at requests_per_minute / 60 per second)."""
    return f"hedgeflow-rate-{provider}"


def in_flight_limit_name(provider: str) -> str:
    """The global concurrency limit holding one slot per open call."""
    return f"hedgeflow-inflight-{provider}"


class ProviderLimits(Block):
    """The limits ``make deploy`` writes into Prefect's global concurrency limits; edit, then deploy again."""

    _block_type_name: ClassVar[str] = "Hedgeflow Provider Limits"

    limits: list[ProviderLimit] = Field(
        default_factory=lambda: [limit.model_copy() for limit in DEFAULT_LIMITS],
        description="One entry per model provider or data API.",
    )
