"""Admin API: health, and the admin routers (pollen.api.routers): API keys, program and triggers,
customers (search, export, adjustments, imports), customer tokens, orders, Shopify, the events
configuration (event types, integrations, subscriptions, switch, test events), the delivery log and
dead letters, privacy exports, rejected webhooks and VIP tiers (admin scope unless public)."""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen import __version__
from pollen.api.app import create_app
from pollen.api.auth import public
from pollen.api.schemas.health import Health
from pollen.clock import utcnow
from pollen.observability import lambda_entry

ROUTERS = "pollen.api.routers"
app = create_app(title="Pollen Admin API")
# Each area's router (its models and services) is imported by the first request under its paths.
app.include_lazily(
    f"{ROUTERS}.customer_tokens",
    "/v1/admin/customer-tokens",
    "/v1/customer-tokens",
    "/v1/shopify/app-proxy/customer-token",
)
app.include_lazily(f"{ROUTERS}.privacy", "/v1/admin/privacy")
app.include_lazily(f"{ROUTERS}.customers", "/v1/admin/customers", "/v1/admin/imports")
app.include_lazily(f"{ROUTERS}.rejected_webhooks", "/v1/admin/shopify/rejected-webhooks")
app.include_lazily(f"{ROUTERS}.api_keys", "/v1/admin/api-keys")
app.include_lazily(f"{ROUTERS}.program", "/v1/admin/program", "/v1/admin/triggers")
app.include_lazily(f"{ROUTERS}.orders", "/v1/admin/orders")
app.include_lazily(f"{ROUTERS}.shopify", "/v1/admin/shopify")
app.include_lazily(
    f"{ROUTERS}.events",
    "/v1/admin/event-subscriptions",
    "/v1/admin/event-types",
    "/v1/admin/events",
    "/v1/admin/integrations",
)
app.include_lazily(f"{ROUTERS}.deliveries", "/v1/admin/deliveries")
app.include_lazily(f"{ROUTERS}.widget", "/v1/admin/widget", "/v1/widget")


@app.get("/v1/health", summary="Liveness check (no key needed)")
@public
def health() -> Health:
    return Health(status="ok", version=__version__, time=utcnow())


app.include_lazily(f"{__package__}.tiers" if __package__ else "tiers", "/v1/admin/tiers")  # VIP tiers


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
