"""Shopify webhooks: verify, find the merchant, dispatch each topic onto the ordinary order path.

Unknown shop and bad signature get the same 401, so a caller learns nothing about which shops
exist. The body is parsed only after the signature checks out.

A signed webhook whose content Pollen cannot use (not JSON, a field missing, an order in another
currency than the program's) is answered 200 and kept in the rejected-webhooks log with the reason,
with a ``ShopifyWebhooksRejected`` metric (alarmed): Shopify retries a 4xx and then deletes an
API-created subscription after repeated failures, which would silently stop the store earning.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from pollen.domain.errors import (
    DomainError,
    FieldError,
    InvalidRequest,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from pollen.domain.orders import OrderFacts
from pollen.domain.triggers import TriggerDisabled, TriggerNotAllowed
from pollen.domain.values import value
from pollen.ids import new_ulid
from pollen.integrations.shopify import webhooks as shopify
from pollen.json_depth import MAX_JSON_DEPTH, json_depth
from pollen.model import BaseModel
from pollen.observability import logger, metrics
from pollen.services.container import Container
from pollen.services.customers import upsert_customer
from pollen.services.idempotency import Idempotency
from pollen.services.orders import record_order_fact
from pollen.services.program import get_program
from pollen.services.triggers import award_trigger
from pollen.storage.rejected_webhooks import RejectedWebhook, RejectedWebhookLog

SIGNUP_TRIGGER = "signup"


@value
class Delivery:
    """One webhook request as Shopify sent it."""

    shop_domain: str | None
    topic: str | None
    webhook_id: str | None
    hmac: str | None
    body: bytes


def _verified_merchant(c: Container, delivery: Delivery) -> str:
    refusal = Unauthenticated("The webhook signature could not be verified.")
    merchant_id = c.config.merchant_for_shop(delivery.shop_domain or "")
    if merchant_id is None:
        raise refusal
    config = c.config.get(merchant_id)
    if config is None or config.shopify is None:
        raise refusal
    if not shopify.verify_hmac(config.shopify.webhook_secret, delivery.body, delivery.hmac):
        raise refusal
    return merchant_id


def _payload(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest("The webhook body is not valid JSON (or nests too deep).") from exc
    if not isinstance(value, dict):
        raise InvalidRequest("The webhook body must be a JSON object.")
    if json_depth(value) > MAX_JSON_DEPTH:
        raise InvalidRequest(f"The webhook body nests more than {MAX_JSON_DEPTH} levels deep.")
    return value


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], payload: dict[str, Any]) -> M:
    """The payload as ``model``; a missing or invalid field is a 422 naming it (Shopify will not
    retry a 4xx forever, and the log says which field)."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]), e["msg"], e["type"])
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise ValidationFailed(
            "The webhook payload has invalid fields; see `errors`.", errors=errors
        ) from exc


class CurrencyMismatch(ValidationFailed):
    """An order in another currency than the program's: crediting it at face value would be wrong."""

    slug = "currency-mismatch"

    def __init__(self, detail: str, *, order_id: str, errors: list[FieldError]) -> None:
        super().__init__(detail, errors=errors)
        self.order_id = order_id


def _reason(exc: DomainError) -> str:
    if isinstance(exc, CurrencyMismatch):
        return "currency_mismatch"
    return "invalid_json" if isinstance(exc, InvalidRequest) else "invalid_payload"


def handle(c: Container, delivery: Delivery, *, now: datetime) -> dict[str, Any]:
    """Process one delivery; the answer is logged and returned (Shopify only reads the status)."""
    merchant_id = _verified_merchant(c, delivery)
    topic = delivery.topic or ""
    try:
        return _dispatch(c, merchant_id, delivery, topic, now=now)
    except (InvalidRequest, ValidationFailed) as exc:
        return _reject(c, merchant_id, delivery, topic, exc, now=now)


def _reject(
    c: Container, merchant_id: str, delivery: Delivery, topic: str, exc: DomainError, *, now: datetime
) -> dict[str, Any]:
    reason = _reason(exc)
    entry = RejectedWebhook(
        entry_id=new_ulid(),
        topic=topic,
        webhook_id=delivery.webhook_id,
        reason=reason,
        detail=exc.detail,
        errors=[{"field": e.field, "message": e.message} for e in exc.errors],
        order_id=exc.order_id if isinstance(exc, CurrencyMismatch) else None,
        body_sha256=hashlib.sha256(delivery.body).hexdigest(),
        body_bytes=len(delivery.body),
        received_at=now,
    )
    RejectedWebhookLog(c.table).add(merchant_id, entry)
    metrics.add_metric(name="ShopifyWebhooksRejected", unit=MetricUnit.Count, value=1)
    logger.warning("shopify webhook rejected", extra={"reason": reason, "detail": exc.detail})
    return {"topic": topic, "rejected": True, "reason": reason, "detail": exc.detail}


