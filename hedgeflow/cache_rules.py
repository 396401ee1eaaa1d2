"""What makes a cached result still good: expiry by dataset and a fingerprint of the inputs.

Pure rules, no Prefect: the task layer turns them into cache policies.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel

__all__ = [
    "DATA_MODULES",
    "FUNDAMENTAL_DATASETS",
    "code_version",
    "data_version",
    "dataset_expiry",
    "fingerprint",
    "module_closure",
]

PACKAGE_ROOT = Path(__file__).resolve().parent  # the hedgeflow package directory
# The modules that turn provider answers into the figures analysts read.
DATA_MODULES = (
    "hedgeflow.data.concepts",
    "hedgeflow.data.financialdatasets",
    "hedgeflow.data.metrics",
    "hedgeflow.data.offline",
    "hedgeflow.data.snapshot",
    "hedgeflow.data.xbrl",
)

FUNDAMENTAL_DATASETS = frozenset({"metrics", "line_items", "quarterly_line_items"})
LIVE_EXPIRY = dt.timedelta(minutes=5)  # a window that includes today: prices move
FUNDAMENTAL_EXPIRY = dt.timedelta(days=1)  # filings arrive at most daily


def dataset_expiry(dataset: str, end: dt.date, today: dt.date | None = None) -> dt.timedelta | None:
    """How long a fetched dataset stays good; ``None`` means forever.

    A window wholly in the past never changes. A window that includes today
    expires within minutes, fundamentals within a day.
    """
    today = today or dt.date.today()
    if end < today:
        return None
    return FUNDAMENTAL_EXPIRY if dataset in FUNDAMENTAL_DATASETS else LIVE_EXPIRY


def fingerprint(model: BaseModel) -> str:
    """A short, stable digest of a model's JSON: equal data gives an equal fingerprint."""
    return hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:16]


def _source_file(name: str) -> Path | None:
    """The .py file of hedgeflow module ``name``, found on disk without importing it; packages'
    ``__init__`` re-exports and names that are not modules (functions) give ``None``."""
    parts = name.split(".")
    if parts[0] != "hedgeflow" or len(parts) < 2:
        return None
    path = PACKAGE_ROOT.joinpath(*parts[1:]).with_suffix(".py")
    return path if path.is_file() else None


_PARSE_LOCK = threading.Lock()


def _imports(name: str) -> set[str]:
    """The hedgeflow modules ``name`` imports at module level (``from hedgeflow import finmath`` too)."""
    path = _source_file(name)
    found: set[str] = set()
    with _PARSE_LOCK:  # CPython 3.11's parser is not thread-safe: "AST constructor recursion depth mismatch"
        tree = ast.parse(path.read_text(encoding="utf-8")) if path else None
    for node in tree.body if tree is not None else ():
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            candidates = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(c for c in candidates if _source_file(c) is not None)
    return found


def module_closure(roots: Iterable[str]) -> tuple[str, ...]:
    """``roots`` and every hedgeflow module they import at module level, transitively; sorted."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_imports(name) - seen)
    return tuple(sorted(seen))


def _read(name: str) -> str:
    path = _source_file(name)
    return path.read_text(encoding="utf-8") if path else ""


def code_version(modules: Iterable[str], read: Callable[[str], str] = _read) -> str:
    """sha256 (12 hex digits) of the modules' names and sources: a change in any of them changes it."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(name.encode() + b"\0" + read(name).encode() + b"\0")
    return digest.hexdigest()[:12]


def data_version() -> str:
    """The code version of the data layer: a fetch cache key that includes it refreshes
    snapshots when the way figures are derived changes."""
    return code_version(module_closure(DATA_MODULES))
