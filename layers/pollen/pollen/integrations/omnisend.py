"""Omnisend events API: the dated API (``POST https://api.omnisend.com/api/events``,
``Authorization: Omnisend-API-Key …``, ``Omnisend-Version: 2026-03-15``) for new integrations, the
legacy v5 endpoint (``/v5/events``, ``X-API-KEY``) for integrations stored before; one body for both.

Reference: https://api-docs.omnisend.com/reference/post_events (schema version 2026-03-15) and the
guide https://api-docs.omnisend.com/docs/how-to-send-events-rest-api. A custom event: ``eventName``
(prefix + display name), ``origin: "api"``, no ``eventVersion``, ``contact`` by ``email`` or
``phone`` (E.164) per the primary selector, with the customer's Pollen profile properties in
``customProperties`` (stored on the contact), ``properties``, ``eventTime`` (RFC 3339) and
``eventID`` (a UUIDv5 of the Pollen event id and the event name, the same on every retry).

Omnisend drops duplicates by ``eventID`` + ``eventTime`` for historical events only, "not real-time
events used for automations": a retry of a request Omnisend had in fact accepted can send the
customer the same email or SMS twice. So a timeout after the request was fully sent is not retried
blindly (see :mod:`pollen.integrations.outbound`, outcome ``uncertain``). Contact fields are fitted to
the schema's limits (names ≤ 50 characters, phone ≤ 15) instead of being refused with a 400.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from pollen.clock import isoformat
from pollen.domain.integrations import Integration, OmnisendApi, PrimarySelector
from pollen.domain.profile import ProfileProperties
from pollen.events.envelope import OutboxEvent
from pollen.integrations.event_request import Skip, customer_of, event_properties, identifier

URL = "https://api.omnisend.com/api/events"
VERSION = "2026-03-15"
LEGACY_URL = "https://api.omnisend.com/v5/events"
ORIGIN = "api"
NAME_MAX = 50  # contact.firstName / lastName maxLength in the 2026-03-15 schema
PHONE_MAX = 15  # contact.phone maxLength
EVENT_ID_NAMESPACE = uuid.UUID("6f0f3c1e-52a4-4c1b-9d7e-3b8a1f6c2d90")  # Pollen's; never change it


def event_uuid(event_id: str, name: str) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{event_id}:{name}"))


def body(
    integration: Integration, event: OutboxEvent, *, name: str, profile: ProfileProperties | None = None
) -> dict[str, Any]:
    selector, value = identifier(integration, event)
    if selector == PrimarySelector.MOBILE and len(value) > PHONE_MAX:
        raise Skip(f"the customer's phone number is longer than Omnisend's {PHONE_MAX} characters")
    customer = customer_of(event)
    contact: dict[str, Any] = {"email": value} if selector == PrimarySelector.EMAIL else {"phone": value}
    if customer.get("first_name"):
        contact["firstName"] = str(customer["first_name"])[:NAME_MAX]
    if customer.get("last_name"):
        contact["lastName"] = str(customer["last_name"])[:NAME_MAX]
    if profile is not None:
        contact["customProperties"] = profile.named(integration.profile_property_prefix)
    return {
        "eventName": name,
        "eventID": event_uuid(event.event_id, name),
        "eventTime": isoformat(event.occurred_at),
        "origin": ORIGIN,
        "contact": contact,
        "properties": event_properties(event),
    }


def build_request(
    client: httpx.Client,
    integration: Integration,
    event: OutboxEvent,
    *,
    name: str,
    profile: ProfileProperties | None = None,
) -> httpx.Request:
    content = {"accept": "application/json", "content-type": "application/json"}
    if integration.omnisend_endpoint == OmnisendApi.V5:
        url, headers = LEGACY_URL, {"X-API-KEY": str(integration.api_key), **content}
    else:
        auth = f"Omnisend-API-Key {integration.api_key}"
        url, headers = URL, {"Authorization": auth, "Omnisend-Version": VERSION, **content}
    return client.build_request(
        "POST", url, json=body(integration, event, name=name, profile=profile), headers=headers
    )
