"""The alerts, declared here as Prefect automations and applied idempotently by ``make deploy``.

Each automation has a fixed name (``hedgeflow: ...``): applying creates the ones
missing and updates the others in place, so running it again changes nothing and
an edited threshold (the ``default`` Hedgeflow Alerts block) takes effect on the
next ``make deploy``. Every alert notifies through one Prefect notification block
(``AlertSettings.notifier``, by default the Custom Webhook ``hedgeflow-alerts``,
which ``make deploy`` saves from ``HEDGEFLOW_ALERT_WEBHOOK_URL`` when it is set).

- slow run: a ``hedge-fund`` flow run still not finished ``slow_run_s`` after it
  started running (a proactive trigger on Prefect's own flow-run events);
- success rate low / error rate high: the ``health`` flow's events (Prefect
  triggers count events and cannot divide, so the rates are computed from the
  stored runs by ``flows/stats.py:health`` every five minutes);
- breaker open: the ``hedgeflow.breaker.open`` event the guarded model emits;
- precompute failing: a ``precompute`` run Failed or Crashed;
- precompute late: a ``precompute`` run marked Late and still not started
  ``precompute_late_s`` later.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from uuid import UUID

from prefect.automations import Automation, EventTrigger, Posture, SendNotification
from prefect.blocks.core import Block
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.events.actions import ActionTypes

from blocks.alerts import DEFAULT_NOTIFIER, AlertSettings

__all__ = ["PREFIX", "WEBHOOK_URL_ENV", "apply_automations", "declared_automations", "ensure_default_notifier"]

PREFIX = "hedgeflow: "
WEBHOOK_URL_ENV = "HEDGEFLOW_ALERT_WEBHOOK_URL"
FINISHED = {"prefect.flow-run.Completed", "prefect.flow-run.Failed", "prefect.flow-run.Crashed",
            "prefect.flow-run.Cancelled"}
STARTED = {"prefect.flow-run.Pending", "prefect.flow-run.Running", "prefect.flow-run.Cancelled",
           "prefect.flow-run.Cancelling"}
FLOW_RUN = "prefect.flow-run.*"


def _flow(name: str) -> dict[str, str | list[str]]:
    return {"prefect.resource.role": "flow", "prefect.resource.name": name}


def _notify(block_id: UUID, subject: str, body: str) -> list[ActionTypes]:
    return [SendNotification(block_document_id=block_id, subject=subject, body=body)]


def declared_automations(settings: AlertSettings, notifier_id: UUID) -> list[Automation]:
    """Every Hedgeflow alert for these thresholds, notifying through the block ``notifier_id``."""
    run_link = "Flow run {{ flow_run.name }} ({{ flow_run.id }}), state {{ flow_run.state.name }}."
    return [
        Automation(
            name=f"{PREFIX}slow run",
            description=f"A hedge-fund run not finished {settings.slow_run_s:g} s after it started running.",
            trigger=EventTrigger(
                after={"prefect.flow-run.Running"}, expect=FINISHED, match={"prefect.resource.id": "prefect.flow-run.*"},
                match_related=_flow("hedge-fund"), for_each={"prefect.resource.id"}, posture=Posture.Proactive,
                threshold=1, within=timedelta(seconds=settings.slow_run_s),
            ),
            actions=_notify(notifier_id, f"Hedgeflow: slow run (over {settings.slow_run_s:g} s)",
                            f"A hedge-fund run is still running {settings.slow_run_s:g} s after it started. {run_link}"),
        ),
        *(
            Automation(
                name=f"{PREFIX}{label}",
                description=f"From the health flow's hedgeflow.health.{kind} event.",
                trigger=EventTrigger(expect={f"hedgeflow.health.{kind}"}, match={"prefect.resource.id": "hedgeflow.health"},
                                     posture=Posture.Reactive, threshold=1, within=timedelta(0)),
                actions=_notify(notifier_id, f"Hedgeflow: {label}", "{{ event.payload.message }}"),
            )
            for kind, label in (("success-rate-low", "success rate low"), ("error-rate-high", "error rate high"))
        ),
        Automation(
            name=f"{PREFIX}breaker open",
            description="A model provider's circuit breaker opened: its calls fall back to the rules model.",
            trigger=EventTrigger(expect={"hedgeflow.breaker.open"}, match={"prefect.resource.id": "hedgeflow.breaker.*"},
                                 for_each={"prefect.resource.id"}, posture=Posture.Reactive, threshold=1,
                                 within=timedelta(0)),
            actions=_notify(notifier_id, "Hedgeflow: circuit breaker open",
                            "Breaker {{ event.resource.id }} opened: {{ event.payload }}"),
        ),
        Automation(
            name=f"{PREFIX}precompute failing",
            description="A precompute run failed or crashed: the caches are not being warmed.",
            trigger=EventTrigger(expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
                                 match={"prefect.resource.id": FLOW_RUN}, match_related=_flow("precompute"),
                                 posture=Posture.Reactive, threshold=1, within=timedelta(0)),
            actions=_notify(notifier_id, "Hedgeflow: precompute failing", run_link),
        ),
        Automation(
            name=f"{PREFIX}precompute late",
            description=f"A precompute run marked Late and not started {settings.precompute_late_s:g} s later.",
            trigger=EventTrigger(after={"prefect.flow-run.Late"}, expect=STARTED, match={"prefect.resource.id": FLOW_RUN},
                                 match_related=_flow("precompute"), for_each={"prefect.resource.id"},
                                 posture=Posture.Proactive, threshold=1,
                                 within=timedelta(seconds=settings.precompute_late_s)),
            actions=_notify(notifier_id, "Hedgeflow: precompute late", run_link),
        ),
    ]


async def ensure_default_notifier(url: str | None = None) -> bool:
    """Save the Custom Webhook ``hedgeflow-alerts`` posting {subject, body} to ``url`` (else the environment's).

    Never overwrites a saved one; True when this call saved it.
    """
    url = url or os.environ.get(WEBHOOK_URL_ENV, "").strip()
    name = DEFAULT_NOTIFIER.split("/", 1)[1]
    if not url:
        return False
    try:
        await CustomWebhookNotificationBlock.aload(name)
        return False
    except ValueError:
        pass
    block = CustomWebhookNotificationBlock(
        name=name, url=url, json_data={"subject": "{{subject}}", "body": "{{body}}", "source": "{{name}}"},
        headers=None, cookies=None,  # Field(None) defaults, which mypy cannot see
    )
    await block.asave(name)
    return True


async def _settings(name: str) -> AlertSettings:
    try:
        return await AlertSettings.aload(name)
    except ValueError:
        return AlertSettings()


async def apply_automations(settings_block: str = "default") -> list[str]:
    """Create or update every declared automation; the names applied, or [] (with a reason printed) without a notifier."""
    await ensure_default_notifier()
    settings = await _settings(settings_block)
    try:
        notifier: Block = await Block.aload(settings.notifier)
    except ValueError:
        print(f"alerts: not applied: no notification block {settings.notifier!r}; set {WEBHOOK_URL_ENV} and run "
              "make deploy again, or save one and name it in the Hedgeflow Alerts block")
        return []
    notifier_id = notifier._block_document_id
    assert notifier_id is not None
    applied = []
    for automation in declared_automations(settings, notifier_id):
        try:
            existing = await Automation.aread(name=automation.name)
        except ValueError:
            existing = None
        if existing is None:
            await automation.acreate()
        else:
            automation.id = existing.id
            await automation.aupdate()
        applied.append(automation.name)
    return applied


def main() -> int:
    applied = asyncio.run(apply_automations())
    print(f"automations: {', '.join(applied) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
