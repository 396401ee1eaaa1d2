"""Structured answers: validate a model's JSON into its output type, repairing once.

Models wrap JSON in prose or code fences, or trail text after it. One repair
pass pulls the first complete JSON object out of the text; anything still
invalid is a ModelOutputError, never a half-parsed dict.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hedgeflow.llm.errors import ModelOutputError

__all__ = ["extract_json_object", "parse_output", "strict_json_schema"]

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text``: inside a code fence, or the first balanced ``{...}``."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    return None


def parse_output(raw: str | dict[str, Any] | None, output_type: type[T], *, provider: str, model: str) -> T:
    """``raw`` (a JSON text or an already-decoded object) validated as ``output_type``, repaired once."""
    first_error = "empty answer"
    if isinstance(raw, dict):
        try:
            return output_type.model_validate(raw)
        except ValidationError as exc:
            first_error = _short(exc)
            raw = json.dumps(raw)  # a tool input may still hide the answer in a string field
    if isinstance(raw, str) and raw.strip():
        try:
            return output_type.model_validate_json(raw)
        except ValidationError as exc:
            first_error = _short(exc)
        repaired = extract_json_object(raw)
        if repaired is not None:
            try:
                return output_type.model_validate(repaired)
            except ValidationError as exc:
                first_error = _short(exc)
    raise ModelOutputError(
        f"{provider} {model}: answer is not a valid {output_type.__name__} after one repair ({first_error})",
        provider=provider,
        model=model,
    )


def _short(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0] if errors else {"msg": str(exc), "loc": ()}
    where = ".".join(str(part) for part in first.get("loc", ())) or "answer"
    return f"{where}: {first.get('msg', '')}"[:200]


def strict_json_schema(output_type: type[BaseModel]) -> dict[str, Any]:
    """``output_type``'s JSON schema in OpenAI strict form.

    Strict mode wants every object closed (``additionalProperties: false``)
    with all properties required, and rejects ``default``; ranges are
    enforced by our own validation instead.
    """
    schema = copy.deepcopy(output_type.model_json_schema())

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("default", None)
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"):
                node.pop(key, None)
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            for key, value in node.items():
                if key in ("properties", "$defs"):  # maps of names to schemas: visit the schemas only
                    for sub in value.values():
                        visit(sub)
                else:
                    visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(schema)
    return schema
