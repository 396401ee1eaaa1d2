"""What `hedgeflow worker` refuses before a run starts, and the pool it asks `make deploy` to create (no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.responses import DeploymentResponse

from deployments.deploy import PROCESS_POOL_NAME, REPO_ROOT
from deployments.worker import HedgeflowWorker
from deployments.worker_runs import FlowCache, RefusedRun, check_deployment

SET_DIRECTORY = "prefect.deployments.steps.set_working_directory"


def deployment(directory: Path = REPO_ROOT, entrypoint: str = "flows/hedge_fund.py:hedge_fund",
               **job_variables: Any) -> DeploymentResponse:
    return DeploymentResponse(id=uuid4(), name="analyze", flow_id=uuid4(), entrypoint=entrypoint, labels={},
                              job_variables=job_variables,
                              pull_steps=[{SET_DIRECTORY: {"directory": str(directory)}}])


def run(**job_variables: Any) -> FlowRun:
    return FlowRun(flow_id=uuid4(), job_variables=job_variables)


def test_a_deployment_of_this_checkout_is_accepted() -> None:
    assert check_deployment(deployment(), run(), REPO_ROOT) == "flows/hedge_fund.py:hedge_fund"
    assert check_deployment(deployment(labels={"team": "a"}), run(), REPO_ROOT)  # labels are the pool's one variable


@pytest.mark.parametrize(("on_deployment", "on_run", "named"), [
    ({"env": {"OPENAI_API_KEY": "x"}}, {}, "env"),
    ({}, {"command": "python -m prefect.engine"}, "command"),
    ({"env": {"A": "1"}}, {"command": "sh"}, "env or command"),
])
def test_what_only_a_process_of_its_own_could_give_a_run_is_refused_naming_the_process_pool(
    on_deployment: dict[str, Any], on_run: dict[str, Any], named: str
) -> None:
    with pytest.raises(RefusedRun) as refused:
        check_deployment(deployment(**on_deployment), run(**on_run), REPO_ROOT)
    assert f"its own {named} (job variables)" in str(refused.value)
    assert PROCESS_POOL_NAME in str(refused.value)


def test_a_deployment_made_from_another_checkout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RefusedRun, match="was deployed from .* but this worker runs the code in"):
        check_deployment(deployment(directory=tmp_path), run(), REPO_ROOT)


@pytest.mark.parametrize("entrypoint", ["../outside.py:flow", "flows/no_such_file.py:flow", "README.md:flow"])
def test_an_entrypoint_outside_the_checkout_or_not_python_is_refused(entrypoint: str) -> None:
    with pytest.raises(RefusedRun, match="is not a Python file in the worker's checkout"):
        FlowCache(REPO_ROOT).get(entrypoint)


def test_an_entrypoint_that_is_not_a_flow_is_refused() -> None:
    with pytest.raises(RefusedRun, match="does not name a Prefect flow"):
        FlowCache(REPO_ROOT).get("tests/test_worker_flows.py:_append")


def test_a_flow_is_imported_once_and_is_the_module_s_own_object() -> None:
    import tests.test_worker_flows as module

    flows = FlowCache(REPO_ROOT)
    first = flows.get("tests/test_worker_flows.py:record")
    assert first is flows.get("tests/test_worker_flows.py:record") is module.record


def test_the_pool_offers_only_what_a_run_in_a_shared_process_may_set() -> None:
    template = HedgeflowWorker.get_default_base_job_template()
    assert set(template["variables"]["properties"]) == {"labels"}
    assert template["job_configuration"] == {"labels": "{{ labels }}"}  # the server refuses undeclared variables
    assert HedgeflowWorker.type == "hedgeflow"
