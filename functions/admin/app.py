"""Admin API: health, and the admin routers (pollen.api.routers): API keys, program and triggers,
customers (search, export, adjustments, imports), customer tokens, orders, Shopify, the events
configuration (event types, integrations, subscriptions, switch, test events), the delivery log and
dead letters, privacy exports, rejected webhooks and VIP tiers (admin scope unless public)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen import __version__
from pollen.api.app import create_app
from pollen.api.auth import public
from pollen.api.routers import (
    api_keys,
    customer_tokens,
    customers,
    deliveries,
    events,
    orders,
    privacy,
    program,
    rejected_webhooks,
    shopify,
    widget,
)
from pollen.api.schemas.health import Health
from pollen.clock import utcnow
from pollen.observability import lambda_entry

app = create_app(title="Pollen Admin API")
for area in (
    customer_tokens,
    privacy,
    customers,
    rejected_webhooks,
    api_keys,
    program,
    orders,
    shopify,
    events,
    deliveries,
    widget,
):
    app.include_router(area.router)


@app.get("/v1/health", summary="Liveness check (no key needed)")
@public
def health() -> Health:
    return Health(status="ok", version=__version__, time=utcnow())


app.include_router(import_module(f"{__package__}.tiers" if __package__ else "tiers").router)  # VIP tiers


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
