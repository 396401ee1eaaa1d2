"""The Hedgeflow worker: a Prefect worker of type ``hedgeflow`` that runs each flow run inside its own process.

``hedgeflow worker`` starts it (``deployments/worker_cli.py``). It is a
``prefect.workers.base.BaseWorker``, so it takes runs from its work pool as
Prefect's process worker does: it asks the pool for scheduled runs and claims
each by proposing Pending to the server, which accepts one proposal per run;
any number of workers may share one pool and a run is executed by exactly one
of them. What differs is the execution: instead of a new interpreter per run
(Python, Prefect and the flow imported again, about 2 s), the run goes to a
thread of this long-lived process, where the flow is imported already
(``deployments/worker_runs.py``: Prefect's engine, a fresh event loop, an empty
context; a crash marks that run Crashed and the worker goes on).

It picks runs up at once: besides polling every ``PREFECT_WORKER_QUERY_SECONDS``
it subscribes to the server's ``prefect.flow-run.Scheduled`` events for its
pool and asks for work as soon as one arrives.

Cancellation: while runs are in flight the worker looks every ``CANCEL_POLL_S``
for those a user set to Cancelling (the UI's Cancel button). An async flow's
run (every Hedgeflow flow but the backtest) is marked Cancelled and has its
event-loop task cancelled (Prefect's engine reports that as Crashed, so the
worker marks it Cancelled again when the run ends: the UI may show Crashed for
a moment); task runs already in the flow's thread pool
finish their current call. A sync flow cannot be stopped once it runs (a thread
cannot be stopped from outside): it finishes, and the worker logs a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import anyio.abc
import anyio.to_thread
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventAnyResourceFilter, EventFilter, EventNameFilter
from prefect.exceptions import Abort, Pause
from prefect.states import Cancelled, Crashed
from prefect.workers.base import (
    BaseJobConfiguration,
    BaseVariables,
    BaseWorker,
    BaseWorkerResult,
)
from pydantic import BaseModel, Field

from deployments.worker_runs import (
    FlowCache,
    RefusedRun,
    RunHandle,
    check_deployment,
    execute_in_thread,
)

__all__ = ["POOL_NAME", "WORKER_TYPE", "HedgeflowVariables", "HedgeflowWorker", "HedgeflowWorkerResult"]

WORKER_TYPE = "hedgeflow"
POOL_NAME = "hedgeflow"
REPO_ROOT = Path(__file__).resolve().parents[1]
CANCEL_POLL_S = 2.0  # while runs are in flight: how often to look for the ones a user asked to cancel
STOP_WAIT_S = 10.0  # on shutdown, how long a cancelled run may take to end before it is marked Crashed


class HedgeflowVariables(BaseModel):
    """What a deployment may set for a run on this pool: no environment or command (one process runs them all)."""

    labels: dict[str, str] = Field(default_factory=dict, description="Labels the run carries.")


class HedgeflowWorkerResult(BaseWorkerResult):
    """Always status code 0: the run's own state (set by the engine, or Crashed by ``run``) says how it ended."""


