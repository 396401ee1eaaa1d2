"""The rules model as a ModelClient: it answers with the rules answer the request carries.

It makes no call and costs nothing; it exists so that every model, the rules
model included, sits behind the same Protocol: it is the model a run asks
when ``--model rules``, and the fallback of every other model
(``hedgeflow.llm.fallback``).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from hedgeflow.llm.base import ModelReply, ModelRequest
from hedgeflow.llm.errors import ModelOutputError
from hedgeflow.schemas import ModelUsage

__all__ = ["RulesClient"]

T = TypeVar("T", bound=BaseModel)


class RulesClient:
    """Returns ``request.rules_answer`` as the output type; zero calls, zero cost."""

    provider = "rules"
    model = "rules"

    def __repr__(self) -> str:
        return "RulesClient()"

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        if request.rules_answer is None:
            raise ModelOutputError(f"the {request.name} request carries no rules answer", provider="rules", model="rules")
        output = output_type.model_validate(request.rules_answer)
        return ModelReply[output_type](output=output, usage=ModelUsage(), source="rules")  # type: ignore[valid-type]
