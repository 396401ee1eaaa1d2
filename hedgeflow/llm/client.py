"""One small Protocol for every model, the model spec parser and the client cache.

A model spec is ``rules``, ``anthropic:<model>``, ``openai:<model>`` or
``openai-compatible:<model>@<base_url>`` (``@<base_url>`` is optional for the
first two, e.g. to reach a proxy). Clients are cached per process so every
call to one endpoint shares one connection pool.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from hedgeflow.errors import InvalidRequestError
from hedgeflow.llm.errors import ModelAuthError
from hedgeflow.schemas import ModelUsage

__all__ = [
    "API_KEY_ENV",
    "ModelClient",
    "ModelConfig",
    "ModelReply",
    "ModelRequest",
    "Provider",
    "clear_client_cache",
    "make_client",
    "parse_model",
]

Provider = Literal["rules", "anthropic", "openai", "openai-compatible"]
PROVIDERS: tuple[str, ...] = ("rules", "anthropic", "openai", "openai-compatible")
API_KEY_ENV: dict[str, str] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "openai-compatible": "OPENAI_COMPATIBLE_API_KEY",
}
NO_KEY = "not-needed"  # local OpenAI-compatible servers (Ollama, vLLM) ignore the key

T = TypeVar("T", bound=BaseModel)


class ModelRequest(BaseModel):
    """One structured call: a shared, cacheable ``system`` part and a per-call ``user`` part."""

    model_config = ConfigDict(frozen=True)

    system: str
    user: str
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$", description="Tool or schema name.")
    max_output_tokens: int = 1024


class ModelReply(BaseModel, Generic[T]):
    """A validated answer and what it cost."""

    output: T
    usage: ModelUsage


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
        return "rules" if self.provider == "rules" else f"{self.provider}:{self.model}"


def parse_model(spec: str) -> ModelConfig:
    """The ModelConfig for a model spec; a bad spec raises InvalidRequestError in one line."""
    text = spec.strip()
    if text == "rules":
        return ModelConfig()
    provider, sep, rest = text.partition(":")
    if not sep or provider not in PROVIDERS or provider == "rules":
        raise InvalidRequestError(
            f"bad model spec {spec!r}: use rules, anthropic:<model>, openai:<model> "
            "or openai-compatible:<model>@<base_url>"
        )
    model, at, base_url = rest.partition("@")
    model, base_url = model.strip(), base_url.strip()
    if not model:
        raise InvalidRequestError(f"bad model spec {spec!r}: the model name is missing after {provider}:")
    if at and not base_url.startswith(("http://", "https://")):
        raise InvalidRequestError(f"bad model spec {spec!r}: the base URL after @ must start with http:// or https://")
    if provider == "openai-compatible" and not base_url:
        raise InvalidRequestError(
            f"bad model spec {spec!r}: openai-compatible needs a base URL, e.g. "
            "openai-compatible:llama3.1@http://localhost:11434/v1"
        )
    return ModelConfig(provider=provider, model=model, base_url=base_url or None)  # type: ignore[arg-type]


_clients: dict[tuple[object, ...], ModelClient] = {}
_lock = threading.Lock()


def _resolve_key(config: ModelConfig, api_key: str | None) -> str:
    key = api_key or os.environ.get(API_KEY_ENV[config.provider], "")
    if key:
        return key
    if config.provider == "openai-compatible":
        return NO_KEY
    raise ModelAuthError(
        f"no API key for {config.provider}: set {API_KEY_ENV[config.provider]} or configure the model block",
        provider=config.provider,
        model=config.model,
    )


def make_client(config: ModelConfig, api_key: str | None = None) -> ModelClient:
    """The (cached) client for ``config``; ``api_key`` overrides the provider's env variable."""
    if config.provider == "rules":
        from hedgeflow.llm.rules import RulesClient

        return RulesClient()
    key = _resolve_key(config, api_key)
    # the key's digest keeps clients for different keys apart without holding the key in the cache key
    cache_key = (config, hashlib.sha256(key.encode()).hexdigest())
    with _lock:
        client = _clients.get(cache_key)
        if client is None:
            client = _build(config, key)
            _clients[cache_key] = client
        return client


def _build(config: ModelConfig, key: str) -> ModelClient:
    if config.provider == "anthropic":
        from hedgeflow.llm.anthropic_client import AnthropicClient

        return AnthropicClient(config, key)
    from hedgeflow.llm.openai_client import OpenAIClient

    return OpenAIClient(config, key)


def clear_client_cache() -> None:
    """Forget cached clients (tests, or after keys change)."""
    with _lock:
        _clients.clear()
