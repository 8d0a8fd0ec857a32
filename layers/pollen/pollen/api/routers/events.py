"""Admin routes for outgoing events: the catalogue, integrations (Klaviyo, Omnisend, webhooks),
subscriptions, the global switch and test events."""

# No ``from __future__ import annotations``: Powertools reads a route's hints on every request to
# resolve its Depends (pollen.api.deps), and evaluated annotations cost nothing to read again.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from pollen.api.auth import requires
from pollen.api.deps import MerchantId, Services
from pollen.api.schemas.deliveries import SendTestEventRequest
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
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.integrations import (
    IntegrationId,
    IntegrationInput,
    Subscription,
    SubscriptionId,
    SubscriptionInput,
)
from pollen.events.catalogue import catalogue
from pollen.observability import metrics
from pollen.services import event_config, test_events

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]


@router.get("/v1/admin/event-types", summary="Events Pollen can send, with their fields and filters")
@requires(Scope.ADMIN)
def list_event_types() -> EventTypeList:
    return EventTypeList(items=[EventTypeView.of(spec) for spec in catalogue()])


@router.get("/v1/admin/integrations", summary="List integrations (credentials masked)")
@requires(Scope.ADMIN)
def list_integrations(c: Services, merchant_id: MerchantId) -> IntegrationList:
    found = event_config.list_integrations(c, merchant_id)
    return IntegrationList(items=[IntegrationView.of(i) for i in found])


@router.get("/v1/admin/integrations/<integration_id>", summary="Read an integration (credentials masked)")
@requires(Scope.ADMIN)
def get_integration(
    integration_id: Annotated[IntegrationId, Path()], c: Services, merchant_id: MerchantId
) -> IntegrationView:
    return IntegrationView.of(event_config.get_integration(c, merchant_id, integration_id))


@router.put(
    "/v1/admin/integrations/<integration_id>",
    summary="Create or replace an integration (omitted credentials are kept; a new secret is shown once)",
    responses={201: {}},
)
@requires(Scope.ADMIN)
def put_integration(
    integration_id: Annotated[IntegrationId, Path()],
    body: Annotated[IntegrationInput, Body()],
    c: Services,
    merchant_id: MerchantId,
) -> Response[WrittenIntegration]:
    integration, created, generated = event_config.put_integration(
        c, merchant_id, integration_id, body, now=utcnow()
    )
    metrics.add_metric(name="IntegrationsWritten", unit=MetricUnit.Count, value=1)
    written = WrittenIntegration(**IntegrationView.of(integration).model_dump(), secret=generated)
    headers = {"Cache-Control": "no-store"}
    if created:
        headers["Location"] = f"/v1/admin/integrations/{integration_id}"
    return Response(
        status_code=201 if created else 200, content_type="application/json", body=written, headers=headers
    )


@router.delete(
    "/v1/admin/integrations/<integration_id>",
    summary="Delete an integration (409 while subscriptions use it)",
    responses={204: {}},
)
@requires(Scope.ADMIN)
def delete_integration(
    integration_id: Annotated[IntegrationId, Path()], c: Services, merchant_id: MerchantId
) -> Response[None]:
    event_config.delete_integration(c, merchant_id, integration_id, now=utcnow())
    return Response(status_code=204)


@router.get("/v1/admin/events/settings", summary="The global events switch")
@requires(Scope.ADMIN)
def get_events_settings(c: Services, merchant_id: MerchantId) -> EventsSettings:
    enabled, updated_at = event_config.get_settings(c, merchant_id)
    return EventsSettings(enabled=enabled, updated_at=updated_at)


@router.put("/v1/admin/events/settings", summary="Turn sending events to integrations on or off")
@requires(Scope.ADMIN)
def put_events_settings(
    body: Annotated[EventsSettingsInput, Body()], c: Services, merchant_id: MerchantId
) -> EventsSettings:
    enabled, updated_at = event_config.put_settings(c, merchant_id, enabled=body.enabled, now=utcnow())
    return EventsSettings(enabled=enabled, updated_at=updated_at)


@router.post("/v1/admin/event-subscriptions", summary="Send an event to an integration", responses={201: {}})
@requires(Scope.ADMIN)
def create_event_subscription(
    body: Annotated[SubscriptionInput, Body()], c: Services, merchant_id: MerchantId
) -> Response[Subscription]:
    subscription = event_config.create_subscription(c, merchant_id, body, now=utcnow())
    metrics.add_metric(name="EventSubscriptionsCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=201,
        content_type="application/json",
        body=subscription,
        headers={"Location": f"/v1/admin/event-subscriptions/{subscription.subscription_id}"},
    )


@router.get("/v1/admin/event-subscriptions", summary="List event subscriptions")
@requires(Scope.ADMIN)
def list_event_subscriptions(c: Services, merchant_id: MerchantId) -> SubscriptionList:
    return SubscriptionList(items=event_config.list_subscriptions(c, merchant_id))


@router.get("/v1/admin/event-subscriptions/<subscription_id>", summary="Read an event subscription")
@requires(Scope.ADMIN)
def get_event_subscription(
    subscription_id: Annotated[SubscriptionId, Path()], c: Services, merchant_id: MerchantId
) -> Subscription:
    return event_config.get_subscription(c, merchant_id, subscription_id)


@router.put("/v1/admin/event-subscriptions/<subscription_id>", summary="Replace an event subscription")
@requires(Scope.ADMIN)
def put_event_subscription(
    subscription_id: Annotated[SubscriptionId, Path()],
    body: Annotated[SubscriptionInput, Body()],
    c: Services,
    merchant_id: MerchantId,
) -> Subscription:
    return event_config.replace_subscription(c, merchant_id, subscription_id, body, now=utcnow())


@router.delete(
    "/v1/admin/event-subscriptions/<subscription_id>",
    summary="Delete an event subscription",
    responses={204: {}},
)
@requires(Scope.ADMIN)
def delete_event_subscription(
    subscription_id: Annotated[SubscriptionId, Path()], c: Services, merchant_id: MerchantId
) -> Response[None]:
    event_config.delete_subscription(c, merchant_id, subscription_id, now=utcnow())
    return Response(status_code=204)


@router.post(
    "/v1/admin/event-subscriptions/<subscription_id>/test",
    summary="Send a sample of the subscription's event about an existing customer, now",
)
@requires(Scope.ADMIN)
def send_test_event(
    subscription_id: Annotated[SubscriptionId, Path()],
    body: Annotated[SendTestEventRequest, Body()],
    c: Services,
    merchant_id: MerchantId,
) -> test_events.SentTestEvent:
    result = test_events.send_test_event(
        c, merchant_id, subscription_id, email=body.email, mobile=body.mobile, now=utcnow()
    )
    metrics.add_metric(name="TestEventsSent", unit=MetricUnit.Count, value=1)
    return result
