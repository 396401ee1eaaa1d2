"""The rules model as a ModelClient: it answers with the rules lines of the prompt.

It makes no call and costs nothing; it exists so that every model, the rules
model included, sits behind the same Protocol (a wrapper such as the circuit
breaker can wrap it like any other).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from hedgeflow.llm.client import ModelReply, ModelRequest
from hedgeflow.llm.prompts import echo_answer
from hedgeflow.schemas import ModelUsage

__all__ = ["RulesClient"]

T = TypeVar("T", bound=BaseModel)


class RulesClient:
    """Echoes ``rules_signal`` / ``rules_decision`` lines; zero calls, zero cost."""

    provider = "rules"
    model = "rules"

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        output = output_type.model_validate(echo_answer(request.name, request.user))
        return ModelReply[output_type](output=output, usage=ModelUsage())  # type: ignore[valid-type]
