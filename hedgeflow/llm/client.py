"""The model spec parser and the client factory with its cache (the vocabulary is in ``base``).

A model spec is ``rules``, ``anthropic:<model>``, ``openai:<model>`` or
``openai-compatible:<model>@<base_url>`` (``@<base_url>`` is optional for the
first two, e.g. to reach a proxy). Clients are cached per process so every
call to one endpoint shares one connection pool.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import threading
from typing import Protocol

from hedgeflow.errors import InvalidRequestError
from hedgeflow.llm.base import PROVIDERS, ModelClient, ModelConfig, ModelReply, ModelRequest, Provider
from hedgeflow.llm.errors import ModelAuthError
from hedgeflow.llm.rules import RulesClient
from hedgeflow.urls import check_base_url

__all__ = [
    "API_KEY_ENV",
    "PROVIDERS",
    "ModelClient",
    "ModelConfig",
    "ModelReply",
    "ModelRequest",
    "Provider",
    "clear_client_cache",
    "make_client",
    "parse_model",
]

API_KEY_ENV: dict[str, str] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "openai-compatible": "OPENAI_COMPATIBLE_API_KEY",
}
NO_KEY = "not-needed"  # local OpenAI-compatible servers (Ollama, vLLM) ignore the key


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
    if at:
        check_base_url(base_url, "model base URL after @")
    if provider == "openai-compatible" and not base_url:
        raise InvalidRequestError(
            f"bad model spec {spec!r}: openai-compatible needs a base URL, e.g. "
            "openai-compatible:llama3.1@http://localhost:11434/v1"
        )
    return ModelConfig(provider=provider, model=model, base_url=base_url or None)  # type: ignore[arg-type]


class _SDKClient(ModelClient, Protocol):
    def close(self) -> None: ...


_clients: dict[tuple[object, ...], _SDKClient] = {}
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


def _build(config: ModelConfig, key: str) -> _SDKClient:
    if config.provider == "anthropic":
        from hedgeflow.llm.anthropic_client import AnthropicClient

        return AnthropicClient(config, key)
    from hedgeflow.llm.openai_client import OpenAIClient

    return OpenAIClient(config, key)


@atexit.register
def clear_client_cache() -> None:
    """Close and forget the cached clients; the next ones start with no latency history (tests, the
    benchmark's scenarios, or after keys change).

    Also run at exit, while the interpreter is whole: an SDK client still open when
    the interpreter tears down its modules prints "Exception ignored in ... __del__"
    (openai's reads a module global by then None), and the CLI's ``gc.freeze()``
    leaves every client to that teardown.
    """
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        with contextlib.suppress(Exception):  # a pool that will not close in 2 s is left to the exit
            client.close()
