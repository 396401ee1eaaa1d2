"""One module per analyst; ``registry`` lists them without importing them."""

from hedgeflow.analysts.registry import (
    CATALOGUE,
    load_analyst,
    load_committee,
    resolve_analysts,
)

__all__ = ["CATALOGUE", "load_analyst", "load_committee", "resolve_analysts"]
