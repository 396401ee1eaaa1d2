"""Model clients, prompts, structured answers and cost accounting.

Importing this package loads neither SDK: the Anthropic and OpenAI clients
are imported when ``make_client`` first needs them. ``FallbackClient`` wraps
any client with the circuit breaker and the rules model as its fallback;
``HedgedClient`` wraps a vendor client with hedged requests.
"""

from __future__ import annotations

from hedgeflow.llm.agents import clamp_orders, model_label, model_orders, model_signal
from hedgeflow.llm.client import (
    ModelClient,
    ModelConfig,
    ModelReply,
    ModelRequest,
    clear_client_cache,
    make_client,
    parse_model,
)
from hedgeflow.llm.errors import (
    ModelAPIError,
    ModelAuthError,
    ModelConnectionError,
    ModelError,
    ModelOutputError,
    ModelTimeoutError,
)
from hedgeflow.llm.fallback import (
    AUTH_REFUSED,
    AuthRefusals,
    FallbackClient,
    UnavailableClient,
)
from hedgeflow.llm.hedging import HedgedClient, HedgeSettings
from hedgeflow.llm.pricing import PRICES, cost_usd, price_note
from hedgeflow.llm.prompts import (
    AnalystAnswer,
    Decision,
    PortfolioAnswer,
    analyst_request,
    portfolio_request,
)
from hedgeflow.llm.rules import RulesClient

__all__ = [
    "AUTH_REFUSED",
    "PRICES",
    "AnalystAnswer",
    "AuthRefusals",
    "Decision",
    "FallbackClient",
    "HedgeSettings",
    "HedgedClient",
    "ModelAPIError",
    "ModelAuthError",
    "ModelClient",
    "ModelConfig",
    "ModelConnectionError",
    "ModelError",
    "ModelOutputError",
    "ModelReply",
    "ModelRequest",
    "ModelTimeoutError",
    "PortfolioAnswer",
    "RulesClient",
    "UnavailableClient",
    "analyst_request",
    "clamp_orders",
    "clear_client_cache",
    "cost_usd",
    "make_client",
    "model_label",
    "model_orders",
    "model_signal",
    "parse_model",
    "portfolio_request",
    "price_note",
]
