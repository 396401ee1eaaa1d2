"""One flow run executed inside the Hedgeflow worker's process, through Prefect's own engine.

The worker keeps every flow it has run imported (``FlowCache``), so a run
starts without a new interpreter, a Prefect import or a flow import. Each run
gets its own thread, its own event loop and an empty ``contextvars`` context
(so no Prefect settings, flow-run context or tags of another run or of the
worker leak into it), and is driven by ``prefect.flow_engine.run_flow``, the
function ``python -m prefect.engine`` calls in a process worker's child: the
engine proposes Running, runs the tasks, sends logs and artifacts, and sets
the final state (Failed for an exception, Crashed for a base exception).

What the process cannot give one run alone is refused with one line: its own
environment variables or command (job variables ``env`` / ``command``), an
entrypoint outside the worker's checkout, and a deployment made from another
directory than the one the worker runs (its code would not be this code).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import importlib
import inspect
import logging
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect.client.schemas.objects import FlowRun, State
from prefect.client.schemas.responses import DeploymentResponse
from prefect.flow_engine import run_flow
from prefect.flows import Flow
from prefect.logging.loggers import flow_run_logger

__all__ = ["FlowCache", "Outcome", "RefusedRun", "RunHandle", "check_deployment", "execute_in_thread"]

# Job variables that would have to change the process itself; a process worker's job, not ours.
PROCESS_ONLY_VARIABLES = ("env", "command")
_WORKING_DIRECTORY_STEP = "prefect.deployments.steps.set_working_directory"


class RefusedRun(ValueError):
    """A flow run this worker cannot execute in its own process; the message names the fix."""


def check_deployment(deployment: DeploymentResponse, flow_run: FlowRun, root: Path) -> str:
    """The deployment's entrypoint, once it is one this worker can run in-process; else RefusedRun."""
    variables = {**(deployment.job_variables or {}), **(flow_run.job_variables or {})}
    own = [key for key in PROCESS_ONLY_VARIABLES if variables.get(key)]
    if own:
        raise RefusedRun(
            f"the hedgeflow worker runs flows inside its own process, so a run cannot have its own "
            f"{' or '.join(own)} (job variables); deploy {deployment.name!r} to the hedgeflow-process pool "
            "(Prefect's process worker) instead"
        )
    for step in deployment.pull_steps or []:
        directory = (step.get(_WORKING_DIRECTORY_STEP) or {}).get("directory")
        if directory and Path(directory).resolve() != root:
            raise RefusedRun(
                f"deployment {deployment.name!r} was deployed from {directory}, but this worker runs the code in "
                f"{root}; start the worker there, or run `make deploy` again from {root}"
            )
    if not deployment.entrypoint or ":" not in deployment.entrypoint:
        raise RefusedRun(f"deployment {deployment.name!r} has no path:function entrypoint; deploy it with prefect.yaml")
    return deployment.entrypoint


class FlowCache:
    """Flows imported once from the worker's checkout, by entrypoint (``flows/hedge_fund.py:hedge_fund``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._flows: dict[str, Flow[..., Any]] = {}
        self._lock = threading.Lock()
        if str(self.root) not in sys.path:  # the checkout's own modules (tests/ too), imported by name
            sys.path.append(str(self.root))

    def get(self, entrypoint: str) -> Flow[..., Any]:
        with self._lock:  # two first runs of one flow import it once
            if entrypoint not in self._flows:
                self._flows[entrypoint] = self._import(entrypoint)
            return self._flows[entrypoint]

    def _import(self, entrypoint: str) -> Flow[..., Any]:
        path_text, name = entrypoint.rsplit(":", 1)
        path = (self.root / path_text).resolve()
        if path.suffix != ".py" or not path.is_file() or not path.is_relative_to(self.root):
            raise RefusedRun(f"entrypoint {entrypoint!r} is not a Python file in the worker's checkout {self.root}")
        module = importlib.import_module(".".join(path.relative_to(self.root).with_suffix("").parts))
        flow = getattr(module, name, None)
        if not isinstance(flow, Flow):
            raise RefusedRun(f"entrypoint {entrypoint!r} does not name a Prefect flow")
        if flow.isgenerator:
            raise RefusedRun(f"entrypoint {entrypoint!r} is a generator flow; the hedgeflow worker does not run those")
        return flow


@dataclass
class RunHandle:
    """A run in flight: where to deliver a cancellation (async flows only)."""

    flow_run_id: UUID
    async_flow: bool = True  # only an async flow's run can be cancelled once it runs
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[Any] | None = None
    cancel_requested: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        with self._lock:
            self.loop, self.task = loop, task
            if self.cancel_requested:
                loop.call_soon_threadsafe(task.cancel)

    def cancel(self) -> bool:
        """Cancel the run's event-loop task; False when it cannot be interrupted (a sync flow)."""
        with self._lock:
            self.cancel_requested = True
            if self.loop is None or self.task is None:
                return False
            self.loop.call_soon_threadsafe(self.task.cancel)
            return True


def _drive(flow: Flow[..., Any], flow_run: FlowRun, handle: RunHandle) -> State[Any] | None:
    """Prefect's engine on this thread: a sync flow directly, an async one on a new event loop."""
    logger = cast(logging.Logger, flow_run_logger(flow_run))  # an adapter, as python -m prefect.engine passes it
    outcome = run_flow(flow, flow_run=flow_run, return_type="state", error_logger=logger)
    if inspect.iscoroutine(outcome):
        coroutine = outcome

        async def main() -> Any:
            task = asyncio.current_task()
            assert task is not None
            handle.attach(asyncio.get_running_loop(), task)
            return await coroutine

        outcome = asyncio.run(main())
    return outcome if isinstance(outcome, State) else None


Outcome = tuple[State[Any] | None, BaseException | None]


def execute_in_thread(flow: Flow[..., Any], flow_run: FlowRun, handle: RunHandle) -> concurrent.futures.Future[Outcome]:
    """Start the run on a new thread in an empty context; the future holds its final state, or what escaped.

    What escaped is returned, never raised: a SystemExit in one run must not stop the worker's event loop.
    """
    done: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
    done.set_running_or_notify_cancel()  # a waiter being cancelled must not cancel the outcome it waits for

    def body() -> None:
        def call() -> State[Any] | None:
            return _drive(flow, flow_run, handle)

        try:
            done.set_result((contextvars.Context().run(call), None))
        except BaseException as exc:  # noqa: BLE001 - a run's crash ends its thread, never the worker
            done.set_result((None, exc))

    threading.Thread(target=body, name=f"hedgeflow-run-{flow_run.id}", daemon=True).start()
    return done
