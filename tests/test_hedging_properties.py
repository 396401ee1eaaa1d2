"""Property: a hedged call counts every billed answer exactly once, and nothing that was not billed.

A scripted in-process model (a FunctionModel-style fake, no SDK) answers each
request after a drawn delay with an answer, a transient error, or an answer off
the schema (which is billed: its error carries its usage). It records what it
billed when a request completes; a request cancelled before it completes bills
nothing, as a provider bills nothing it did not answer.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from hedgeflow.llm import (
    AnalystAnswer,
    ModelAPIError,
    ModelError,
    ModelOutputError,
    ModelReply,
    ModelRequest,
)
from hedgeflow.llm.hedging import Hedgeable, HedgedClient, HedgeSettings
from hedgeflow.llm.latency import LatencyTimeout
from hedgeflow.schemas import ModelUsage

T = TypeVar("T", bound=BaseModel)
ANSWER = {"signal": "bullish", "confidence": 60.0, "reasoning": "scripted"}
REQUEST = ModelRequest(system="s", user="u", name="analyst_signal")

# one request's script: (delay in ms, outcome, input tokens it is billed when it answers)
Step = tuple[int, str, int]
steps = st.tuples(st.integers(0, 40), st.sampled_from(["answer", "transient", "off_schema"]), st.integers(1, 1000))


class Scripted:
    """Answers request i with ``script[i]``; ``billed`` lists the tokens of every request that completed billed."""

    provider, model = "openai", "scripted"

    def __init__(self, script: list[Step], median_s: float) -> None:
        self.script, self.next = script, 0
        self.billed: list[int] = []
        self.timeouts = LatencyTimeout(cap_s=60.0, min_samples=1)
        self.timeouts.observe(median_s)

    async def acomplete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        delay_ms, outcome, tokens = self.script[min(self.next, len(self.script) - 1)]
        self.next += 1
        await asyncio.sleep(delay_ms / 1000)
        usage = ModelUsage(calls=1, input_tokens=tokens, output_tokens=tokens // 2)
        if outcome == "transient":
            raise ModelAPIError("503 overloaded", provider=self.provider, model=self.model, status_code=503)
        self.billed.append(tokens)
        if outcome == "off_schema":
            error = ModelOutputError("not the schema", provider=self.provider, model=self.model)
            error.usage = usage
            raise error
        return ModelReply[output_type](output=output_type.model_validate(ANSWER), usage=usage)  # type: ignore[valid-type]


@settings(max_examples=60, deadline=None)
@given(script=st.lists(steps, min_size=2, max_size=2), median_ms=st.integers(1, 30))
def test_billed_answers_are_counted_exactly_once(script: list[Step], median_ms: int) -> None:
    model = Scripted(script, median_ms / 1000)
    assert isinstance(model, Hedgeable)
    client = HedgedClient(model, HedgeSettings(multiple=1.0, floor_s=0.0, min_samples=1))
    try:
        usage = client.complete(REQUEST, AnalystAnswer).usage
    except ModelError as error:
        usage = error.usage or ModelUsage()
    assert model.next <= 2  # one hedge at most
    assert usage.input_tokens == sum(model.billed)  # every billed answer once, nothing unbilled
    assert usage.calls == len(model.billed)
    assert usage.input_tokens <= sum(tokens for _, _, tokens in script)
