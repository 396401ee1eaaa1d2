"""``make deploy``: the work pool, the block types, then the deployments declared in ``prefect.yaml``.

Works against whatever ``PREFECT_API_URL`` points at, and is safe to run again:

1. create the deployments' work pool when it is missing: ``hedgeflow`` (type
   ``hedgeflow``, for ``hedgeflow worker``, which runs each flow run inside its
   own long-lived process; ``deployments/worker.py``), or with ``--pool
   hedgeflow-process`` (or ``HEDGEFLOW_WORK_POOL=hedgeflow-process``) Prefect's
   ``process`` pool instead; an existing pool, maybe tuned in the UI, is left
   as it is;
2. register every block type under ``blocks/`` and save the default documents
   (``deployments.register``);
3. run ``prefect --no-prompt deploy`` from the repository root for every
   declaration in ``prefect.yaml`` whose flow file exists. A declaration whose
   file is missing is reported and skipped, so one flow still being written
   does not block the others.

On a ``process`` pool each deployment gets the job variable ``command``: this
interpreter running ``-m prefect.engine``. Without it a Prefect 3.8 process
worker starts every run through its workspace supervisor, a Python process
that imports Prefect, runs the pull steps and then execs a second interpreter
for the engine; with it the worker starts the engine directly, one interpreter
start-up less per run (about 1 s; docs/deployment.md). The worker must
therefore have this interpreter at the same path. Set
``HEDGEFLOW_WORKER_PYTHON`` to another interpreter path, or to an empty string
to keep Prefect's default launcher. The ``hedgeflow`` pool needs none of this:
its worker starts no process.

This runs the Prefect CLI as a child process; it is a deploy step, never part
of a flow run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.settings import PREFECT_API_URL
from prefect.workers.process import ProcessWorker

from deployments import register
from deployments.worker import HedgeflowWorker

__all__ = [
    "POOL_NAME",
    "POOL_TYPES",
    "PREFECT_FILE",
    "PROCESS_POOL_NAME",
    "REPO_ROOT",
    "WORKER_PYTHON_ENV",
    "WORK_POOL_ENV",
    "Declaration",
    "declarations",
    "deploy",
    "engine_command",
    "ensure_work_pool",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
PREFECT_FILE = REPO_ROOT / "prefect.yaml"
POOL_NAME = "hedgeflow"  # prefect.yaml's pool: `hedgeflow worker` runs its flow runs in-process
PROCESS_POOL_NAME = "hedgeflow-process"  # the alternative: Prefect's process worker, a new process per run
POOL_TYPES = {POOL_NAME: HedgeflowWorker.type, PROCESS_POOL_NAME: ProcessWorker.type}
WORK_POOL_ENV = "HEDGEFLOW_WORK_POOL"
WORKER_PYTHON_ENV = "HEDGEFLOW_WORKER_PYTHON"


@dataclass(frozen=True)
class Declaration:
    """One entry of ``prefect.yaml``'s ``deployments`` list."""

    name: str
    entrypoint: str
    pool: str

    @property
    def flow_file(self) -> Path:
        return REPO_ROOT / self.entrypoint.rsplit(":", 1)[0]


def declarations(prefect_file: Path = PREFECT_FILE) -> list[Declaration]:
    """The deployments ``prefect.yaml`` declares, in file order."""
    config = yaml.safe_load(prefect_file.read_text()) or {}
    return [
        Declaration(name=d["name"], entrypoint=d["entrypoint"], pool=(d.get("work_pool") or {}).get("name", ""))
        for d in config.get("deployments") or []
    ]


def ensure_work_pool(name: str = POOL_NAME) -> bool:
    """Create the work pool when it is missing (its type from ``POOL_TYPES``); True when this call created it."""
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            pass
        try:
            in_process = POOL_TYPES.get(name) == HedgeflowWorker.type
            worker = HedgeflowWorker if in_process else ProcessWorker
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type=worker.type,
                    base_job_template=worker.get_default_base_job_template(),
                    description="Hedgeflow flow runs in threads of `hedgeflow worker`, a process that keeps the flows "
                    "imported." if in_process else
                    "Hedgeflow flow runs as subprocesses of a process worker in the Hedgeflow checkout or image.",
                )
            )
        except ObjectAlreadyExists:  # another deploy won the race
            return False
    return True


def engine_command() -> str | None:
    """The command a worker runs for each flow run: the engine, started directly; None for Prefect's default."""
    python = os.environ.get(WORKER_PYTHON_ENV, sys.executable)
    return shlex.join([python, "-m", "prefect.engine"]) if python.strip() else None


def deploy(prefect_file: Path = PREFECT_FILE, pool: str | None = None) -> list[str]:
    """Deploy every declaration whose flow file exists (to ``pool`` when given); returns the names deployed."""
    ready = [d for d in declarations(prefect_file) if d.flow_file.is_file()]
    for missing in (d for d in declarations(prefect_file) if not d.flow_file.is_file()):
        print(f"skipped deployment {missing.name!r}: {missing.flow_file.relative_to(REPO_ROOT)} does not exist yet")
    if not ready:
        return []
    # One CLI call per deployment: `prefect deploy` ignores --job-variable when it deploys several at once.
    for declaration in ready:
        command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--prefect-file", str(prefect_file)]
        command += ["--name", declaration.name]
        if pool:
            command += ["--pool", pool]
        if POOL_TYPES.get(pool or declaration.pool) == ProcessWorker.type and (engine := engine_command()) is not None:
            command += ["--job-variable", json.dumps({"command": engine})]
        # From the repository root: the recorded pull step is `set_working_directory` to this checkout.
        subprocess.run(command, cwd=REPO_ROOT, check=True)
    return [d.name for d in ready]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployments.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--prefect-file", type=Path, default=PREFECT_FILE, help="the deployment declarations")
    parser.add_argument("--pool", metavar="|".join(POOL_TYPES), default=os.environ.get(WORK_POOL_ENV) or None,
                        help=f"deploy every flow to this pool instead of prefect.yaml's (default: ${WORK_POOL_ENV})")
    args = parser.parse_args(argv)
    if not PREFECT_API_URL.value():
        print(
            "error: PREFECT_API_URL is not set, so the deployments would go to a throwaway server; start one "
            "(prefect server start) and run: prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api",
            file=sys.stderr,
        )
        return 2
    if args.pool not in (None, *POOL_TYPES):
        parser.error(f"unknown work pool {args.pool!r}; use {' or '.join(POOL_TYPES)}")
    pools = [args.pool] if args.pool else sorted({d.pool for d in declarations(args.prefect_file) if d.pool} or {POOL_NAME})
    for pool in pools:
        created = ensure_work_pool(pool)
        print(f"work pool {pool!r}: {'created' if created else 'exists'}")
    register.main()
    deployed = deploy(args.prefect_file, args.pool)
    print(f"deployed: {', '.join(deployed) or 'nothing'}")
    from deployments import automations, limits

    automations.main()  # the alerts (idempotent)
    limits.main()  # the per-provider global concurrency limits (idempotent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
