"""Omnisend events API v5 (``POST https://api.omnisend.com/v5/events``, ``X-API-KEY``).

Reference: https://api-docs.omnisend.com/reference/post_events and the guide
https://api-docs.omnisend.com/docs/how-to-send-events-rest-api. A custom event: ``eventName``
(prefix + display name), ``origin: "api"``, no ``eventVersion``, ``contact`` by ``email`` or
``phone`` (E.164) per the primary selector, ``properties``, ``eventTime`` (RFC 3339) and ``eventID``.
Omnisend wants a UUID there, so it is a UUIDv5 of the Pollen event id and the event name: the same
on every retry of one delivery, which (with ``eventTime``) lets Omnisend drop duplicates. Success is
``202 Accepted``. (Omnisend's dated 2026 API moves this to ``/api/events`` with an
``Authorization: Omnisend-API-Key`` header; v5 keys and URL keep working.)
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from pollen.clock import isoformat
from pollen.domain.integrations import Integration, PrimarySelector
from pollen.events.envelope import OutboxEvent
from pollen.integrations.event_request import customer_of, event_properties, identifier

URL = "https://api.omnisend.com/v5/events"
ORIGIN = "api"
EVENT_ID_NAMESPACE = uuid.UUID("6f0f3c1e-52a4-4c1b-9d7e-3b8a1f6c2d90")  # Pollen's; never change it


def event_uuid(event_id: str, name: str) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{event_id}:{name}"))


def body(integration: Integration, event: OutboxEvent, *, name: str) -> dict[str, Any]:
    selector, value = identifier(integration, event)
    customer = customer_of(event)
    contact: dict[str, Any] = {"email": value} if selector == PrimarySelector.EMAIL else {"phone": value}
    if customer.get("first_name"):
        contact["firstName"] = customer["first_name"]
    if customer.get("last_name"):
        contact["lastName"] = customer["last_name"]
    return {
        "eventName": name,
        "eventID": event_uuid(event.event_id, name),
        "eventTime": isoformat(event.occurred_at),
        "origin": ORIGIN,
        "contact": contact,
        "properties": event_properties(event),
    }


def build_request(
    client: httpx.Client, integration: Integration, event: OutboxEvent, *, name: str
) -> httpx.Request:
    return client.build_request(
        "POST",
        URL,
        json=body(integration, event, name=name),
        headers={
            "X-API-KEY": str(integration.api_key),
            "accept": "application/json",
            "content-type": "application/json",
        },
    )
