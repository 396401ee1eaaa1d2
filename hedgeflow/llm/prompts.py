"""Prompts and the answer types they ask for.

The system part is fixed per analyst (persona + answer instructions) so the
provider can cache it; the user part is the compact Analysis, never raw data.
Each prompt carries machine-findable ``rules_signal:`` / ``rules_decision``
lines: the model sees the rules model's view, and fakes can echo it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from hedgeflow.llm.base import ModelRequest
from hedgeflow.schemas import Action, AgentSignal, Analysis, Order, Signal

__all__ = [
    "ACTIONS",
    "AnalystAnswer",
    "Decision",
    "PortfolioAnswer",
    "analyst_request",
    "analyst_system",
    "echo_answer",
    "find_rules_decisions",
    "find_rules_signal",
    "portfolio_request",
]

ACTIONS: tuple[str, ...] = ("buy", "sell", "short", "cover", "hold")
SIGNALS: tuple[str, ...] = ("bullish", "bearish", "neutral")

ANALYST_INSTRUCTIONS = """\
You receive one analysis: the ticker, the as-of date, named sub-scores from -1 (bearish) \
to +1 (bullish) with their figures, and the rules model's signal. Judge it in your own \
voice. Use only the figures given; say when data is missing.
Answer with: signal (bullish, bearish or neutral), confidence (0 to 100) and reasoning \
(at most three sentences naming the figures that decide it)."""

PORTFOLIO_SYSTEM = """\
You are the portfolio manager of a long/short equity fund. For every ticker you receive \
the analysts' signals (count and mean confidence per signal), the price, the actions \
allowed with their maximum quantities, and the rules model's decision.
Decide one action per ticker: buy, sell, short, cover or hold, with a quantity no larger \
than allowed (hold means quantity 0), a confidence from 0 to 100 and one sentence of reasoning.
Answer with a decisions list holding one entry per ticker."""

_RULES_SIGNAL = re.compile(r"^rules_signal:\s*(bullish|bearish|neutral)\s+([0-9]+(?:\.[0-9]+)?)\s*$", re.MULTILINE)
_RULES_DECISION = re.compile(
    r"^rules_decision\s+(\S+)\s+(buy|sell|short|cover|hold)\s+([0-9]+)(?:\s+([0-9]+(?:\.[0-9]+)?))?\s*$",
    re.MULTILINE,
)
_ALLOWED = re.compile(r"^allowed\s+(\S+):", re.MULTILINE)


def _clamp_pct(value: Any) -> Any:
    return max(0.0, min(100.0, float(value))) if isinstance(value, int | float) else value


class AnalystAnswer(BaseModel):
    """One analyst's verdict; confidence is clamped into 0..100."""

    signal: Signal
    confidence: float = Field(description="0 to 100.")
    reasoning: str

    @field_validator("signal", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("confidence", mode="before")
    @classmethod
    def _clamp_confidence(cls, value: Any) -> Any:
        return _clamp_pct(value)


class Decision(BaseModel):
    """One ticker's decision; an unknown action becomes hold 0."""

    ticker: str
    action: Action
    quantity: int = Field(description="Shares; 0 for hold.")
    confidence: float = Field(description="0 to 100.")
    reasoning: str

    @model_validator(mode="before")
    @classmethod
    def _known_action(cls, data: Any) -> Any:
        if isinstance(data, dict):
            action = str(data.get("action", "")).strip().lower()
            data = {**data, "action": action}
            if action not in ACTIONS:
                data.update(action="hold", quantity=0)
            if isinstance(data.get("quantity"), float):
                data["quantity"] = int(data["quantity"])
            if isinstance(data.get("quantity"), int) and data["quantity"] < 0:
                data["quantity"] = 0
        return data

    @field_validator("confidence", mode="before")
    @classmethod
    def _clamp_confidence(cls, value: Any) -> Any:
        return _clamp_pct(value)


class PortfolioAnswer(BaseModel):
    """All tickers' decisions; a list (not a dict) keeps the schema OpenAI-strict."""

    decisions: list[Decision]


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def analyst_system(spec_persona: str, analyst_key: str) -> str:
    """Byte-stable per analyst: it is the cacheable prefix of every call."""
    return f"{spec_persona.strip()}\n\nYou are the analyst `{analyst_key}`.\n{ANALYST_INSTRUCTIONS}"


def analyst_request(spec_persona: str, analyst_key: str, analysis: Analysis, rules: AgentSignal) -> ModelRequest:
    """The prompt for one analyst and ticker: persona as system, the compact analysis as user."""
    lines = [f"ticker: {analysis.ticker}", f"as_of: {analysis.as_of.isoformat()}", "sub_scores:"]
    for sub in analysis.sub_scores:
        score = "no data" if sub.score is None else f"{sub.score:+.2f}"
        figures = " ".join(f"{k}={_num(v)}" for k, v in sub.figures.items())
        details = f" - {sub.details}" if sub.details else ""
        lines.append(f"- {sub.name} (weight {sub.weight:g}): {score}{details}" + (f" [{figures}]" if figures else ""))
    if analysis.figures:
        lines.append("figures: " + " ".join(f"{k}={_num(v)}" for k, v in analysis.figures.items()))
    lines.append(f"rules_signal: {rules.signal} {rules.confidence:.1f}")
    lines.append("Give your signal, confidence and reasoning.")
    rules_answer = {"signal": rules.signal, "confidence": rules.confidence, "reasoning": rules.reasoning}
    return ModelRequest(system=analyst_system(spec_persona, analyst_key), user="\n".join(lines),
                        name="analyst_signal", rules_answer=rules_answer)


def portfolio_request(
    signals: list[AgentSignal],
    allowed: Mapping[str, Mapping[str, int]],
    prices: dict[str, float],
    rules_orders: list[Order] | None = None,
) -> ModelRequest:
    """One prompt for every ticker: signal counts and mean confidence, allowed actions, rules decisions."""
    rules_by_ticker = {order.ticker: order for order in rules_orders or []}
    lines: list[str] = []
    for ticker in sorted(allowed):
        mine = [s for s in signals if s.ticker == ticker]
        counts = []
        for kind in SIGNALS:
            picked = [s.confidence for s in mine if s.signal == kind]
            mean = sum(picked) / len(picked) if picked else 0.0
            counts.append(f"{kind} {len(picked)} @{mean:.1f}")
        price = prices.get(ticker)
        lines.append(f"{ticker} price {_num(price)}; signals: " + ", ".join(counts))
        limits = " ".join(f"{action}<={qty}" for action, qty in allowed[ticker].items())
        lines.append(f"allowed {ticker}: {limits}")
        if (order := rules_by_ticker.get(ticker)) is not None:
            lines.append(f"rules_decision {ticker} {order.action} {order.quantity} {order.confidence:.1f}")
    lines.append("Decide every ticker.")
    rules_answer = {"decisions": [o.model_dump(include={"ticker", "action", "quantity", "confidence", "reasoning"})
                                  for o in rules_orders or []]}
    return ModelRequest(system=PORTFOLIO_SYSTEM, user="\n".join(lines), name="portfolio_decisions",
                        rules_answer=rules_answer)


def find_rules_signal(text: str) -> tuple[Signal, float] | None:
    """The ``rules_signal: <signal> <confidence>`` line of a prompt, if any."""
    match = _RULES_SIGNAL.search(text)
    return (match.group(1), float(match.group(2))) if match else None  # type: ignore[return-value]


def find_rules_decisions(text: str) -> list[tuple[str, Action, int, float]]:
    """Every ``rules_decision TICKER action quantity [confidence]`` line, then hold 0 for other allowed tickers."""
    found = [
        (m.group(1), m.group(2), int(m.group(3)), float(m.group(4) or 50.0)) for m in _RULES_DECISION.finditer(text)
    ]
    seen = {ticker for ticker, *_ in found}
    found += [(t, "hold", 0, 50.0) for t in _ALLOWED.findall(text) if t not in seen]
    return found  # type: ignore[return-value]


def echo_answer(name: str, text: str) -> dict[str, Any]:
    """The deterministic answer a fake (or the rules client) gives: the rules lines echoed back."""
    if name == "portfolio_decisions":
        return {
            "decisions": [
                {"ticker": t, "action": a, "quantity": q, "confidence": c, "reasoning": "echo of rules decision"}
                for t, a, q, c in find_rules_decisions(text)
            ]
        }
    signal, confidence = find_rules_signal(text) or ("neutral", 50.0)
    return {"signal": signal, "confidence": confidence, "reasoning": "echo of rules signal"}
