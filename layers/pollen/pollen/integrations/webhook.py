"""Signed webhooks: the event as JSON, signed per Standard Webhooks (see :mod:`standard_webhooks`).

Body: ``{"type", "name", "event_id", "merchant_id", "timestamp", "data"}`` where ``type`` is the
catalogue name (``wallet_transaction``), ``name`` the prefixed display name and ``data`` the payload.
``webhook-id`` is the event id (receivers dedupe on it), ``webhook-timestamp`` the send time.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx

from pollen import __version__
from pollen.clock import isoformat
from pollen.domain.integrations import Integration
from pollen.events.envelope import OutboxEvent
from pollen.integrations.event_request import jsonable
from pollen.integrations.standard_webhooks import signature_headers


def body(event: OutboxEvent, *, name: str) -> dict[str, Any]:
    return {
        "type": event.event_type,
        "name": name,
        "event_id": event.event_id,
        "merchant_id": event.merchant_id,
        "timestamp": isoformat(event.occurred_at),
        "data": jsonable(event.payload),
    }


def build_request(
    client: httpx.Client, integration: Integration, event: OutboxEvent, *, name: str, now: datetime
) -> httpx.Request:
    content = json.dumps(body(event, name=name), separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": f"Pollen-Webhooks/{__version__}",
        **signature_headers(str(integration.secret), event.event_id, int(now.timestamp()), content),
    }
    return client.build_request("POST", str(integration.url), content=content, headers=headers)
