"""The tickers the precompute flow keeps warm."""

from __future__ import annotations

from typing import ClassVar

from prefect.blocks.core import Block
from pydantic import Field

__all__ = ["DEFAULT_POPULAR", "PopularTickers"]

DEFAULT_POPULAR = ["AAPL", "NVDA", "GOOGL", "TSLA", "META", "BRK-B", "V"]


class PopularTickers(Block):
    """The default ticker list of the scheduled precompute flow; edit it in the Prefect UI."""

    _block_type_name: ClassVar[str] = "Hedgeflow Popular Tickers"

    tickers: list[str] = Field(default_factory=lambda: list(DEFAULT_POPULAR), description="Tickers to keep warm.")

    @classmethod
    async def current(cls, name: str = "default") -> list[str]:
        """The saved block's list, or the built-in one when none is saved."""
        try:
            block: PopularTickers = await cls.aload(name)
        except ValueError:
            return list(DEFAULT_POPULAR)
        return list(block.tickers)
