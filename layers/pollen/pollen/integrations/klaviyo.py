"""Klaviyo Create Event (``POST https://a.klaviyo.com/api/events``, JSON:API, revision 2026-01-15).

Reference: https://developers.klaviyo.com/en/reference/events_api_overview (Create Event). The
profile is identified by ``email`` or ``phone_number`` (E.164) per the primary selector, the metric
by name (prefix + display name), and ``unique_id`` is the Pollen event id so Klaviyo keeps one event
however often a delivery is retried. Success is ``202 Accepted``.
"""

from __future__ import annotations

from typing import Any

import httpx

from pollen.clock import isoformat
from pollen.domain.integrations import Integration, PrimarySelector
from pollen.events.envelope import OutboxEvent
from pollen.integrations.event_request import customer_of, event_properties, identifier

URL = "https://a.klaviyo.com/api/events"
REVISION = "2026-01-15"
JSON_API = "application/vnd.api+json"


def body(integration: Integration, event: OutboxEvent, *, name: str) -> dict[str, Any]:
    selector, value = identifier(integration, event)
    customer = customer_of(event)
    profile: dict[str, Any] = (
        {"email": value} if selector == PrimarySelector.EMAIL else {"phone_number": value}
    )
    for field in ("first_name", "last_name"):
        if customer.get(field):
            profile[field] = customer[field]
    return {
        "data": {
            "type": "event",
            "attributes": {
                "properties": event_properties(event),
                "time": isoformat(event.occurred_at),
                "unique_id": event.event_id,
                "metric": {"data": {"type": "metric", "attributes": {"name": name}}},
                "profile": {"data": {"type": "profile", "attributes": profile}},
            },
        }
    }


def build_request(
    client: httpx.Client, integration: Integration, event: OutboxEvent, *, name: str
) -> httpx.Request:
    """The request Klaviyo receives; :class:`~pollen.integrations.event_request.Skip` when the
    customer lacks the selected identifier."""
    return client.build_request(
        "POST",
        URL,
        json=body(integration, event, name=name),
        headers={
            "Authorization": f"Klaviyo-API-Key {integration.api_key}",
            "revision": REVISION,
            "accept": JSON_API,
            "content-type": JSON_API,
        },
    )
