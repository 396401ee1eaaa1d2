"""OpenAI chat-completions client, also for OpenAI-compatible servers (Ollama, vLLM).

Structured output through ``response_format`` json_schema in strict mode. The
system message always comes first and is identical for a persona, so the
provider's automatic prefix caching applies. SDK retries are off. Requests run
on the process's model-call loop (``hedgeflow.llm.aio``) through the SDK's
async client, so a hedged call can cancel one: its connection is closed.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import openai
from pydantic import BaseModel

from hedgeflow.llm.aio import run_close, run_on_loop
from hedgeflow.llm.base import ModelConfig, ModelReply, ModelRequest
from hedgeflow.llm.errors import ModelError, ModelOutputError, sdk_error
from hedgeflow.llm.latency import LatencyTimeout
from hedgeflow.llm.pricing import cost_usd
from hedgeflow.llm.structured import parse_output, strict_json_schema
from hedgeflow.schemas import ModelUsage

__all__ = ["OpenAIClient"]

T = TypeVar("T", bound=BaseModel)


class OpenAIClient:
    """A ModelClient over ``openai.AsyncOpenAI``; ``provider`` is openai or openai-compatible."""

    def __init__(self, config: ModelConfig, api_key: str) -> None:
        self.provider: str = config.provider
        self.model = config.model
        self._key = api_key
        self._sdk = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=config.base_url,
            max_retries=0,
            timeout=openai.Timeout(config.read_timeout_s, connect=config.connect_timeout_s),
        )
        self.timeouts = LatencyTimeout(config.read_timeout_s)
        self._connect_s = config.connect_timeout_s

    def __repr__(self) -> str:
        return f"OpenAIClient(provider={self.provider!r}, model={self.model!r})"

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        return run_on_loop(self.acomplete(request, output_type))

    def close(self) -> None:
        """Close the connection pool on the loop that opened it (``client`` does it at exit)."""
        run_close(self._sdk.close())

    async def acomplete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        """``complete`` on the model-call loop; cancelling it closes the request's connection."""
        started = time.perf_counter()
        try:
            completion = await self._sdk.chat.completions.create(
                timeout=openai.Timeout(self.timeouts.timeout_s(), connect=self._connect_s),
                model=self.model,
                messages=[
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.user},
                ],
                max_completion_tokens=request.max_output_tokens,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": request.name, "schema": strict_json_schema(output_type), "strict": True},
                },
            )
        except openai.APIError as exc:
            raise self._error(exc) from None
        latency = time.perf_counter() - started
        self.timeouts.observe(latency)
        usage = self._usage(completion.usage, latency)
        if not completion.choices:
            raise ModelOutputError(f"{self.provider} {self.model}: answer has no choices",
                                   provider=self.provider, model=self.model)
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            raise ModelOutputError(f"{self.provider} {self.model}: the model refused to answer",
                                   provider=self.provider, model=self.model)
        try:
            output = parse_output(message.content, output_type, provider=self.provider, model=self.model)
        except ModelOutputError as exc:
            exc.usage = usage
            raise
        return ModelReply[output_type](output=output, usage=usage)  # type: ignore[valid-type]

    def _usage(self, raw: Any, latency_s: float) -> ModelUsage:
        if raw is None:  # some compatible servers omit usage
            return ModelUsage(calls=1, latency_s=round(latency_s, 4))
        details = getattr(raw, "prompt_tokens_details", None)
        usage = ModelUsage(
            calls=1,
            input_tokens=int(raw.prompt_tokens or 0),  # includes the cached prefix
            output_tokens=int(raw.completion_tokens or 0),
            cached_tokens=int(getattr(details, "cached_tokens", 0) or 0),
            latency_s=round(latency_s, 4),
        )
        usage.cost_usd = cost_usd(self.provider, self.model, usage)
        return usage

    def _error(self, exc: openai.APIError) -> ModelError:
        return sdk_error(exc, openai, provider=self.provider, model=self.model, api_key=self._key)
