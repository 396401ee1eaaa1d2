"""Model and market-data credentials as Prefect Blocks, edited in the Prefect UI.

Each block returns a plain domain config (``ModelConfig``, ``HedgeSettings``) and
builds the domain client from it; keys stay SecretStr until the client is built.
"""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from hedgeflow.data.financialdatasets import DEFAULT_BASE_URL, FinancialDatasetsProvider
from hedgeflow.llm.client import ModelClient, ModelConfig, make_client
from hedgeflow.llm.hedging import HedgeSettings

__all__ = ["AnthropicModel", "FinancialDatasets", "OpenAIModel"]


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value().strip() or None if value is not None else None


_HEDGE = HedgeSettings()
_HEDGE_HELP = "Send a second, identical request when the first is slow or fails; the first valid answer wins."
_MULTIPLE_HELP = "A slow request is hedged after this multiple of the model's median latency."
_FLOOR_HELP = "Never hedge a slow request earlier than this (seconds)."


class AnthropicModel(Block):
    """An Anthropic model (Messages API) for the analysts and the portfolio manager.

    Example:
        ```python
        from blocks.models import AnthropicModel

        model = AnthropicModel.load("BLOCK_NAME")
        client = model.client()
        ```
    """

    _block_type_name = "Hedgeflow Anthropic Model"
    _block_type_slug = "hedgeflow-anthropic-model"
    _documentation_url = "https://docs.anthropic.com/en/api/messages"  # type: ignore[assignment]

    model: str = Field(default="claude-haiku-4-5", description="Model id, e.g. claude-haiku-4-5.")
    api_key: SecretStr | None = Field(default=None, description="Anthropic API key; empty for ANTHROPIC_API_KEY.")
    base_url: str | None = Field(default=None, description="API base URL; empty for Anthropic's own.")
    connect_timeout_s: float = Field(default=5.0, gt=0, description="Seconds to open a connection.")
    read_timeout_s: float = Field(default=60.0, gt=0, description="Seconds to wait for an answer.")
    hedge: bool = Field(default=_HEDGE.enabled, description=_HEDGE_HELP)
    hedge_after_multiple: float = Field(default=_HEDGE.multiple, ge=1.0, description=_MULTIPLE_HELP)
    hedge_floor_s: float = Field(default=_HEDGE.floor_s, ge=0.0, description=_FLOOR_HELP)

    def to_config(self) -> ModelConfig:
        return ModelConfig(provider="anthropic", model=self.model, base_url=self.base_url or None,
                           connect_timeout_s=self.connect_timeout_s, read_timeout_s=self.read_timeout_s)

    def client(self) -> ModelClient:
        return make_client(self.to_config(), _secret(self.api_key))

    def hedge_settings(self) -> HedgeSettings:
        return HedgeSettings(enabled=self.hedge, multiple=self.hedge_after_multiple, floor_s=self.hedge_floor_s)


class OpenAIModel(Block):
    """An OpenAI model, or any OpenAI-compatible server (Ollama, vLLM) when ``compatible`` is set.

    Example:
        ```python
        from blocks.models import OpenAIModel

        model = OpenAIModel.load("BLOCK_NAME")
        client = model.client()
        ```
    """

    _block_type_name = "Hedgeflow OpenAI Model"
    _block_type_slug = "hedgeflow-openai-model"
    _documentation_url = "https://platform.openai.com/docs/api-reference/chat"  # type: ignore[assignment]

    model: str = Field(default="gpt-4.1-mini", description="Model id, e.g. gpt-4.1-mini or llama3.1.")
    api_key: SecretStr | None = Field(
        default=None, description="API key; empty for OPENAI_API_KEY (or OPENAI_COMPATIBLE_API_KEY)."
    )
    base_url: str | None = Field(
        default=None, description="API base URL ending in /v1, e.g. http://localhost:11434/v1; empty for OpenAI."
    )
    compatible: bool = Field(
        default=False, description="Set for a self-hosted OpenAI-compatible server: no key needed, no price."
    )
    connect_timeout_s: float = Field(default=5.0, gt=0, description="Seconds to open a connection.")
    read_timeout_s: float = Field(default=60.0, gt=0, description="Seconds to wait for an answer.")
    hedge: bool = Field(default=_HEDGE.enabled, description=_HEDGE_HELP)
    hedge_after_multiple: float = Field(default=_HEDGE.multiple, ge=1.0, description=_MULTIPLE_HELP)
    hedge_floor_s: float = Field(default=_HEDGE.floor_s, ge=0.0, description=_FLOOR_HELP)

    def block_initialization(self) -> None:
        """An OpenAI-compatible server has no default address: fail when the block is made."""
        if self.compatible and not self.base_url:
            raise ValueError("an OpenAI-compatible model needs a base_url, e.g. http://localhost:11434/v1")

    def to_config(self) -> ModelConfig:
        return ModelConfig(provider="openai-compatible" if self.compatible else "openai", model=self.model,
                           base_url=self.base_url or None, connect_timeout_s=self.connect_timeout_s,
                           read_timeout_s=self.read_timeout_s)

    def client(self) -> ModelClient:
        return make_client(self.to_config(), _secret(self.api_key))

    def hedge_settings(self) -> HedgeSettings:
        return HedgeSettings(enabled=self.hedge, multiple=self.hedge_after_multiple, floor_s=self.hedge_floor_s)


class FinancialDatasets(Block):
    """The financialdatasets.ai market-data API.

    Example:
        ```python
        from blocks.models import FinancialDatasets

        data = FinancialDatasets.load("BLOCK_NAME")
        provider = data.provider()
        ```
    """

    _block_type_name = "Hedgeflow Financial Datasets"
    _block_type_slug = "hedgeflow-financial-datasets"
    _documentation_url = "https://docs.financialdatasets.ai/"  # type: ignore[assignment]

    api_key: SecretStr | None = Field(
        default=None, description="financialdatasets.ai API key; empty for FINANCIAL_DATASETS_API_KEY."
    )
    base_url: str = Field(default=DEFAULT_BASE_URL, description="API base URL.")
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds to wait for an answer.")

    def provider(self) -> FinancialDatasetsProvider:
        return FinancialDatasetsProvider(api_key=_secret(self.api_key), base_url=self.base_url, timeout=self.timeout_s)
