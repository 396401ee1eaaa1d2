"""The house rule: the domain package never imports Prefect; arrows point down only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["hedgeflow", "blocks", "tasks", "flows", "deployments"]  # each may import only those before it


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_never_imports_prefect() -> None:
    for path in (ROOT / "hedgeflow").rglob("*.py"):
        found = _imports(path, top_level_only=False)
        assert not {n for n in found if n.startswith("prefect")}, f"{path} imports prefect"


def test_arrows_point_down_only() -> None:
    for index, layer in enumerate(LAYERS):
        above = set(LAYERS[index + 1 :])
        for path in (ROOT / layer).rglob("*.py"):
            upward = _imports(path, top_level_only=False) & above
            assert not upward, f"{path.relative_to(ROOT)} imports {upward} from a layer above it"


def test_fast_commands_import_no_heavy_library() -> None:
    code = (
        "import sys; from deployments.cli import main; main(['analysts']); main(['tickers']);"
        "heavy = [m for m in ('prefect', 'pandas', 'anthropic', 'openai', 'numpy') if m in sys.modules];"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "HEAVY []" in out.stdout


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _edges(path: Path, modules: set[str]) -> set[str]:
    """Modules of ``modules`` that ``path`` imports, lazily or not.

    ``from pkg import x`` runs ``pkg/__init__`` first, so it depends on the
    package as well as on ``pkg.x`` when that is a module; so does importing
    ``pkg.x`` from outside ``pkg``.
    """
    importer = _module_name(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    for name in list(found):  # importing pkg.mod from outside pkg runs pkg/__init__ first
        parts = name.split(".")
        found.update(
            parent for parent in (".".join(parts[:i]) for i in range(1, len(parts)))
            if importer != parent and not importer.startswith(parent + ".")
        )
    return {name for name in found if name in modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_no_import_cycle_inside_a_package(layer: str) -> None:
    paths = {_module_name(p): p for p in (ROOT / layer).rglob("*.py")}
    graph = {name: _edges(path, set(paths)) - {name} for name, path in paths.items()}
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