def _dispatch(
    c: Container, merchant_id: str, delivery: Delivery, topic: str, *, now: datetime
) -> dict[str, Any]:
    payload = _payload(delivery.body)
    idempotency = (
        Idempotency("shopify-webhook", delivery.webhook_id, hashlib.sha256(delivery.body).hexdigest())
        if delivery.webhook_id
        else None
    )
    logger.append_keys(merchant_id=merchant_id, shopify_topic=topic, webhook_id=delivery.webhook_id)
    if topic in _PRIVACY_TOPICS:
        return {"topic": topic, **_privacy(c, merchant_id, topic, payload, now)}
    if _shop_redacted(c, merchant_id):
        logger.warning("webhook for a redacted shop acknowledged", extra={"topic": topic})
        return {"topic": topic, "ignored": True}
    if topic in {shopify.Topic.CUSTOMERS_CREATE, shopify.Topic.CUSTOMERS_UPDATE}:
        # A signed webhook proves the email: Shopify's own customer record (claims guest orders).
        customer = shopify.customer_data(_parse(shopify.ShopifyCustomer, payload))
        result = upsert_customer(c, merchant_id, customer, now=now, source="shopify", email_verified=True)
        if topic == shopify.Topic.CUSTOMERS_CREATE:
            _signup(c, merchant_id, customer.customer_id, now)  # also when an order created them first
        return {
            "topic": topic,
            "customer_id": customer.customer_id,
            "created": result.created,
            "claimed_orders": result.claimed_orders,
        }
    if topic in {shopify.Topic.ORDERS_CREATE, shopify.Topic.ORDERS_PAID, shopify.Topic.ORDERS_CANCELLED}:
        order = _parse(shopify.ShopifyOrder, payload)
        data = shopify.order_data(order)
        program = get_program(c, merchant_id)
        if data.currency != program.currency:
            raise CurrencyMismatch(
                f"Order {data.order_id} is in {data.currency}, the program in {program.currency}: "
                "it earns nothing rather than coins at face value. Connect a shop whose currency is "
                "the program's.",
                order_id=data.order_id,
                errors=[FieldError("currency", f"expected {program.currency}", "currency_mismatch")],
            )
        fact = OrderFacts(
            data=data,
            paid=shopify.is_paid(order, topic),
            cancelled=shopify.is_cancelled(order) or topic == shopify.Topic.ORDERS_CANCELLED,
        )
        hint = shopify.customer_data(order.customer) if order.customer else None
        outcome = record_order_fact(
            c,
            merchant_id,
            data.order_id,
            fact,
            now=now,
            customer=hint,
            delivery=idempotency,  # remembered in the order item: no receipt item
            source="shopify",
        )
        return {"topic": topic, **outcome.view(), "duplicate": outcome.duplicate}
    if topic == shopify.Topic.REFUNDS_CREATE:
        order_id, refund = shopify.refund_of(_parse(shopify.ShopifyRefund, payload))
        outcome = record_order_fact(
            c,
            merchant_id,
            order_id,
            OrderFacts(refunds={refund.refund_id: refund}),
            now=now,
            delivery=idempotency,  # remembered in the order item: no receipt item
            source="shopify",
        )
        return {"topic": topic, **outcome.view(), "duplicate": outcome.duplicate}
    return _other_topic(c, merchant_id, topic, payload, now)


def _other_topic(
    c: Container, merchant_id: str, topic: str, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """``orders/fulfilled`` schedules the order's review request (coins do not move); the rest is
    acknowledged and ignored."""
    if topic == shopify.Topic.ORDERS_FULFILLED:
        from pollen.services import review_requests  # noqa: PLC0415 - one topic: keep order webhooks lean

        order = _parse(shopify.ShopifyOrder, payload)
        hint = shopify.customer_data(order.customer) if order.customer else None
        return {"topic": topic, **review_requests.on_fulfilled(c, merchant_id, order, hint, now=now)}
    logger.warning("unhandled shopify topic acknowledged", extra={"topic": topic})
    return {"topic": topic, "ignored": True}


_PRIVACY_TOPICS = frozenset(
    {shopify.Topic.CUSTOMERS_DATA_REQUEST, shopify.Topic.CUSTOMERS_REDACT, shopify.Topic.SHOP_REDACT}
)


def _shop_redacted(c: Container, merchant_id: str) -> bool:
    config = c.config.get(merchant_id)
    return config is not None and config.shopify is not None and config.shopify.redacted_at is not None


def _privacy(
    c: Container, merchant_id: str, topic: str, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The mandatory privacy webhooks (:mod:`pollen.services.privacy`); each is idempotent."""
    from pollen.services import privacy  # noqa: PLC0415 - rare topics: keep order webhooks lean

    if topic == shopify.Topic.CUSTOMERS_DATA_REQUEST:
        return privacy.data_request(c, merchant_id, _parse(privacy.DataRequest, payload), now=now)
    if topic == shopify.Topic.CUSTOMERS_REDACT:
        return privacy.redact_customer(c, merchant_id, _parse(privacy.CustomerRedact, payload), now=now)
    _parse(privacy.ShopRedact, payload)
    return privacy.redact_shop(c, merchant_id, now=now)


def _signup(c: Container, merchant_id: str, customer_id: str, now: datetime) -> None:
    """The signup trigger, if the merchant defined one; its frequency keeps it exactly-once."""
    try:
        award_trigger(
            c,
            merchant_id,
            customer_id,
            SIGNUP_TRIGGER,
            now=now,
            idempotency=Idempotency("signup", customer_id, {"customer_id": customer_id}),
        )
    except (NotFound, TriggerNotAllowed, TriggerDisabled) as exc:
        logger.info("signup trigger not awarded", extra={"reason": type(exc).__name__})
