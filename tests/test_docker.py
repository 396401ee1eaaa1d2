"""The docker stack without a Docker engine: the compose file's shape, and an image installed as the README says.

``docker compose config`` validates the file when the compose plugin exists;
the structural checks below run everywhere.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
ONE_SHOT = {"deploy"}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # safe_load resolves the `<<:` merge keys
    return loaded


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(l for l in path.read_text().splitlines() if not l.lstrip().startswith("#")))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), " ".join(rest.split())))
    return pairs


def _make_recipe(target: str) -> list[str]:
    """The recipe lines of ``target`` and of the file target it depends on, as the Makefile writes them."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    recipes: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("\t") and current is not None:
            current.append(line.strip())
        elif re.match(r"^[^\s#:=][^:=]*:(?!=)", line):
            name, _, prerequisites = line.partition(":")
            current = recipes.setdefault(name.strip(), [])
            current.append(f"# deps: {prerequisites.split('##')[0].strip()}")
        else:
            current = None
    found = recipes.get(target, [])
    for dependency in (found[0].removeprefix("# deps: ").split() if found else []):
        found = found + recipes.get(dependency, [])
    return found


def test_compose_config_validates() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker command on this machine")
    probe = subprocess.run(["docker", "compose", "version"], check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        why = (probe.stderr or probe.stdout).strip().splitlines()
        pytest.skip(f"`docker compose` is unavailable here ({why[0] if why else probe.returncode})")
    out = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"], check=False, capture_output=True, text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr


def test_compose_has_every_service_with_healthchecks_and_ordered_start() -> None:
    services = _compose()["services"]
    assert {"prefect-db", "prefect-server", "app-db", "redis", "deploy", "worker"} <= set(services)
    for name, service in services.items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition == {"condition": expected}, f"{name} -> {dependency}: {condition}"
    assert set(services["worker"]["depends_on"]) == {"prefect-server", "app-db", "redis", "deploy"}
    assert set(services["deploy"]["depends_on"]) == {"prefect-server"}
    assert services["deploy"]["restart"] == "no"


def test_compose_wires_the_databases_redis_and_the_api() -> None:
    services = _compose()["services"]
    server_env = services["prefect-server"]["environment"]
    assert server_env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
    assert "@prefect-db:5432/" in server_env["PREFECT_API_DATABASE_CONNECTION_URL"]
    for name in ("deploy", "worker"):
        env = services[name]["environment"]
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert env["HEDGEFLOW_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@app-db:5432/" in env["HEDGEFLOW_DATABASE_URL"]
        assert env["HEDGEFLOW_REDIS_URL"].startswith("redis://redis:6379")
    assert services["deploy"]["command"] == ["make", "deploy"]
    worker = services["worker"]
    assert worker["command"][:4] == ["hedgeflow", "worker", "--pool", "hedgeflow"]
    command = worker["command"]
    assert float(command[command.index("--poll-seconds") + 1]) <= 1 and "--with-healthcheck" in command
    # `docker compose up --scale worker=N`: nothing that only one container can have
    assert "container_name" not in worker and "ports" not in worker
    for name in ("prefect-server", "deploy", "worker"):
        assert services[name]["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}


def test_dockerfile_installs_the_way_the_readme_does() -> None:
    instructions = _instructions(DOCKERFILE)
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " && ".join(args for word, args in instructions if word == "RUN")
    steps = [shlex.split(step) for step in runs.split("&&")]
    # The README's set-up is the Makefile's `install` target; the image runs that very target.
    assert ["make", "install"] in steps
    recipe = " ".join(_make_recipe("install"))
    assert "pip install" in recipe and "-e '.[test]'" in recipe, recipe
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "run: install" in (ROOT / "Makefile").read_text()
    # The whole repository is copied before installing, and a host virtualenv never replaces the image's.
    copy = next(args for word, args in instructions if word == "COPY")
    assert copy.split()[-2:] == [".", "/app"]
    assert any(step[:3] == ["rm", "-rf", ".venv"] for step in steps)
    assert ".venv" in (ROOT / "docker" / "Dockerfile.dockerignore").read_text().split()


def test_dockerfile_runs_the_worker_on_the_deployments_pool() -> None:
    instructions = _instructions(DOCKERFILE)
    command = next(args for word, args in reversed(instructions) if word == "CMD")
    argv = yaml.safe_load(command)  # the exec form is a JSON array
    assert argv[:4] == ["hedgeflow", "worker", "--pool", "hedgeflow"]
    pools = {d["work_pool"]["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    assert pools == {"hedgeflow"}
