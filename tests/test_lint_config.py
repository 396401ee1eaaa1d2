"""`make test` type-checks and lints first: the configuration must keep checking what it claims to.

Each check runs the real tool with the project's pyproject.toml on tiny files written here, one with
deliberate errors and one clean, so a config that stopped checking (or stopped passing clean code)
fails a test instead of passing silently.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"

CLEAN = '''def double(x: int) -> int:
    return 2 * x
'''


def _config() -> dict[str, Any]:
    with PYPROJECT.open("rb") as handle:
        return tomllib.load(handle)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=240)


def test_mypy_is_strict_over_every_package() -> None:
    config = _config()
    mypy = config["tool"]["mypy"]
    assert mypy["strict"] is True
    packages = {pattern.rstrip("*") for pattern in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert set(mypy["files"]) == packages  # every installed package is checked, and nothing else is claimed
    for override in mypy.get("overrides", []):  # only third-party packages without types, only made readable
        assert set(override) <= {"module", "ignore_missing_imports", "follow_untyped_imports"}, override
        modules = [override["module"]] if isinstance(override["module"], str) else override["module"]
        assert not any(m.split(".")[0] in packages for m in modules), modules


def test_mypy_reports_a_deliberate_type_error(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text('def untyped(x):\n    return x\n\n\ncount: int = "three"\n')
    (tmp_path / "good.py").write_text(CLEAN)
    done = _run("mypy", "--config-file", str(PYPROJECT), "--cache-dir", str(tmp_path / "cache"), "bad.py", "good.py",
                cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert all(line.startswith("bad.py:") for line in errors), errors  # the clean file passes
    assert any(line.startswith("bad.py:1:") and "[no-untyped-def]" in line for line in errors), errors  # strict only
    assert any(line.startswith("bad.py:5:") and "[assignment]" in line for line in errors), errors


def test_ruff_reports_deliberate_errors(tmp_path: Path) -> None:
    bad = (
        "import sys\n"
        "import os\n"  # unsorted (I001), both unused (F401)
        "\n\n"
        "def append(item: int, items: list[int] = []) -> list[int]:\n"  # a shared mutable default (B006)
        "    items.append(item)\n"
        f"    return items  # {' '.join(['word'] * 26)}\n"  # 149 characters: past the 140 ceiling (E501)
    )
    (tmp_path / "bad.py").write_text(bad)
    (tmp_path / "good.py").write_text(CLEAN + f"\n\n# {' '.join(['word'] * 25)}\n")  # 126 characters: under it
    done = _run("ruff", "check", "--no-cache", "--config", str(PYPROJECT), "--output-format", "concise",
                "bad.py", "good.py", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    found = {(line.split(":")[0], line.split(":")[1], line.split()[1]) for line in done.stdout.splitlines()
             if line.startswith(("bad.py:", "good.py:"))}
    assert {("bad.py", "1", "I001"), ("bad.py", "1", "F401"), ("bad.py", "2", "F401"), ("bad.py", "5", "B006"),
            ("bad.py", "7", "E501")} <= found
    assert not {f for f in found if f[0] == "good.py"}, found


def test_make_test_runs_the_type_check_and_lint_before_the_tests() -> None:
    done = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    order = [next(i for i, line in enumerate(lines) if tool in line) for tool in ("ruff check", "mypy", "pytest")]
    assert order == sorted(order), done.stdout
