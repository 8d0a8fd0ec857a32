"""Test events: a sample of a subscription's event, about a real customer, sent at once.

The merchant names the customer by email or mobile number; the customer must exist in the store
(the event carries their profile, as a real one would). The sample goes through the same
:func:`~pollen.integrations.outbound.deliver` as real deliveries, synchronously and once (no retry,
no DLQ), and is logged as a test delivery. It is sent even when the integration or the events switch
is off: the merchant asked for it explicitly, typically while setting things up.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from pollen.domain.customers import Customer
from pollen.domain.deliveries import DeliveryStatus
from pollen.domain.errors import FieldError, NotFound, ValidationFailed
from pollen.events.catalogue import sample_event
from pollen.events.delivery import DeliveryMessage
from pollen.integrations.outbound import Attempt, deliver
from pollen.services.container import Container
from pollen.services.delivery import attempt_log
from pollen.services.routing import merchant_events
from pollen.storage.customers import CustomerStore
from pollen.storage.keys import phone_digits

_STATUS = {"delivered": DeliveryStatus.DELIVERED, "skipped": DeliveryStatus.SKIPPED}


class SentTestEvent(Attempt):
    """The attempt, and what was sent."""

    delivery_id: str = Field(description="Find it in GET /v1/admin/deliveries (marked test).")
    event_id: str
    event_type: str


def find_customer(c: Container, merchant_id: str, *, email: str | None, mobile: str | None) -> Customer:
    """The store's customer with this email or mobile number; 404 when there is none."""
    store = CustomerStore(c.table)
    if email is not None:
        customer_id = store.customer_id_for_email(merchant_id, email)
    else:
        customer_id = store.customer_id_for_phone(merchant_id, mobile or "")
    record = store.get(merchant_id, customer_id, consistent=False) if customer_id else None
    if record is not None:
        found = record.customer
        # A link outlives a change of email/phone: only the customer who has it now matches.
        if email is not None and (found.email or "").lower() == email.strip().lower():
            return found
        if mobile is not None and found.phone and phone_digits(found.phone) == phone_digits(mobile):
            return found
    field = "email" if email is not None else "mobile"
    raise NotFound(f"No customer of this store has this {field}.")


def send_test_event(
    c: Container,
    merchant_id: str,
    subscription_id: str,
    *,
    email: str | None,
    mobile: str | None,
    now: datetime,
) -> SentTestEvent:
    if (email is None) == (mobile is None):
        detail = "Give exactly one of email and mobile."
        field = "email" if email is None else "mobile"
        raise ValidationFailed(detail, errors=[FieldError(field, detail, "exactly_one")])
    c.config.invalidate(merchant_id)  # the merchant may have just created the subscription elsewhere
    config = merchant_events(c, merchant_id)
    subscription = next(
        (s for s in (config.subscriptions if config else []) if s.subscription_id == subscription_id), None
    )
    if config is None or subscription is None:
        raise NotFound("No event subscription with this id.")
    integration = config.integrations.get(subscription.integration_id)
    if integration is None:
        raise NotFound("The subscription's integration no longer exists.")
    customer = find_customer(c, merchant_id, email=email, mobile=mobile)
    event = sample_event(subscription.event, merchant_id, customer, now)
    attempt = deliver(c.http.client, integration, event, name_prefix=subscription.name_prefix, now=now)
    message = DeliveryMessage.for_route(event, subscription_id, integration.integration_id, routed_at=now)
    status = _STATUS.get(attempt.outcome, DeliveryStatus.FAILED)
    c.deliveries.record_test(message, attempt_log(1, attempt, now), status, now=now)
    return SentTestEvent(
        **attempt.model_dump(),
        delivery_id=message.delivery_id,
        event_id=event.event_id,
        event_type=event.event_type,
    )
