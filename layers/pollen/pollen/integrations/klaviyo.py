"""Klaviyo Create Event (``POST https://a.klaviyo.com/api/events``, JSON:API, revision 2026-01-15).

Reference: https://developers.klaviyo.com/en/reference/events_api_overview (Create Event). The
profile is identified by ``email`` or ``phone_number`` (E.164) per the primary selector, the metric
by name (prefix + display name), and ``unique_id`` is the Pollen event id so Klaviyo keeps one event
however often a delivery is retried. Success is ``202 Accepted``.

The profile also carries ``external_id`` (the Pollen customer id, so a phone-only profile stays
identifiable) and the customer's Pollen profile properties (balance, pending, next expiry...) in
``properties``, which Klaviyo stores on the profile. Coupon events set the event's ``value`` (a JSON
number) and ``value_currency`` so Klaviyo's revenue reporting sees them.
"""

from __future__ import annotations

from typing import Any

import httpx

from pollen.clock import isoformat
from pollen.domain.integrations import Integration, PrimarySelector
from pollen.domain.profile import ProfileProperties
from pollen.events.envelope import OutboxEvent
from pollen.integrations.event_request import customer_of, event_properties, identifier, json_number

URL = "https://a.klaviyo.com/api/events"
REVISION = "2026-01-15"
JSON_API = "application/vnd.api+json"


VALUE_FIELDS = {"coupon_created": "value", "coupon_used": "discount_amount"}  # event -> money field


def event_value(event: OutboxEvent) -> dict[str, Any]:
    """``value`` and ``value_currency`` for events that carry an amount of money (a percentage or
    free-shipping coupon has no currency, so no value)."""
    field = VALUE_FIELDS.get(event.event_type)
    amount, currency = event.payload.get(field) if field else None, event.payload.get("currency")
    if amount is None or not currency:
        return {}
    return {"value": json_number(amount), "value_currency": str(currency)}


def body(
    integration: Integration, event: OutboxEvent, *, name: str, profile: ProfileProperties | None = None
) -> dict[str, Any]:
    selector, value = identifier(integration, event)
    customer = customer_of(event)
    attributes: dict[str, Any] = (
        {"email": value} if selector == PrimarySelector.EMAIL else {"phone_number": value}
    )
    attributes["external_id"] = str(customer.get("customer_id", event.customer_id))
    for field in ("first_name", "last_name"):
        if customer.get(field):
            attributes[field] = customer[field]
    if profile is not None:
        attributes["properties"] = profile.named(integration.profile_property_prefix)
    return {
        "data": {
            "type": "event",
            "attributes": {
                "properties": event_properties(event),
                "time": isoformat(event.occurred_at),
                **event_value(event),
                "unique_id": event.event_id,
                "metric": {"data": {"type": "metric", "attributes": {"name": name}}},
                "profile": {"data": {"type": "profile", "attributes": attributes}},
            },
        }
    }


def build_request(
    client: httpx.Client,
    integration: Integration,
    event: OutboxEvent,
    *,
    name: str,
    profile: ProfileProperties | None = None,
) -> httpx.Request:
    """The request Klaviyo receives; :class:`~pollen.integrations.event_request.Skip` when the
    customer lacks the selected identifier."""
    return client.build_request(
        "POST",
        URL,
        json=body(integration, event, name=name, profile=profile),
        headers={
            "Authorization": f"Klaviyo-API-Key {integration.api_key}",
            "revision": REVISION,
            "accept": JSON_API,
            "content-type": JSON_API,
        },
    )
