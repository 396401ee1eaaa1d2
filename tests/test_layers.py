"""The house rule: the domain package never imports Prefect; arrows point down only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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
