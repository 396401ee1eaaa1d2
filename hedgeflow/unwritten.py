"""Runs the database did not take, kept as readable JSON under the data directory until it is back.

``keep(result)`` writes ``<home>/unwritten/<run_id>.json`` (the RunResult as
JSON, what ``--json`` prints); ``replay(engine)`` writes every kept run to the
database and removes its file, as ``hedgeflow history --replay`` and the next
run's persist do.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from hedgeflow.paths import home
from hedgeflow.schemas import RunResult
from hedgeflow.store import persist_run

__all__ = ["keep", "kept", "replay", "unwritten_dir"]


def unwritten_dir() -> Path:
    return home() / "unwritten"


def keep(result: RunResult) -> Path:
    """Write ``result`` (without its persist error) as JSON; the file's path."""
    folder = unwritten_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.run_id}.json"
    clean = result.model_copy(update={"persist_error": None, "saved_to": None})
    partial = path.with_suffix(".json.tmp")
    partial.write_text(clean.model_dump_json(indent=2), encoding="utf-8")
    partial.replace(path)  # a reader never sees half a file
    return path


def kept() -> list[Path]:
    """The kept runs' files, oldest first."""
    folder = unwritten_dir()
    return sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []


def replay(engine: Engine) -> list[str]:
    """Write every kept run to ``engine``'s database, removing each file once written; the run ids.

    A database error propagates after the runs written so far are removed; the rest stay kept.
    """
    written: list[str] = []
    for path in kept():
        result = RunResult.model_validate_json(path.read_text(encoding="utf-8"))
        persist_run(engine, result)
        path.unlink(missing_ok=True)
        written.append(result.run_id)
    return written
