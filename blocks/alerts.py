"""Alert thresholds and where alerts go: the settings the automations in ``deployments/automations.py`` read."""

from __future__ import annotations

from typing import ClassVar

from prefect.blocks.core import Block
from pydantic import Field

__all__ = ["DEFAULT_NOTIFIER", "AlertSettings"]

DEFAULT_NOTIFIER = "custom-webhook/hedgeflow-alerts"


class AlertSettings(Block):
    """When Hedgeflow alerts and through which notification block; edit it in the Prefect UI, then `make deploy`."""

    _block_type_name: ClassVar[str] = "Hedgeflow Alerts"

    notifier: str = Field(
        default=DEFAULT_NOTIFIER,
        description="The notification block alerts go through, as <block-type-slug>/<name> (any Prefect "
        "notification block: Custom Webhook, Slack Webhook, Email...).",
    )
    slow_run_s: float = Field(
        default=15.0, ge=10.0, description="A hedge-fund run still running this many seconds after it started alerts "
        "(Prefect's proactive triggers need at least 10 s).",
    )
    success_rate_min: float = Field(default=0.9, ge=0.0, le=1.0, description="Alert when the share of completed "
                                    "runs in the window falls below this.")
    error_rate_max: float = Field(default=0.1, ge=0.0, le=1.0, description="Alert when the share of degraded, partial "
                                  "or failed runs in the window rises above this.")
    window_minutes: int = Field(default=60, ge=1, description="The rolling window of the two rates, in minutes.")
    min_runs: int = Field(default=5, ge=1, description="No rate alert from fewer runs than this in the window.")
    precompute_late_s: float = Field(default=300.0, ge=10.0, description="A scheduled precompute run not started "
                                     "this long after its time alerts.")
