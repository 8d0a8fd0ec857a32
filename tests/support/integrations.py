"""Integrations, events and a recording HTTP peer for the outbound tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from pollen.domain.customers import Customer
from pollen.domain.integrations import Integration, IntegrationKind, PrimarySelector
from pollen.events.envelope import OutboxEvent

NOW = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)
OCCURRED = datetime(2026, 3, 2, 9, 29, 58, 125000, tzinfo=UTC)
EVENT_ID = "01JNF3Z8X6Q4M2V7T9K1R5W3YB"
KLAVIYO_KEY = "pk_live_0123456789abcdef0123456789abcd"
OMNISEND_KEY = "61f2748bc26ea0123456789a-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmn"
# The Standard Webhooks spec's example secret (24 bytes once decoded).
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def customer(**changes: Any) -> Customer:
    fields: dict[str, Any] = {
        "customer_id": "c-42",
        "email": "jon@example.com",
        "phone": "+16135551111",
        "first_name": "Jon",
        "last_name": "Doe",
        "created_at": OCCURRED,
        "updated_at": OCCURRED,
        "source": "shopify",
    }
    fields.update(changes)
    return Customer(**fields)


def customer_fields(**changes: Any) -> dict[str, Any]:
    return customer(**changes).model_dump(
        mode="json", include={"customer_id", "email", "phone", "first_name", "last_name"}
    )


def wallet_event(
    transaction_type: str = "reward", operation: str = "credit", **customer_changes: Any
) -> OutboxEvent:
    return OutboxEvent(
        event_id=EVENT_ID,
        event_type="wallet_transaction",
        merchant_id="demo-store",
        customer_id="c-42",
        occurred_at=OCCURRED,
        payload={
            "transaction_id": "01JNF3Z8X6Q4M2V7T9K1R5W3YC",
            "transaction_type": transaction_type,
            "operation": operation,
            "coins": 120,
            "balance_after": 420,
            "source": "order",
            "reference": "1001",
            "expires_on": "2027-03-02",
            "note": None,
            "pending": 0,
            "customer": customer_fields(**customer_changes),
        },
    )


def integration(kind: IntegrationKind, **changes: Any) -> Integration:
    fields: dict[str, Any] = {
        "integration_id": kind.value,
        "kind": kind,
        "enabled": True,
        "created_at": OCCURRED,
        "updated_at": OCCURRED,
    }
    if kind == IntegrationKind.WEBHOOK:
        fields |= {"url": "https://hooks.example.com/pollen?src=1", "secret": WEBHOOK_SECRET}
    else:
        fields |= {
            "api_key": KLAVIYO_KEY if kind == IntegrationKind.KLAVIYO else OMNISEND_KEY,
            "primary_selector": PrimarySelector.EMAIL,
        }
    fields.update(changes)
    return Integration(**fields)


@dataclass
class Peer:
    """An httpx.MockTransport that records requests and answers with ``respond``."""

    respond: Callable[[httpx.Request], httpx.Response] = field(
        default=lambda request: httpx.Response(202, json={})
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            return self.respond(request)

        return httpx.MockTransport(handle)

    @property
    def only(self) -> httpx.Request:
        assert len(self.requests) == 1, self.requests
        return self.requests[0]

    def json(self) -> Any:
        return json.loads(self.only.content)
