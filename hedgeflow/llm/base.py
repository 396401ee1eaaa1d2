"""The model vocabulary: a request, a validated reply, the one ModelClient protocol, a model's config.

Every client (the vendors', the rules model, the fallback wrapper) imports
these from here, and the factory (``hedgeflow.llm.client``) imports the
clients: the arrows point one way.
"""

from __future__ import annotations

import os
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from hedgeflow.schemas import ModelUsage

__all__ = ["PROVIDERS", "ModelClient", "ModelConfig", "ModelReply", "ModelRequest", "Provider", "label"]

Provider = Literal["rules", "anthropic", "openai", "openai-compatible"]
PROVIDERS: tuple[str, ...] = ("rules", "anthropic", "openai", "openai-compatible")

T = TypeVar("T", bound=BaseModel)


class ModelRequest(BaseModel):
    """One structured call: a shared, cacheable ``system`` part and a per-call ``user`` part."""

    model_config = ConfigDict(frozen=True)

    system: str
    user: str
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$", description="Tool or schema name.")
    max_output_tokens: int = 1024
    rules_answer: dict[str, Any] | None = Field(
        default=None, description="The rules model's answer to this request; never sent to a provider."
    )


class ModelReply(BaseModel, Generic[T]):
    """A validated answer, what it cost, who gave it, and why a fallback gave it instead (degraded)."""

    output: T
    usage: ModelUsage
    source: Literal["rules", "model"] = "model"
    degraded_reason: str | None = None


class ModelClient(Protocol):
    """Anything that answers a ModelRequest with a validated ``output_type``."""

    provider: str
    model: str

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]: ...


class ModelConfig(BaseModel):
    """Which model to call and where; keys are never part of it."""

    model_config = ConfigDict(frozen=True)

    provider: Provider = "rules"
    model: str = "rules"
    base_url: str | None = None
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(  # HEDGEFLOW_MODEL_TIMEOUT_S: a hung call costs this before its retry
        default_factory=lambda: float(os.environ.get("HEDGEFLOW_MODEL_TIMEOUT_S", "60")), gt=0
    )

    @property
    def label(self) -> str:
        """``<provider>:<model>``, as signals record it."""
        return label(self.provider, self.model)


def label(provider: str, model: str) -> str:
    """``<provider>:<model>``; a model named as its provider (the rules model) by that name alone."""
    return provider if model == provider else f"{provider}:{model}"
