"""``make deploy``'s last step: the ``default`` Hedgeflow Provider Limits block as Prefect global concurrency limits.

Two limits per provider, upserted by name (so running it again only applies an
edited block): ``hedgeflow-rate-<provider>`` with one slot that decays at
requests_per_minute / 60 per second (Prefect's rate-limit form, taken with
``prefect.concurrency.sync.rate_limit``), and ``hedgeflow-inflight-<provider>``
with ``in_flight`` slots (taken with ``prefect.concurrency.sync.concurrency``
around each call). They live on the server, so every worker shares them.
"""

from __future__ import annotations

from prefect.client.orchestration import get_client

from blocks.limits import (
    ProviderLimit,
    ProviderLimits,
    in_flight_limit_name,
    rate_limit_name,
)

__all__ = ["apply_limits", "main"]


def apply_limits(limits: list[ProviderLimit]) -> list[str]:
    """Create or update both limits of each provider; their names."""
    names: list[str] = []
    with get_client(sync_client=True) as client:
        for limit in limits:
            client.upsert_global_concurrency_limit_by_name(
                rate_limit_name(limit.provider), limit=1, slot_decay_per_second=limit.requests_per_minute / 60.0
            )
            client.upsert_global_concurrency_limit_by_name(in_flight_limit_name(limit.provider), limit=limit.in_flight)
            names += [rate_limit_name(limit.provider), in_flight_limit_name(limit.provider)]
    return names


def main(block: str = "default") -> int:
    try:
        settings = ProviderLimits.load(block, _sync=True)  # type: ignore[call-arg]
    except ValueError:
        settings = ProviderLimits()
    assert isinstance(settings, ProviderLimits)
    print(f"concurrency limits: {', '.join(apply_limits(settings.limits))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
