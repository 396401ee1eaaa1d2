"""Every analyst module has the one shape (STYLE.md "In Hedgeflow" 2; issue 15, item 5).

Frozen ``Thresholds``/``Weights`` with their defaults ``THRESHOLDS``/``WEIGHTS``; a pure
``analyze(snapshot, *, thresholds, weights)`` whose sub-scores are named after the
``Weights`` fields; ``derive_signal(analysis, *, thresholds)``; ``__all__``. Thresholds and
weights are injected, never read from module globals, and the insider and news sub-scores
come from the one shared helper each (``common.insider_sub_score``, ``common.news_sub_score``),
named ``insiders`` and ``news`` wherever they appear.
The checks read the source (ast) for what must not be written and run the analysts for
what must happen: other thresholds change sub-scores, other weights re-weight them.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import importlib
import inspect
import pkgutil
from types import ModuleType
from typing import Any

import pytest

import hedgeflow.analysts
from hedgeflow.analysts.registry import CATALOGUE
from hedgeflow.data.offline import OfflineProvider
from hedgeflow.data.snapshot import build_snapshot
from hedgeflow.schemas import Analysis, CompanyNews, InsiderTrade, Snapshot

KEYS = list(CATALOGUE)
CONTRACT = {"NAME", "DESCRIPTION", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal"}
# figures only the shared helpers put on a sub-score: they mark the helper's output
INSIDER_MARK, NEWS_MARK = "net_buying_share", "headline_balance"
# sub-scores that fold the shared insider sub-score's score into their own (and say so in their details)
FOLDS_INSIDERS = {("charlie_munger", "management")}
# thresholds that make each analyst's call neutral whatever the analysis
NEUTRALISING: dict[str, dict[str, float]] = {"fundamentals": {"vote_band": 1.0}, "valuation": {"signal_gap": 100.0}}


def module(key: str) -> ModuleType:
    return importlib.import_module(f"hedgeflow.analysts.{key}")


def tree(key: str) -> ast.Module:
    return ast.parse(inspect.getsource(module(key)))


@pytest.fixture(scope="module")
def snapshots() -> tuple[Snapshot, Snapshot]:
    """AAPL's bundled data at 2024-06-28 (no insider trades, no news), and the same with some of each.

    The trades and headlines are made up: 4,000 shares bought for 720,000, 1,500 sold for 330,000;
    three bullish, one bearish and one unlabelled headline.
    """
    end = dt.date(2024, 6, 28)
    bare = build_snapshot(OfflineProvider(), "AAPL", end - dt.timedelta(days=400), end)
    trades = (
        InsiderTrade(ticker="AAPL", transaction_shares=4000.0, transaction_value=720_000.0, filing_date="2024-05-02"),
        InsiderTrade(ticker="AAPL", transaction_shares=-1500.0, transaction_value=-330_000.0, filing_date="2024-05-20"),
    )
    labels = ["bullish", "bullish", "bearish", None, "bullish"]
    news = tuple(
        CompanyNews(ticker="AAPL", title=f"headline {i}", date="2024-06-01", sentiment=label)  # type: ignore[arg-type]
        for i, label in enumerate(labels)
    )
    return bare, bare.model_copy(update={"insider_trades": trades, "news": news})


# --------------------------------------------------------------------------- declared shape


@pytest.mark.parametrize("key", KEYS)
def test_frozen_thresholds_and_weights_with_their_defaults(key: str) -> None:
    mod = module(key)
    for cls, default in ((mod.Thresholds, mod.THRESHOLDS), (mod.Weights, mod.WEIGHTS)):
        assert isinstance(cls, type) and dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
        assert type(default) is cls and default == cls()
        first = dataclasses.fields(cls)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(default, first, getattr(default, first))


@pytest.mark.parametrize("key", KEYS)
def test_analyze_and_derive_signal_take_thresholds_and_weights_by_keyword(key: str) -> None:
    mod = module(key)
    analyze = inspect.signature(mod.analyze).parameters
    assert next(iter(analyze)) == "snapshot"
    derive = inspect.signature(mod.derive_signal).parameters
    assert next(iter(derive)) == "analysis"
    for params, name, default in (
        (analyze, "thresholds", mod.THRESHOLDS),
        (analyze, "weights", mod.WEIGHTS),
        (derive, "thresholds", mod.THRESHOLDS),
    ):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY and params[name].default is default, name


@pytest.mark.parametrize("name", [m.name for m in pkgutil.iter_modules(hedgeflow.analysts.__path__)] + ["__init__"])
def test_every_module_declares_all_and_its_names_exist(name: str) -> None:
    mod = hedgeflow.analysts if name == "__init__" else importlib.import_module(f"hedgeflow.analysts.{name}")
    exported = list(mod.__all__)
    assert len(exported) == len(set(exported))
    assert [n for n in exported if not hasattr(mod, n)] == []
    if name in CATALOGUE:
        assert CONTRACT <= set(exported)


@pytest.mark.parametrize("key", KEYS)
def test_no_number_at_module_level_and_no_function_reads_the_defaults(key: str) -> None:
    """Thresholds live in the dataclasses: no module-level numeric constant, and THRESHOLDS /
    WEIGHTS appear in functions only as parameter defaults, never read in a body."""
    source = tree(key)
    for node in source.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            value = node.value.operand if isinstance(node.value, ast.UnaryOp) else node.value
            assert not (isinstance(value, ast.Constant) and isinstance(value.value, (int, float))), ast.unparse(node)
    for function in (n for n in ast.walk(source) if isinstance(n, ast.FunctionDef)):
        for statement in function.body:
            read = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)} & {"THRESHOLDS", "WEIGHTS"}
            assert not read, f"{function.name} reads {read}"


@pytest.mark.parametrize("key", KEYS)
def test_built_from_the_shared_helpers(key: str) -> None:
    """No hand-built Analysis or AgentSignal (``base.analysis_of``, ``base.agent_signal``), and
    no analyst reads insider trades or headline labels itself (the shared sub-scores do)."""
    source = tree(key)
    called = {n.func.id for n in ast.walk(source) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"Analysis", "AgentSignal", "SubScore"}
    assert "analysis_of" in called
    defined = {n.name for n in ast.walk(source) if isinstance(n, ast.FunctionDef)}
    assert not defined & {"_signal", "_insider", "_news", "_headline_sentiment"}
    attributes = [n for n in ast.walk(source) if isinstance(n, ast.Attribute)]
    assert not {n.attr for n in attributes} & {"transaction_shares", "transaction_value"}
    of_snapshot = {n.attr for n in attributes if isinstance(n.value, ast.Name) and n.value.id == "snapshot"}
    assert "insider_trades" not in of_snapshot
    if key != "news_sentiment":  # which lists the unlabelled headlines' titles for a model to classify
        assert "news" not in of_snapshot


# --------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize("key", KEYS)
def test_insider_and_news_sub_scores_are_the_shared_ones(key: str, snapshots: tuple[Snapshot, Snapshot]) -> None:
    """Adding trades and news changes only sub-scores the shared helpers made, named ``insiders`` and
    ``news`` in every analyst (or a sub-score that folds the insider one in)."""
    bare, rich = snapshots
    mod = module(key)
    before, after = mod.analyze(bare), mod.analyze(rich)
    for old, new in zip(before.sub_scores, after.sub_scores):
        assert old.name == new.name
        if old == new:
            continue
        if (key, new.name) in FOLDS_INSIDERS:
            assert "insiders bought 4,000 and sold 1,500 shares" in new.details
            continue
        assert new.name in ("insiders", "news"), new
        assert (INSIDER_MARK if new.name == "insiders" else NEWS_MARK) in new.figures, new
        assert old.score is None and "not provided by offline" in old.details  # the bundled data has neither
        if new.name == "insiders":  # 4,000 bought, 1,500 sold: by shares 0.4545, by value 0.3725
            assert new.score == pytest.approx(2500 / 5500 if "shares" in new.details else 390 / 1050)
        else:  # 3 bullish, 1 bearish of 4 labelled: balance 0.5 (news_sentiment's prior of 2 shrinks it to 1/3)
            assert new.figures[NEWS_MARK] == pytest.approx(0.5)


def _scaled(value: Any, factor: float) -> Any:
    """A float times ``factor`` (a zero becomes factor / 40: 0.0125 or 0.05), tuples
    of floats element-wise; anything else (session counts, scenarios) as is."""
    if type(value) is float:
        return value * factor if value else factor / 40.0
    if isinstance(value, tuple) and value and all(type(v) is float for v in value):
        return tuple(_scaled(v, factor) for v in value)
    return value


def _scores(analysis: Analysis) -> list[tuple[str, float | None]]:
    return [(s.name, s.score) for s in analysis.sub_scores]


@pytest.mark.parametrize("key", KEYS)
def test_injected_thresholds_change_sub_scores(key: str, snapshots: tuple[Snapshot, Snapshot]) -> None:
    """Halving or doubling one threshold at a time: at least one changes a sub-score of the rich
    AAPL snapshot (many leave it where it was: a score saturated at -1 or +1, a vote unchanged)."""
    mod = module(key)
    rich = snapshots[1]
    default = _scores(mod.analyze(rich))
    assert _scores(mod.analyze(rich, thresholds=mod.THRESHOLDS)) == default
    movers = []
    for field in dataclasses.fields(mod.Thresholds):
        value = getattr(mod.THRESHOLDS, field.name)
        for factor in (0.5, 2.0):
            if _scaled(value, factor) == value:
                continue
            moved = dataclasses.replace(mod.THRESHOLDS, **{field.name: _scaled(value, factor)})
            if _scores(mod.analyze(rich, thresholds=moved)) != default:
                movers.append(field.name)
    assert movers, f"no threshold of {key} changes a sub-score"


@pytest.mark.parametrize("key", KEYS)
def test_injected_weights_weigh_the_named_sub_scores(key: str, snapshots: tuple[Snapshot, Snapshot]) -> None:
    mod = module(key)
    names = [f.name for f in dataclasses.fields(mod.Weights)]
    assert sorted(s.name for s in mod.analyze(snapshots[1]).sub_scores) == sorted(names)
    other = mod.Weights(**{name: 0.5 + i for i, name in enumerate(names)})
    for sub in mod.analyze(snapshots[1], weights=other).sub_scores:
        assert sub.weight == getattr(other, sub.name)


def test_injected_signal_thresholds_decide_the_call(snapshots: tuple[Snapshot, Snapshot]) -> None:
    """A threshold no score can reach makes every call neutral; at least a third of the
    committee calls the rich AAPL snapshot directionally with the defaults."""
    directional = 0
    for key in KEYS:
        mod = module(key)
        analysis = mod.analyze(snapshots[1])
        default = mod.derive_signal(analysis)
        assert default == mod.derive_signal(analysis, thresholds=mod.THRESHOLDS)
        blunt = dataclasses.replace(mod.THRESHOLDS, **NEUTRALISING.get(key, {"signal_threshold": 1.01}))
        assert mod.derive_signal(analysis, thresholds=blunt).signal == "neutral", key
        directional += default.signal != "neutral"
    assert directional >= len(KEYS) / 3
