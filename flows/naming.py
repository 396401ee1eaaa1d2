"""Flow-run names: a name a person typed is kept; a generated one is replaced by what the run does.

Prefect names a run before its body starts, from the flow's ``flow_run_name``
function, and would replace any name the run was created with. The names
Prefect generates itself (two coolname words, e.g. ``adorable-moose``: the API,
the CLI, the scheduler) and the ones the UI's run form fills in (a Greek letter,
a constellation, maybe a suffix, e.g. ``gamma3-centauri-nebula``) are recognised
and replaced; anything else is the user's choice.
"""

from __future__ import annotations

import re
from functools import cache

from prefect.runtime import flow_run

__all__ = ["is_generated", "typed_name"]

_GREEK = ("alpha|beta|gamma|delta|epsilon|zeta|eta|theta|iota|kappa|lambda|mu|nu|xi|omicron|pi|rho|sigma|tau"
          "|upsilon|phi|chi|psi|omega")
_UI_NAME = re.compile(rf"^({_GREEK})\d*-[a-z]+(-[a-z]+)*$")


@cache
def _coolname_words() -> frozenset[str]:
    """Every word of coolname's lists, the generator behind Prefect's ``generate_slug``."""
    from importlib.resources import files

    words: set[str] = set()
    for entry in files("coolname").joinpath("data").iterdir():
        if entry.name.endswith(".txt"):
            for line in entry.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.lstrip().startswith("#") and "=" not in line:
                    words.update(w for w in re.split(r"[\s-]+", line.strip().lower()) if w.isalpha())
    return frozenset(words)


def is_generated(name: str) -> bool:
    """True for a name Prefect, its CLI, its scheduler or its UI made up; False for a name a person typed."""
    if _UI_NAME.match(name):
        return True
    parts = name.split("-")
    return len(parts) == 2 and all(p.isalpha() and p in _coolname_words() for p in parts)


def typed_name() -> str | None:
    """The current flow run's name when a person chose it, else None."""
    name = flow_run.name
    return name if name and not is_generated(name) else None
