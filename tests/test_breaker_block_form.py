"""The Circuit Breaker block's form: Counted Errors shows its default, and an emptied field means the default."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

DEFAULT_KINDS = ["connection", "overloaded", "rate_limit", "server_error", "timeout"]  # hedgeflow.retry.error_kind's


def test_the_registered_schema_holds_the_default_and_the_choices() -> None:
    from blocks.breaker import CircuitBreakerBlock
    from hedgeflow.breaker import DEFAULT_COUNTED_ERRORS

    field = CircuitBreakerBlock._to_block_schema(block_type_id=None).fields["properties"]["counted_errors"]  # type: ignore[arg-type]
    assert field["default"] == DEFAULT_KINDS == sorted(DEFAULT_COUNTED_ERRORS)
    assert field["items"]["enum"] == DEFAULT_KINDS


@pytest.mark.parametrize("saved", [{}, {"counted_errors": None}, {"counted_errors": []}],
                         ids=["missing", "null", "empty"])
def test_a_document_saved_with_the_field_empty_loads_the_defaults(prefect_server: None, saved: dict[str, Any]) -> None:
    """As the UI's form can save it: the field left out, null or an empty list."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import BlockDocumentCreate

    from blocks.breaker import CircuitBreakerBlock

    name = f"emptied-{len(str(saved))}"  # one name per case

    async def save_as_the_ui_would() -> None:
        await CircuitBreakerBlock.aregister_type_and_schema()
        async with get_client() as client:
            block_type = await client.read_block_type_by_slug(CircuitBreakerBlock.get_block_type_slug())
            schema = await client.get_most_recent_block_schema_for_block_type(block_type.id)
            assert schema is not None
            await client.create_block_document(BlockDocumentCreate(
                name=name, data={"failure_threshold": 3, **saved},
                block_type_id=block_type.id, block_schema_id=schema.id,
            ))

    asyncio.run(save_as_the_ui_would())
    loaded = CircuitBreakerBlock.load(name)
    assert loaded.counted_errors == DEFAULT_KINDS
    assert loaded.failure_threshold == 3
    assert loaded.settings().counted_errors == frozenset(DEFAULT_KINDS)


def test_saving_it_empty_stores_and_shows_the_defaults(prefect_server: None) -> None:
    """What the Blocks page displays is the stored document: the kinds, never None."""
    from prefect.client.orchestration import get_client

    from blocks.breaker import CircuitBreakerBlock

    CircuitBreakerBlock(counted_errors=[]).save("saved-empty", overwrite=True)

    async def stored() -> dict[str, Any]:
        async with get_client() as client:
            document = await client.read_block_document_by_name(
                "saved-empty", CircuitBreakerBlock.get_block_type_slug(), include_secrets=False
            )
        return dict(document.data)

    assert stored_data(stored) == DEFAULT_KINDS
    assert CircuitBreakerBlock.load("saved-empty").counted_errors == DEFAULT_KINDS


def stored_data(read: Any) -> Any:
    return asyncio.run(read())["counted_errors"]
