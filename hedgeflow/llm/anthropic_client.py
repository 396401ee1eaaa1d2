"""Anthropic Messages API client: structured output through one forced tool call.

The persona (``system``) carries ``cache_control`` so repeated calls for one
analyst read it from the prompt cache. SDK retries are off: Prefect retries.
Requests run on the process's model-call loop (``hedgeflow.llm.aio``) through
the SDK's async client, so a hedged call can cancel one: its connection is closed.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import anthropic
from pydantic import BaseModel

from hedgeflow.llm.aio import run_close, run_on_loop
from hedgeflow.llm.base import ModelConfig, ModelReply, ModelRequest
from hedgeflow.llm.errors import ModelError, ModelOutputError, sdk_error
from hedgeflow.llm.latency import LatencyTimeout
from hedgeflow.llm.pricing import cost_usd
from hedgeflow.llm.structured import parse_output
from hedgeflow.schemas import ModelUsage

__all__ = ["AnthropicClient"]

T = TypeVar("T", bound=BaseModel)


class AnthropicClient:
    """A ModelClient over ``anthropic.AsyncAnthropic``; any thread may call ``complete``."""

    provider = "anthropic"

    def __init__(self, config: ModelConfig, api_key: str) -> None:
        self.model = config.model
        self._key = api_key
        self._sdk = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=config.base_url,
            max_retries=0,
            timeout=anthropic.Timeout(config.read_timeout_s, connect=config.connect_timeout_s),
        )
        self.timeouts = LatencyTimeout(config.read_timeout_s)
        self._connect_s = config.connect_timeout_s

    def __repr__(self) -> str:
        return f"AnthropicClient(model={self.model!r})"

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        return run_on_loop(self.acomplete(request, output_type))

    def close(self) -> None:
        """Close the connection pool on the loop that opened it (``client`` does it at exit)."""
        run_close(self._sdk.close())

    async def acomplete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        """``complete`` on the model-call loop; cancelling it closes the request's connection."""
        started = time.perf_counter()
        try:
            message = await self._sdk.messages.create(
                timeout=anthropic.Timeout(self.timeouts.timeout_s(), connect=self._connect_s),
                model=self.model,
                max_tokens=request.max_output_tokens,
                system=[{"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": request.user}],
                tools=[
                    {
                        "name": request.name,
                        "description": f"Record the {request.name} answer.",
                        "input_schema": output_type.model_json_schema(),
                    }
                ],
                tool_choice={"type": "tool", "name": request.name},
            )
        except anthropic.APIError as exc:
            raise self._error(exc) from None
        latency = time.perf_counter() - started
        self.timeouts.observe(latency)
        usage = self._usage(message.usage, latency)
        try:
            output = parse_output(_answer(message), output_type, provider=self.provider, model=self.model)
        except ModelOutputError as exc:
            exc.usage = usage
            raise
        return ModelReply[output_type](output=output, usage=usage)  # type: ignore[valid-type]

    def _usage(self, raw: Any, latency_s: float) -> ModelUsage:
        read = int(getattr(raw, "cache_read_input_tokens", 0) or 0)
        write = int(getattr(raw, "cache_creation_input_tokens", 0) or 0)
        usage = ModelUsage(
            calls=1,
            input_tokens=int(raw.input_tokens or 0) + read + write,  # the API counts cached tokens apart
            output_tokens=int(raw.output_tokens or 0),
            cached_tokens=read,
            latency_s=round(latency_s, 4),
        )
        usage.cost_usd = cost_usd(self.provider, self.model, usage, cache_write_tokens=write)
        return usage

    def _error(self, exc: anthropic.APIError) -> ModelError:
        return sdk_error(exc, anthropic, provider=self.provider, model=self.model, api_key=self._key)


def _answer(message: Any) -> dict[str, Any] | str | None:
    """The forced tool call's input, else the text blocks (to be repaired)."""
    for block in message.content:
        if block.type == "tool_use":
            return dict(block.input) if isinstance(block.input, dict) else None
    text = "".join(getattr(block, "text", "") for block in message.content)
    return text or None