class HedgeflowWorker(BaseWorker[BaseJobConfiguration, BaseVariables, HedgeflowWorkerResult]):
    type = WORKER_TYPE
    job_configuration = BaseJobConfiguration
    _description = (
        "Hedgeflow's own worker: runs each flow run in a thread of one long-lived process that keeps the flows "
        "imported (`hedgeflow worker`); no new interpreter per run."
    )
    _display_name = "Hedgeflow (in-process)"

    def __init__(self, work_pool_name: str = POOL_NAME, *, root: Path = REPO_ROOT, **kwargs: Any) -> None:
        super().__init__(work_pool_name, **kwargs)
        self.flows = FlowCache(root)
        self._running: dict[UUID, RunHandle] = {}
        self._woken = False

    @classmethod
    def get_default_base_job_template(cls) -> dict[str, Any]:
        """Only what a run in this process may set: ``HedgeflowVariables``."""
        variables = HedgeflowVariables.model_json_schema()
        variables.pop("title", None)
        return {"job_configuration": {key: f"{{{{ {key} }}}}" for key in HedgeflowVariables.model_fields},
                "variables": variables}

    def preload(self, entrypoints: list[str]) -> None:
        """Import these flows now, so the first run does not wait for them."""
        for entrypoint in entrypoints:
            self.flows.get(entrypoint)

    async def run(
        self,
        flow_run: FlowRun,
        configuration: BaseJobConfiguration,
        task_status: anyio.abc.TaskStatus[int] | None = None,
    ) -> HedgeflowWorkerResult:
        if flow_run.deployment_id is None:
            raise RefusedRun("the hedgeflow worker runs deployment runs only")
        deployment = await self.client.read_deployment(flow_run.deployment_id)
        flow = await anyio.to_thread.run_sync(self.flows.get, check_deployment(deployment, flow_run, self.flows.root))
        flow_run = await self.client.read_flow_run(flow_run.id)  # as claimed (Pending), as the engine's child reads it
        handle = self._running[flow_run.id] = RunHandle(flow_run.id, async_flow=flow.isasync)
        try:
            finished = execute_in_thread(flow, flow_run, handle)
            if task_status is not None:
                task_status.started(os.getpid())  # the run's infrastructure is this process
            try:
                _, escaped = await asyncio.wrap_future(finished)
            except BaseException:  # the worker is stopping: stop the run, and say so on it
                with anyio.CancelScope(shield=True):
                    handle.cancel()
                    with anyio.move_on_after(STOP_WAIT_S):
                        await asyncio.wrap_future(finished)
                    with contextlib.suppress(Exception):  # over the engine's own Crashed: say why
                        await self.client.set_flow_run_state(
                            flow_run.id,
                            Crashed(message="the hedgeflow worker running it stopped; trigger the run again"),
                            force=True,
                        )
                raise
        finally:
            self._running.pop(flow_run.id, None)
        if handle.cancel_requested and flow.isasync:
            await self._mark_cancelled(flow_run.id)  # again, should the engine's Crashed have landed first
        elif escaped is not None and not isinstance(escaped, (Abort, Pause)):
            message = f"the flow run ended with {type(escaped).__name__}: {escaped}"[:500]
            self.get_flow_run_logger(flow_run).error(message)
            await self._propose_crashed_state(flow_run, message)
        return HedgeflowWorkerResult(status_code=0, identifier=f"{os.getpid()}:{flow_run.id}")

    async def _cancel_run(self, flow_run_id: UUID) -> None:
        """A run in flight here: cancel it in place. Any other: Prefect's handling (runs not started yet)."""
        handle = self._running.get(flow_run_id)
        if handle is None:
            await super()._cancel_run(flow_run_id)
            return
        if handle.cancel_requested:  # asked already (the watch sees it Cancelling until it ends)
            return
        if not handle.async_flow:
            handle.cancel_requested = True
            self._logger.warning(
                "flow run %s is a sync flow already running: it cannot be interrupted and will finish", flow_run_id
            )
            return
        # Cancelled first: the engine's Crashed, proposed when its task is cancelled, cannot leave a final state.
        await self._mark_cancelled(flow_run_id)
        handle.cancel()

    async def _mark_cancelled(self, flow_run_id: UUID) -> None:
        current = await self.client.read_flow_run(flow_run_id)
        if current.state is None or not current.state.is_cancelled():
            await self.client.set_flow_run_state(
                flow_run_id, Cancelled(message="Cancelled by the hedgeflow worker."), force=True
            )

    async def _initialize_after_sync(self) -> None:
        await super()._initialize_after_sync()
        if not self._woken and self._work_pool is not None and self._runs_task_group is not None:
            self._woken = True
            self._runs_task_group.start_soon(self._wake_on_scheduled_runs, self._work_pool.id)
            self._runs_task_group.start_soon(self._watch_cancellations)

    async def _watch_cancellations(self) -> None:
        """Every ``CANCEL_POLL_S`` while runs are in flight here: cancel those now Cancelling (one API call)."""
        with anyio.CancelScope() as scope:
            self._scheduled_task_scopes.add(scope)
            while True:
                await anyio.sleep(CANCEL_POLL_S)
                if not self._running:
                    continue
                cancelling = FlowRunFilter(
                    id=FlowRunFilterId(any_=list(self._running)),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLING])),
                )
                try:
                    runs = await self.client.read_flow_runs(flow_run_filter=cancelling)
                except Exception as exc:  # noqa: BLE001 - the next look may succeed
                    self._logger.debug("could not look for cancelling runs: %s", exc)
                    continue
                for flow_run in runs:
                    await self._cancel_run(flow_run.id)
        self._scheduled_task_scopes.discard(scope)

    async def _wake_on_scheduled_runs(self, pool_id: UUID) -> None:
        """Ask for work as soon as the server says a run of this pool is Scheduled (polling still covers gaps)."""
        with anyio.CancelScope() as scope:
            self._scheduled_task_scopes.add(scope)  # cancelled by teardown with the base class's own scopes
            wanted = EventFilter(
                event=EventNameFilter(name=["prefect.flow-run.Scheduled"]),
                any_resource=EventAnyResourceFilter(id=[f"prefect.work-pool.{pool_id}"]),
            )
            try:
                async with get_events_subscriber(filter=wanted) as events:
                    async for _ in events:
                        try:
                            await self.get_and_submit_flow_runs()
                        except Exception as exc:  # noqa: BLE001 - one failed look must not end the subscription
                            self._logger.debug("looking for work on an event failed: %s", exc)
            except Exception as exc:  # noqa: BLE001 - without events the poll still finds every run
                self._logger.warning("no scheduled-run events (%s); polling only", exc)
        self._scheduled_task_scopes.discard(scope)
