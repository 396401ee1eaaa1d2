"""The flows' parameter types that need the data to check: Prefect runs the check while it validates a run's parameters.

A bad request then fails before the flow body starts, with one state message
(Prefect's "Validation of flow parameters failed") and no traceback. Only the
offline provider is checked here: its ticker list and dates are local, while a
live provider's would cost a request during validation (the flow checks those).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from hedgeflow.data import get_provider
from hedgeflow.request import validate_request
from hedgeflow.schemas import DataProviderName, RunRequest

__all__ = ["CheckedDataProvider", "check_against_data"]

_REQUEST_FIELDS = ("tickers", "start", "end", "analysts", "model")


def check_against_data(provider: str, info: ValidationInfo) -> str:
    """Check the parameters validated before this one (tickers, window, analysts, model) against ``provider``'s data."""
    if provider != "offline" or not info.data.get("tickers"):
        return provider  # a live provider is checked by the flow; a missing or invalid ticker list is reported on its own
    request = RunRequest(**{k: info.data[k] for k in _REQUEST_FIELDS if info.data.get(k) is not None})
    validate_request(request, get_provider(provider).tickers())  # InvalidRequestError is a ValueError: one line
    return provider


CheckedDataProvider = Annotated[
    DataProviderName,
    AfterValidator(check_against_data),
    Field(validate_default=True, description=(
        "offline (bundled data), live (SEC EDGAR and keyless prices and news; any US ticker), "
        "financialdatasets (FINANCIAL_DATASETS_API_KEY) or block:NAME (a saved Hedgeflow Data Provider block)."
    )),
]
