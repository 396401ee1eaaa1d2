"""What every analyst module shares: scoring helpers and the rules signal.

An analyst module has one shape: frozen ``Thresholds``/``Weights`` dataclasses
and their defaults ``THRESHOLDS``/``WEIGHTS`` at the top; a pure
``analyze(snapshot, *, thresholds=THRESHOLDS, weights=WEIGHTS) -> Analysis``
made of named sub-scores and built by ``analysis_of``; a
``derive_signal(analysis, *, thresholds=THRESHOLDS) -> AgentSignal`` (usually
``rules_signal`` at ``thresholds.signal_threshold``); ``NAME``,
``DESCRIPTION``, a ``PERSONA`` text for model prompts, and ``__all__``.
No function reads ``THRESHOLDS`` or ``WEIGHTS`` itself: they are defaults only
(tests/test_analyst_shape.py checks every module).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hedgeflow.schemas import AgentSignal, Analysis, Signal, Snapshot, SubScore

__all__ = [
    "SIGNAL_THRESHOLD",
    "AnalystSpec",
    "agent_signal",
    "analysis_of",
    "clamp",
    "no_data",
    "rules_signal",
    "score_between",
    "sub_score",
    "vote",
]

SIGNAL_THRESHOLD = 0.15  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class AnalystSpec:
    """One committee member, as the registry and the task layer see it."""

    key: str
    name: str
    description: str
    persona: str
    analyze: Callable[[Snapshot], Analysis]
    derive_signal: Callable[[Analysis], AgentSignal]
    version: str  # changes whenever the module's source changes: part of cache keys


def clamp(value: float, low: float = -1.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def score_between(value: float | None, bad: float, good: float) -> float | None:
    """Map ``value`` linearly from ``bad`` (-1) to ``good`` (+1), clamped; ``None`` or nan stays ``None``.

    Works in either direction: ``bad > good`` scores lower-is-better figures.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or bad == good:
        return None
    return clamp(-1.0 + 2.0 * (value - bad) / (good - bad))


def vote(flags: Iterable[bool | None]) -> float | None:
    """Share of true checks mapped to [-1, 1]; checks without data (``None``) abstain."""
    known = [flag for flag in flags if flag is not None]
    if not known:
        return None
    return clamp(2.0 * sum(known) / len(known) - 1.0)


def _finite(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def sub_score(
    name: str,
    score: float | None,
    *,
    weight: float = 1.0,
    details: str = "",
    **figures: float | None,
) -> SubScore:
    """A sub-score whose figures are cleaned of nan and inf (they become ``None``)."""
    clean = _finite(score)
    return SubScore(
        name=name,
        score=None if clean is None else clamp(clean),
        weight=weight,
        details=details or ("no data" if clean is None else ""),
        figures={key: _finite(value) for key, value in figures.items()},
    )


def no_data(name: str, why: str, *, weight: float = 1.0) -> SubScore:
    """A sub-score that abstains: it leaves the weighting and never counts as bearish."""
    return SubScore(name=name, score=None, weight=weight, details=f"no data: {why}")


def analysis_of(
    analyst: str, snapshot: Snapshot, subs: tuple[SubScore, ...], *, gather: bool = True, **figures: float | None
) -> Analysis:
    """The Analysis of ``subs``: the ``figures`` given, then (with ``gather``) every sub-score's figures.

    ``gather=False`` keeps only the figures given, for an analyst whose sub-scores
    share figure names (valuation's ``gap`` per method) or already carry them all.
    """
    top = dict(figures)
    if gather:
        top.update((key, value) for sub in subs for key, value in sub.figures.items())
    return Analysis(analyst=analyst, ticker=snapshot.ticker, as_of=snapshot.end, sub_scores=subs, figures=top)


def rules_signal(analysis: Analysis, *, threshold: float = SIGNAL_THRESHOLD) -> AgentSignal:
    """The rules model: the weighted mean of the sub-scores that have data.

    confidence = 100 x coverage x (0.6 x strength + 0.4 x agreement), where
    strength is |mean| for a directional call and 1 - |mean| / threshold for a
    neutral one, agreement is the weight share of sub-scores on the side of
    the call, and coverage is the weight share of sub-scores that have data.
    """
    subs = analysis.sub_scores
    total_weight = sum(s.weight for s in subs)
    scored = [s for s in subs if s.score is not None and s.weight > 0]
    scored_weight = sum(s.weight for s in scored)
    if not scored or scored_weight == 0 or total_weight == 0:
        missing = "; ".join(f"{s.name}: {s.details}" for s in subs) or "nothing to score"
        return agent_signal(analysis, "neutral", 0.0, f"No data to judge ({missing}).")
    mean = sum(s.weight * (s.score or 0.0) for s in scored) / scored_weight
    coverage = scored_weight / total_weight
    signal: Signal
    if mean >= threshold:
        signal, strength = "bullish", abs(mean)
        agree = sum(s.weight for s in scored if (s.score or 0.0) > 0)
    elif mean <= -threshold:
        signal, strength = "bearish", abs(mean)
        agree = sum(s.weight for s in scored if (s.score or 0.0) < 0)
    else:
        signal, strength = "neutral", 1.0 - abs(mean) / threshold
        agree = sum(s.weight for s in scored if abs(s.score or 0.0) < threshold)
    confidence = 100.0 * coverage * (0.6 * strength + 0.4 * agree / scored_weight)
    return agent_signal(analysis, signal, confidence, _reason(signal, mean, scored, subs))


def _reason(signal: Signal, mean: float, scored: list[SubScore], subs: tuple[SubScore, ...]) -> str:
    decisive = sorted(scored, key=lambda s: abs(s.weight * (s.score or 0.0)), reverse=True)[:3]
    parts = [f"{s.name} {s.score:+.2f}" + (f" ({s.details})" if s.details else "") for s in decisive]
    text = f"{signal.capitalize()} at weighted score {mean:+.2f}: " + "; ".join(parts)
    absent = [s.name for s in subs if s.score is None]
    if absent:
        text += f". No data for {', '.join(absent)}"
    return text + "."


def agent_signal(analysis: Analysis, signal: Signal, confidence: float, reasoning: str) -> AgentSignal:
    """The AgentSignal of ``analysis``, its confidence clamped to [0, 100] and rounded to 0.1."""
    return AgentSignal(
        analyst=analysis.analyst,
        ticker=analysis.ticker,
        as_of=analysis.as_of,
        signal=signal,
        confidence=round(max(0.0, min(100.0, confidence)), 1),
        reasoning=reasoning,
    )
