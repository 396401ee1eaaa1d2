"""In a real browser: the analyze deployment's custom-run form, its run and artifacts, and a scheduled precompute run.

Headless Chromium (Debian's ``chromium`` package; ``python -m tests.services``
installs it) driven by Playwright for Python, against ``prefect server start``
with the scheduler loop shortened, ``make deploy``'s steps and ``hedgeflow worker``.
Screenshots land in the test's temporary directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import services
from tests.e2e import Stack, api, prefect_stack, throwaway_postgres, wait_for
from tests.test_schedule_e2e import SCHEDULER, fast_schedule_file

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(420)]

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
RUN_NAME = "UI check AAPL NVDA"  # typed in the form: the run must keep it


@pytest.fixture(scope="module")
def chromium() -> str:
    problem = services.ensure_chromium()
    if problem:
        pytest.fail(problem)
    return services.CHROMIUM


def both_deployments(tmp_path: Path) -> Path:
    """prefect.yaml's analyze deployment, plus precompute with a schedule firing every few seconds."""
    from deployments.deploy import PREFECT_FILE

    fast = yaml.safe_load(fast_schedule_file(tmp_path, ["AAPL"]).read_text())
    config = yaml.safe_load(PREFECT_FILE.read_text())
    config["deployments"] = [d for d in config["deployments"] if d["name"] == "analyze"] + fast["deployments"]
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def final_run(stack: Stack, deployment: str, pick: Any, timeout_s: float) -> Any:
    """The first run of ``deployment`` that ``pick`` accepts, once it is in a final state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with api(stack.api_url), get_client(sync_client=True) as client:
        found = client.read_deployment_by_name(deployment)
        by_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[found.id]))

        def done() -> list[Any]:
            runs = client.read_flow_runs(deployment_filter=by_deployment)
            return [r for r in runs if pick(r) and r.state is not None and r.state.is_final()]

        def explain() -> str:
            runs = client.read_flow_runs(deployment_filter=by_deployment)
            return f"{[(r.name, r.state_name) for r in runs]}\n{stack.children.tail('worker')}"

        return wait_for(f"a finished run of {deployment}", done, timeout_s, explain=explain)[0]


def test_custom_run_from_the_form_and_the_scheduled_warm_up(
    chromium: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with throwaway_postgres() as database, prefect_stack(
        tmp_path, monkeypatch, PREFECT_SERVER_DATABASE_CONNECTION_URL=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
        **SCHEDULER,
    ) as stack:
        stack.deploy(both_deployments(tmp_path))
        stack.start_worker()
        from prefect.client.orchestration import get_client

        with api(stack.api_url), get_client(sync_client=True) as client:
            analyze = client.read_deployment_by_name("hedge-fund/analyze")

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)  # the UI refreshes its run list on a timer: 5 s missed a new run once
            failed: list[str] = []  # API answers >= 400, shown when the test fails
            page.on("response", lambda r: failed.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None)
            page.on("pageerror", lambda e: failed.append(f"page error: {e}"))
            try:
                # The deployment, its Run menu, the custom-run form.
                page.goto(f"{stack.ui_url}/deployments/deployment/{analyze.id}")
                page.get_by_role("button", name="Run", exact=True).click()
                page.get_by_text("Custom run").click()
                expect(page.get_by_text("Run Name")).to_be_visible()
                expect(page.get_by_text("anthropic:MODEL, openai:MODEL")).to_be_visible()  # no <model> eaten as HTML
                expect(page.get_by_role("button", name="bundled")).to_be_visible()  # tickers offered as choices
                page.get_by_role("button", name="Portfolio", exact=True).click()
                expect(page.get_by_text('{"AAPL": {"long": 10, "long_cost_basis": 150.0}', exact=False)).to_be_visible()
                page.screenshot(path=str(shots / "form.png"), full_page=True)

                page.reload()  # a fresh form: the deployment's parameters as they are, portfolio left empty
                expect(page.get_by_text("anthropic:MODEL, openai:MODEL")).to_be_visible()  # the form has loaded
                name = page.locator(".flow-run-name-input input")
                name.fill(RUN_NAME)
                expect(name).to_have_value(RUN_NAME)  # not replaced by a generated name as the form settles
                page.get_by_role("button", name="Submit").click()
                page.wait_for_url(re.compile(r".*/deployments/deployment/[^/]+(\?.*)?$"))  # back on the deployment
                page.screenshot(path=str(shots / "submitted.png"), full_page=True)
                # The run, named as typed, is found through the API: the deployment's run list leaves out a run
                # still Scheduled (the worker may be busy with the scheduled warm-up) and refreshes on a timer.

                run = final_run(stack, "hedge-fund/analyze", lambda r: r.name == RUN_NAME, timeout_s=150)
                assert run.state.is_completed(), f"{run.state.name}: {run.state.message}"

                page.goto(f"{stack.ui_url}/runs/flow-run/{run.id}")
                expect(page.get_by_text(RUN_NAME).first).to_be_visible()
                expect(page.get_by_text("Completed").first).to_be_visible()
                page.get_by_text("Artifacts", exact=True).click()
                expect(page.get_by_text("signals").first).to_be_visible()
                expect(page.get_by_text("orders").first).to_be_visible()
                expect(page.get_by_text("38 of 38 analysts finished")).to_be_visible()  # progress ends at the end
                page.screenshot(path=str(shots / "run-artifacts.png"), full_page=True)

                signals = _artifact_id(stack, run.id, "signals")
                page.goto(f"{stack.ui_url}/artifacts/artifact/{signals}")
                expect(page.get_by_text("Every analyst's signal for AAPL, NVDA").first).to_be_visible()
                expect(page.get_by_text("38 Items")).to_be_visible()  # the table renders: 19 analysts x 2 tickers
                expect(page.get_by_text("charlie_munger", exact=True).first).to_be_visible()
                page.screenshot(path=str(shots / "signals.png"), full_page=True)

                warm = final_run(stack, "precompute/popular-tickers", lambda r: r.auto_scheduled, timeout_s=150)
                assert warm.state.is_completed(), f"{warm.state.name}: {warm.state.message}"
                # the scheduler on PostgreSQL (tests/test_schedule_e2e.py covers SQLite), run inside our worker
                assert warm.labels.get("prefect.worker.type") == "hedgeflow", warm.labels
                assert "bulk DML" not in stack.children.tail("server", 200_000)
                page.goto(f"{stack.ui_url}/runs/flow-run/{warm.id}")
                expect(page.get_by_text("warm AAPL (rules)").first).to_be_visible()
                expect(page.get_by_text("Completed").first).to_be_visible()
                page.screenshot(path=str(shots / "scheduled-run.png"), full_page=True)
            except BaseException:  # pytest.fail too
                page.screenshot(path=str(shots / "failure.png"), full_page=True)
                print("browser saw:", *failed, sep="\n  ")
                raise
            finally:
                browser.close()


def _artifact_id(stack: Stack, run_id: Any, key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    with api(stack.api_url), get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]), key=ArtifactFilterKey(any_=[key])
        ))
    assert found, f"no {key} artifact for run {run_id}"
    return found[0].id
