"""Admin API: health, API keys, program, triggers, adjustments, orders, Shopify, the events
configuration (event types, integrations, subscriptions, switch), the delivery log, dead letters
and test events (admin scope unless public)."""

from __future__ import annotations

from importlib import import_module
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen import __version__
from pollen.api.app import create_app, principal
from pollen.api.auth import public, requires
from pollen.api.routers import customer_tokens as customer_tokens_routes
from pollen.api.routers import customers as customers_routes
from pollen.api.routers import privacy as privacy_routes
from pollen.api.routers import rejected_webhooks as rejected_webhooks_routes
from pollen.api.routers import widget as widget_routes
from pollen.api.schemas.api_keys import ApiKeyList, ApiKeyView, CreateApiKeyRequest, CreatedApiKey, KeyId
from pollen.api.schemas.customers import AdjustmentRequest
from pollen.api.schemas.deliveries import (
    DeliveryPage,
    ReplayRequest,
    SendTestEventRequest,
)
from pollen.api.schemas.events import (
    EventsSettings,
    EventsSettingsInput,
    EventTypeList,
    EventTypeView,
    IntegrationList,
    IntegrationView,
    SubscriptionList,
    WrittenIntegration,
)
from pollen.api.schemas.health import Health
from pollen.api.schemas.orders import AdminOrderView, IdempotencyKey
from pollen.api.schemas.program import ProgramView, parse_if_match
from pollen.api.schemas.shopify import ShopifyConnectionBody, ShopifyConnectionView
from pollen.api.schemas.triggers import TriggerList
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.customers import CustomerId
from pollen.domain.deliveries import DeliveryStatus
from pollen.domain.errors import FieldError, ValidationFailed
from pollen.domain.integrations import (
    IntegrationId,
    IntegrationInput,
    Subscription,
    SubscriptionId,
    SubscriptionInput,
)
from pollen.domain.merchants import ShopifyConnection
from pollen.domain.orders import ExternalId
from pollen.domain.program import ProgramSettings
from pollen.domain.triggers import Trigger, TriggerId, TriggerSettings
from pollen.events.catalogue import catalogue
from pollen.observability import lambda_entry, metrics
from pollen.services import (
    adjustments,
    api_keys,
    dead_letters,
    event_config,
    merchants,
    orders,
    program,
    test_events,
    triggers,
)
from pollen.services.container import container
from pollen.services.idempotency import Idempotency
from pollen.services.ledger import Operated

app = create_app(title="Pollen Admin API")
app.include_router(customer_tokens_routes.router)
app.include_router(privacy_routes.router)
app.include_router(customers_routes.router)
app.include_router(rejected_webhooks_routes.router)
app.include_router(widget_routes.router)


@app.get("/v1/health", summary="Liveness check (no key needed)")
@public
def health() -> Health:
    return Health(status="ok", version=__version__, time=utcnow())


@app.post("/v1/admin/api-keys", summary="Create an API key (shown once)", responses={201: {}})
@requires(Scope.ADMIN)
def create_api_key(body: Annotated[CreateApiKeyRequest, Body()]) -> Response[CreatedApiKey]:
    key, plaintext = api_keys.create_key(
        container(), principal(app).merchant_id, name=body.name, scope=body.scope, now=utcnow()
    )
    metrics.add_metric(name="ApiKeysCreated", unit=MetricUnit.Count, value=1)
    created = CreatedApiKey(**ApiKeyView.of(key).model_dump(), key=plaintext)
    return Response(
        status_code=201,
        content_type="application/json",
        body=created,
        headers={"Cache-Control": "no-store", "Location": f"/v1/admin/api-keys/{key.key_id}"},
    )


@app.get("/v1/admin/api-keys", summary="List API keys (masked)")
@requires(Scope.ADMIN)
def list_api_keys() -> ApiKeyList:
    keys = api_keys.list_keys(container(), principal(app).merchant_id)
    return ApiKeyList(items=[ApiKeyView.of(k) for k in keys])


@app.delete("/v1/admin/api-keys/<key_id>", summary="Revoke an API key", responses={204: {}})
@requires(Scope.ADMIN)
def revoke_api_key(key_id: Annotated[KeyId, Path()]) -> Response[None]:
    api_keys.revoke_key(container(), principal(app).merchant_id, key_id, now=utcnow())
    metrics.add_metric(name="ApiKeysRevoked", unit=MetricUnit.Count, value=1)
    return Response(status_code=204)


