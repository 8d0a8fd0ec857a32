"""Shopify order webhooks (HMAC-signed, no API key) and the orders API for custom platforms (write key).

Both feed the same order path (:mod:`pollen.services.orders`): same rules, same exactly-once.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

import base64
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.api.app import create_app, principal
from pollen.api.auth import answers_function_url, public, reads_raw_body, requires
from pollen.api.schemas.orders import CreateOrderRequest, IdempotencyKey, RefundRequest, WebhookAck
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.customers import CustomerData
from pollen.domain.orders import ExternalId, OrderData, OrderFacts, Refund
from pollen.observability import lambda_entry, metrics
from pollen.services import shopify_webhooks
from pollen.services.container import container
from pollen.services.idempotency import Idempotency
from pollen.services.orders import record_order_fact
from pollen.services.program import program_in_currency
from pollen.views.orders import OrderView

app = create_app(title="Pollen Orders API")
SCOPE = "orders-api"


@app.post(
    "/webhooks/shopify",
    summary="Shopify webhooks: orders/*, refunds/create, customers/create|update and the privacy topics",
)
@public
@reads_raw_body
@answers_function_url  # Shopify is pointed at the function URL (template.yaml): no API Gateway charge
def shopify_webhook() -> WebhookAck:
    event = app.current_event
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    headers = event.headers
    delivery = shopify_webhooks.Delivery(
        shop_domain=headers.get("x-shopify-shop-domain"),
        topic=headers.get("x-shopify-topic"),
        webhook_id=headers.get("x-shopify-webhook-id"),
        hmac=headers.get("x-shopify-hmac-sha256"),
        body=body,
    )
    result = shopify_webhooks.handle(container(), delivery, now=utcnow())
    metrics.add_metric(name="ShopifyWebhooks", unit=MetricUnit.Count, value=1)
    return WebhookAck.model_validate(result)


def _record(
    order_id: str,
    fact: OrderFacts,
    request: Any,
    idempotency_key: str | None,
    customer: CustomerData | None = None,
) -> OrderView:
    merchant_id = principal(app).merchant_id
    idempotency = Idempotency(SCOPE, f"{order_id}:{idempotency_key}", request) if idempotency_key else None
    outcome = record_order_fact(
        container(), merchant_id, order_id, fact, now=utcnow(), customer=customer, idempotency=idempotency
    )
    return OrderView.of(outcome.view())


@app.post("/v1/orders", summary="Record an order (coins pending until paid)")
@requires(Scope.WRITE)
def create_order(
    body: Annotated[CreateOrderRequest, Body()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> OrderView:
    program_in_currency(container(), principal(app).merchant_id, body.currency, what="Orders are recorded")
    data = OrderData.model_validate(body.model_dump(exclude={"paid", "customer"}))
    customer = None
    if body.customer_id:
        names = body.customer.model_dump() if body.customer else {}
        customer = CustomerData(customer_id=body.customer_id, email=body.email, phone=body.phone, **names)
    fact = OrderFacts(data=data, paid=body.paid)
    return _record(body.order_id, fact, body.model_dump(mode="json"), idempotency_key, customer)


@app.post("/v1/orders/<order_id>/paid", summary="Mark an order paid (credits its coins)")
@requires(Scope.WRITE)
def order_paid(
    order_id: Annotated[ExternalId, Path()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> OrderView:
    return _record(order_id, OrderFacts(paid=True), {"paid": order_id}, idempotency_key)


@app.post("/v1/orders/<order_id>/cancel", summary="Cancel an order (reverses what it credited or held)")
@requires(Scope.WRITE)
def order_cancelled(
    order_id: Annotated[ExternalId, Path()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> OrderView:
    return _record(order_id, OrderFacts(cancelled=True), {"cancel": order_id}, idempotency_key)


@app.post("/v1/orders/<order_id>/refunds", summary="Refund part of an order (claws back its share of coins)")
@requires(Scope.WRITE)
def order_refunded(
    order_id: Annotated[ExternalId, Path()],
    body: Annotated[RefundRequest, Body()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> OrderView:
    refund = Refund(refund_id=body.refund_id, lines=body.lines)
    fact = OrderFacts(refunds={refund.refund_id: refund})
    return _record(order_id, fact, body.model_dump(mode="json"), idempotency_key)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
