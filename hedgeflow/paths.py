"""Where Hedgeflow keeps its files: HEDGEFLOW_HOME, else the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["home"]


def home() -> Path:
    """The data directory (created on first use): SQLite database, results, server pid file."""
    configured = os.environ.get("HEDGEFLOW_HOME")
    if configured:
        path = Path(configured).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("hedgeflow", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