def _program_response(view: ProgramView) -> Response[ProgramView]:
    return Response(
        status_code=200, content_type="application/json", body=view, headers={"ETag": f'"{view.version}"'}
    )


@app.get("/v1/admin/program", summary="Read the program settings")
@requires(Scope.ADMIN)
def get_program() -> Response[ProgramView]:
    current = program.get_program(container(), principal(app).merchant_id)
    return _program_response(ProgramView.of(current))


@app.put("/v1/admin/program", summary="Replace the program settings (If-Match for safe concurrent edits)")
@requires(Scope.ADMIN)
def put_program(
    body: Annotated[ProgramSettings, Body()],
    if_match: Annotated[str | None, Header(alias="if-match")] = None,
) -> Response[ProgramView]:
    updated = program.update_program(
        container(), principal(app).merchant_id, body, now=utcnow(), expected_version=parse_if_match(if_match)
    )
    metrics.add_metric(name="ProgramUpdates", unit=MetricUnit.Count, value=1)
    return _program_response(ProgramView.of(updated))


@app.get("/v1/admin/triggers", summary="List triggers")
@requires(Scope.ADMIN)
def list_triggers() -> TriggerList:
    return TriggerList(items=triggers.list_triggers(container(), principal(app).merchant_id))


@app.get("/v1/admin/triggers/<trigger_id>", summary="Read a trigger")
@requires(Scope.ADMIN)
def get_trigger(trigger_id: Annotated[TriggerId, Path()]) -> Trigger:
    return triggers.get_trigger(container(), principal(app).merchant_id, trigger_id)


@app.put("/v1/admin/triggers/<trigger_id>", summary="Create or replace a trigger", responses={201: {}})
@requires(Scope.ADMIN)
def put_trigger(
    trigger_id: Annotated[TriggerId, Path()], body: Annotated[TriggerSettings, Body()]
) -> Response[Trigger]:
    trigger, created = triggers.put_trigger(
        container(), principal(app).merchant_id, trigger_id, body, now=utcnow()
    )
    return Response(status_code=201 if created else 200, content_type="application/json", body=trigger)


@app.delete("/v1/admin/triggers/<trigger_id>", summary="Delete a trigger", responses={204: {}})
@requires(Scope.ADMIN)
def delete_trigger(trigger_id: Annotated[TriggerId, Path()]) -> Response[None]:
    triggers.delete_trigger(container(), principal(app).merchant_id, trigger_id)
    return Response(status_code=204)


