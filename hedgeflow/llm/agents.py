"""Model-backed analyst signals and portfolio orders.

The model sees the analyst's compact Analysis and the rules signal, and its
answer is validated, clamped and labelled with the model and its usage. The
rules model is a client like any other: it answers with the rules answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hedgeflow.llm.base import ModelClient, label
from hedgeflow.llm.prompts import (
    AnalystAnswer,
    PortfolioAnswer,
    analyst_request,
    portfolio_request,
)
from hedgeflow.portfolio import fit_to_book
from hedgeflow.schemas import AgentSignal, Analysis, ModelUsage, Order

__all__ = ["PortfolioDecision", "clamp_orders", "model_decisions", "model_label", "model_orders", "model_signal"]


def model_label(client: ModelClient) -> str:
    """``<provider>:<model>`` (a model named as its provider, as the rules model is, by that name), as signals record it."""
    return label(client.provider, client.model)


def model_signal(client: ModelClient, spec_persona: str, analysis: Analysis, rules: AgentSignal) -> AgentSignal:
    """``client``'s signal for one analysis, on top of the rules signal; a degraded reply says so.

    The rules model answers with the rules signal itself. A client's ModelError
    propagates (a FallbackClient raises only the errors its caller retries).
    """
    reply = client.complete(analyst_request(spec_persona, analysis.analyst, analysis, rules), AnalystAnswer)
    return rules.model_copy(update={
        "signal": reply.output.signal,
        "confidence": round(reply.output.confidence, 1),
        "reasoning": reply.output.reasoning.strip() or "no reasoning given",
        "source": reply.source,
        "model": model_label(client),
        "usage": reply.usage,
        "elapsed_s": reply.usage.latency_s,
        "degraded": reply.degraded_reason is not None,
        "degraded_reason": reply.degraded_reason,
    })


@dataclass(frozen=True)
class PortfolioDecision:
    """The portfolio manager's orders, what they cost, and the tickers whose order came from the rules (why)."""

    orders: list[Order]
    usage: ModelUsage = field(default_factory=ModelUsage)
    degraded: dict[str, str] = field(default_factory=dict)


def model_decisions(
    client: ModelClient,
    signals: list[AgentSignal],
    allowed: Mapping[str, Mapping[str, int]],
    prices: dict[str, float],
    rules_orders: list[Order] | None = None,
) -> PortfolioDecision:
    """One model call decides every ticker; the answer is clamped per ticker and fitted to the book.

    ``allowed`` maps ticker -> action -> max quantity (``portfolio.allowed_actions``
    also carries the book: free cash, margin, prices). A ticker the model skips,
    or decides invalidly (an action it may not take, a non-positive quantity),
    takes its rules order and is listed in ``degraded`` with the reason; tickers
    it invents are dropped.
    """
    if not allowed:
        return PortfolioDecision([])
    request = portfolio_request(signals, allowed, prices, rules_orders)
    reply = client.complete(request, PortfolioAnswer)
    gaps: dict[str, str] = {}
    orders = clamp_orders([d.model_dump() for d in reply.output.decisions], allowed, rules_orders, gaps)
    if reply.degraded_reason is not None:  # the whole answer came from the rules fallback
        why = reply.degraded_reason
        gaps = {ticker: why for ticker in sorted(allowed)}
        orders = [o.model_copy(update={"reasoning": f"{o.reasoning} [rules: {why}]"}) for o in orders]
    return PortfolioDecision(orders, reply.usage, gaps)


def model_orders(
    client: ModelClient,
    signals: list[AgentSignal],
    allowed: Mapping[str, Mapping[str, int]],
    prices: dict[str, float],
    rules_orders: list[Order] | None = None,
) -> tuple[list[Order], ModelUsage]:
    """``model_decisions`` as (orders, usage)."""
    decision = model_decisions(client, signals, allowed, prices, rules_orders)
    return decision.orders, decision.usage


def _invalid(decision: Mapping[str, object], limits: Mapping[str, int]) -> str | None:
    """Why a decision cannot be carried out as given, or None."""
    action = str(decision.get("action", "hold"))
    try:
        quantity = int(decision.get("quantity", 0) or 0)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return f"quantity {decision.get('quantity')!r} is not a number"
    if action == "hold":
        return None
    if limits.get(action, 0) <= 0:
        return f"{action} {quantity} not allowed"
    if quantity <= 0:
        return f"{action} with quantity {quantity}"
    return None


def clamp_orders(
    decisions: list[dict[str, object]],
    allowed: Mapping[str, Mapping[str, int]],
    rules_orders: list[Order] | None = None,
    gaps: dict[str, str] | None = None,
) -> list[Order]:
    """One Order per allowed ticker, never trusting the answer: each capped by its ticker's limit,
    then all of them fitted to the book together (``portfolio.fit_to_book``: buys and new-short
    margin within free cash, shared by conviction).

    With ``rules_orders``, a ticker the answer omits or decides invalidly takes its rules order,
    marked ``[rules: why]``, and ``gaps[ticker]`` says why; without them it holds 0.
    """
    by_ticker: dict[str, dict[str, object]] = {}
    for d in decisions:
        by_ticker.setdefault(str(d.get("ticker", "")).upper(), d)  # a repeated ticker keeps its first answer
    rules = {o.ticker.upper(): o for o in rules_orders or []}
    orders: list[Order] = []
    for ticker in sorted(allowed):
        limits = allowed[ticker]
        decision = by_ticker.get(ticker.upper())
        why = "no decision from the model" if decision is None else _invalid(decision, limits)
        fallback = rules.get(ticker.upper())
        if why is not None and fallback is not None:
            if gaps is not None:
                gaps[ticker] = why
            decision = {**fallback.model_dump(), "reasoning": f"{fallback.reasoning} [rules: {why}]"}
        if decision is None:
            orders.append(Order(ticker=ticker, action="hold", quantity=0, confidence=0.0,
                                reasoning="no decision from the model; holding"))
            continue
        action = str(decision.get("action", "hold"))
        quantity = int(decision.get("quantity", 0) or 0)  # type: ignore[call-overload]
        confidence = max(0.0, min(100.0, float(decision.get("confidence", 0.0) or 0.0)))  # type: ignore[arg-type]
        reasoning = str(decision.get("reasoning", "")).strip()
        cap = limits.get(action, 0)
        if action == "hold" or cap <= 0 or quantity <= 0:
            if action != "hold":
                reasoning = f"{action} {quantity} not allowed (max {cap}); holding. {reasoning}".strip()
            orders.append(Order(ticker=ticker, action="hold", quantity=0, confidence=confidence, reasoning=reasoning))
            continue
        if quantity > cap:
            reasoning = f"{reasoning} (quantity capped from {quantity} to {cap})".strip()
        orders.append(Order(ticker=ticker, action=action, quantity=min(quantity, cap),  # type: ignore[arg-type]
                            confidence=confidence, reasoning=reasoning or f"{action} {min(quantity, cap)}"))
    return fit_to_book(orders, allowed)  # type: ignore[arg-type]