@app.post(
    "/v1/admin/customers/<customer_id>/adjustments",
    summary="Add or take coins by hand (never below zero)",
    responses={201: {}},
)
@requires(Scope.ADMIN)
def adjust_coins(
    customer_id: Annotated[CustomerId, Path()],
    body: Annotated[AdjustmentRequest, Body()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> Response[Operated]:
    if body.coins == 0:
        message = "An adjustment moves at least one coin."
        raise ValidationFailed(message, errors=[FieldError("coins", message, "zero")])
    idempotency = (
        Idempotency("adjustment", idempotency_key, {"customer_id": customer_id, **body.model_dump()})
        if idempotency_key
        else None
    )
    status, result = adjustments.adjust(
        container(),
        principal(app).merchant_id,
        customer_id,
        body.coins,
        body.reason,
        now=utcnow(),
        idempotency=idempotency,
    )
    return Response(status_code=status, content_type="application/json", body=result)


@app.get("/v1/admin/orders/<order_id>", summary="An order's coins, status and clawback shortfall")
@requires(Scope.ADMIN)
def get_order(order_id: Annotated[ExternalId, Path()]) -> AdminOrderView:
    record = orders.get_order(container(), principal(app).merchant_id, order_id)
    data = record.facts.data
    return AdminOrderView(
        **orders.order_view(record),
        currency=data.currency if data else None,
        total=str(data.total) if data and data.total is not None else None,
        discount_codes=list(data.discount_codes) if data else [],
        paid=record.facts.paid,
        cancelled=record.facts.cancelled,
        confirmed=record.facts.confirmed,
        confirm_on=record.confirm_on,
        refunds=sorted(record.facts.refunds),
        updated_at=record.updated_at,
    )


@app.put(
    "/v1/admin/shopify", summary="Connect the Shopify shop (secrets are write-only)", responses={201: {}}
)
@requires(Scope.ADMIN)
def put_shopify(body: Annotated[ShopifyConnectionBody, Body()]) -> Response[ShopifyConnectionView]:
    connection, created = merchants.connect_shopify(
        container(), principal(app).merchant_id, ShopifyConnection(**body.model_dump()), now=utcnow()
    )
    return Response(
        status_code=201 if created else 200, content_type="application/json", body=_shopify_view(connection)
    )


@app.get("/v1/admin/shopify", summary="The Shopify connection (without its secrets)")
@requires(Scope.ADMIN)
def get_shopify() -> ShopifyConnectionView:
    return _shopify_view(merchants.get_shopify(container(), principal(app).merchant_id))


def _shopify_view(connection: ShopifyConnection) -> ShopifyConnectionView:
    return ShopifyConnectionView(
        shop_domain=connection.shop_domain,
        api_version=connection.api_version,
        webhook_secret_set=bool(connection.webhook_secret),
        admin_access_token_set=bool(connection.admin_access_token),
    )


# ---- events: catalogue, integrations, subscriptions, switch ------------------------------------


@app.get("/v1/admin/event-types", summary="Events Pollen can send, with their fields and filters")
@requires(Scope.ADMIN)
def list_event_types() -> EventTypeList:
    return EventTypeList(items=[EventTypeView.of(spec) for spec in catalogue()])


@app.get("/v1/admin/integrations", summary="List integrations (credentials masked)")
@requires(Scope.ADMIN)
def list_integrations() -> IntegrationList:
    found = event_config.list_integrations(container(), principal(app).merchant_id)
    return IntegrationList(items=[IntegrationView.of(i) for i in found])


@app.get("/v1/admin/integrations/<integration_id>", summary="Read an integration (credentials masked)")
@requires(Scope.ADMIN)
def get_integration(integration_id: Annotated[IntegrationId, Path()]) -> IntegrationView:
    return IntegrationView.of(
        event_config.get_integration(container(), principal(app).merchant_id, integration_id)
    )


@app.put(
    "/v1/admin/integrations/<integration_id>",
    summary="Create or replace an integration (omitted credentials are kept; a new secret is shown once)",
    responses={201: {}},
)
@requires(Scope.ADMIN)
def put_integration(
    integration_id: Annotated[IntegrationId, Path()], body: Annotated[IntegrationInput, Body()]
) -> Response[WrittenIntegration]:
    integration, created, generated = event_config.put_integration(
        container(), principal(app).merchant_id, integration_id, body, now=utcnow()
    )
    metrics.add_metric(name="IntegrationsWritten", unit=MetricUnit.Count, value=1)
    written = WrittenIntegration(**IntegrationView.of(integration).model_dump(), secret=generated)
    headers = {"Cache-Control": "no-store"}
    if created:
        headers["Location"] = f"/v1/admin/integrations/{integration_id}"
    return Response(
        status_code=201 if created else 200, content_type="application/json", body=written, headers=headers
    )


@app.delete(
    "/v1/admin/integrations/<integration_id>",
    summary="Delete an integration (409 while subscriptions use it)",
    responses={204: {}},
)
@requires(Scope.ADMIN)
def delete_integration(integration_id: Annotated[IntegrationId, Path()]) -> Response[None]:
    event_config.delete_integration(container(), principal(app).merchant_id, integration_id, now=utcnow())
    return Response(status_code=204)


@app.get("/v1/admin/events/settings", summary="The global events switch")
@requires(Scope.ADMIN)
def get_events_settings() -> EventsSettings:
    enabled, updated_at = event_config.get_settings(container(), principal(app).merchant_id)
    return EventsSettings(enabled=enabled, updated_at=updated_at)


@app.put("/v1/admin/events/settings", summary="Turn sending events to integrations on or off")
@requires(Scope.ADMIN)
def put_events_settings(body: Annotated[EventsSettingsInput, Body()]) -> EventsSettings:
    enabled, updated_at = event_config.put_settings(
        container(), principal(app).merchant_id, enabled=body.enabled, now=utcnow()
    )
    return EventsSettings(enabled=enabled, updated_at=updated_at)


@app.post("/v1/admin/event-subscriptions", summary="Send an event to an integration", responses={201: {}})
@requires(Scope.ADMIN)
def create_event_subscription(body: Annotated[SubscriptionInput, Body()]) -> Response[Subscription]:
    subscription = event_config.create_subscription(
        container(), principal(app).merchant_id, body, now=utcnow()
    )
    metrics.add_metric(name="EventSubscriptionsCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=201,
        content_type="application/json",
        body=subscription,
        headers={"Location": f"/v1/admin/event-subscriptions/{subscription.subscription_id}"},
    )


@app.get("/v1/admin/event-subscriptions", summary="List event subscriptions")
@requires(Scope.ADMIN)
def list_event_subscriptions() -> SubscriptionList:
    return SubscriptionList(items=event_config.list_subscriptions(container(), principal(app).merchant_id))


@app.get("/v1/admin/event-subscriptions/<subscription_id>", summary="Read an event subscription")
@requires(Scope.ADMIN)
def get_event_subscription(subscription_id: Annotated[SubscriptionId, Path()]) -> Subscription:
    return event_config.get_subscription(container(), principal(app).merchant_id, subscription_id)


@app.put("/v1/admin/event-subscriptions/<subscription_id>", summary="Replace an event subscription")
@requires(Scope.ADMIN)
def put_event_subscription(
    subscription_id: Annotated[SubscriptionId, Path()], body: Annotated[SubscriptionInput, Body()]
) -> Subscription:
    return event_config.replace_subscription(
        container(), principal(app).merchant_id, subscription_id, body, now=utcnow()
    )


@app.delete(
    "/v1/admin/event-subscriptions/<subscription_id>",
    summary="Delete an event subscription",
    responses={204: {}},
)
@requires(Scope.ADMIN)
def delete_event_subscription(subscription_id: Annotated[SubscriptionId, Path()]) -> Response[None]:
    event_config.delete_subscription(container(), principal(app).merchant_id, subscription_id, now=utcnow())
    return Response(status_code=204)


@app.get("/v1/admin/deliveries", summary="The delivery log, newest first (attempts included)")
@requires(Scope.ADMIN)
def list_deliveries(
    status: Annotated[DeliveryStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> DeliveryPage:
    page = container().deliveries.page(principal(app).merchant_id, status=status, limit=limit, cursor=cursor)
    return DeliveryPage(items=page.items, next_cursor=page.next_cursor)


@app.get("/v1/admin/deliveries/dead-letters", summary="What sits in the dead-letter queue, with reasons")
@requires(Scope.ADMIN)
def list_dead_letters() -> dead_letters.DeadLetterList:
    return dead_letters.list_dead_letters(container(), principal(app).merchant_id)


@app.post(
    "/v1/admin/deliveries/dead-letters/replay",
    summary="Queue dead letters again (all, or the ids given) with a fresh retry budget",
)
@requires(Scope.ADMIN)
def replay_dead_letters(body: Annotated[ReplayRequest | None, Body()] = None) -> dead_letters.ReplayResult:
    ids = body.delivery_ids if body is not None else None
    result = dead_letters.replay(container(), principal(app).merchant_id, ids, now=utcnow())
    metrics.add_metric(name="DeadLettersReplayed", unit=MetricUnit.Count, value=result.replayed)
    return result


@app.post(
    "/v1/admin/event-subscriptions/<subscription_id>/test",
    summary="Send a sample of the subscription's event about an existing customer, now",
)
@requires(Scope.ADMIN)
def send_test_event(
    subscription_id: Annotated[SubscriptionId, Path()], body: Annotated[SendTestEventRequest, Body()]
) -> test_events.SentTestEvent:
    if (body.email is None) == (body.mobile is None):
        message = "Give exactly one of email and mobile."
        field = "email" if body.email is None else "mobile"
        raise ValidationFailed(message, errors=[FieldError(field, message, "exactly_one")])
    result = test_events.send_test_event(
        container(),
        principal(app).merchant_id,
        subscription_id,
        email=body.email,
        mobile=body.mobile,
        now=utcnow(),
    )
    metrics.add_metric(name="TestEventsSent", unit=MetricUnit.Count, value=1)
    return result


app.include_router(import_module(f"{__package__}.tiers" if __package__ else "tiers").router)  # VIP tiers


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
