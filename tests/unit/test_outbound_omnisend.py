"""Omnisend events API: the exact request Omnisend receives, and what its answers mean."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from pollen.domain.integrations import IntegrationKind, PrimarySelector
from pollen.events.catalogue import sample_event
from pollen.integrations import omnisend
from pollen.integrations.outbound import Attempt, deliver, outbound_client
from tests.support.integrations import EVENT_ID, NOW, OMNISEND_KEY, Peer, customer, integration, wallet_event


def _deliver(
    peer: Peer, *, selector: PrimarySelector = PrimarySelector.EMAIL, prefix: str = "", **customer: Any
) -> Attempt:
    with outbound_client(peer.transport()) as client:
        return deliver(
            client,
            integration(IntegrationKind.OMNISEND, primary_selector=selector),
            wallet_event("adjust", "debit", **customer),
            name_prefix=prefix,
            now=NOW,
        )


def test_omnisend_receives_a_custom_event_by_email() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    attempt = _deliver(peer, prefix="Shop: ")
    assert attempt.outcome == "delivered"
    assert attempt.http_status == 202

    request = peer.only
    assert request.method == "POST"
    assert str(request.url) == "https://api.omnisend.com/v5/events"
    assert request.headers["x-api-key"] == OMNISEND_KEY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers
    expected_id = str(uuid.uuid5(omnisend.EVENT_ID_NAMESPACE, f"{EVENT_ID}:Shop: Wallet Coins Adjusted"))
    assert json.loads(request.content) == {
        "eventName": "Shop: Wallet Coins Adjusted",
        "eventID": expected_id,
        "eventTime": "2026-03-02T09:29:58.125Z",
        "origin": "api",
        "contact": {"email": "jon@example.com", "firstName": "Jon", "lastName": "Doe"},
        "properties": {
            "transaction_id": "01JNF3Z8X6Q4M2V7T9K1R5W3YC",
            "transaction_type": "adjust",
            "operation": "debit",
            "coins": 120,
            "balance_after": 420,
            "source": "order",
            "reference": "1001",
            "expires_on": "2027-03-02",
            "note": None,
            "pending": 0,
            "customer_id": "c-42",
            "event_id": EVENT_ID,
            "event_type": "wallet_transaction",
        },
    }


def test_the_event_id_is_a_stable_uuid_per_event_and_name() -> None:
    first = omnisend.event_uuid(EVENT_ID, "Wallet Coins Rewarded")
    assert first == omnisend.event_uuid(EVENT_ID, "Wallet Coins Rewarded")  # retries dedupe
    assert uuid.UUID(first).version == 5
    assert first != omnisend.event_uuid(EVENT_ID, "VIP Wallet Coins Rewarded")  # another subscription


def test_omnisend_contact_by_mobile() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    attempt = _deliver(peer, selector=PrimarySelector.MOBILE, first_name=None, phone="+44 20 3123 7300")
    assert attempt.outcome == "delivered"
    assert peer.json()["contact"] == {"phone": "+442031237300", "lastName": "Doe"}


def test_coupon_event_properties_keep_decimal_strings() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    with outbound_client(peer.transport()) as client:
        event = sample_event("coupon_created", "m1", customer(), NOW)
        attempt = deliver(client, integration(IntegrationKind.OMNISEND), event, name_prefix="", now=NOW)
    assert attempt.outcome == "delivered"
    sent = peer.json()
    assert sent["eventName"] == "Coupon Is Created"
    assert sent["properties"]["value"] == "5.00"
    assert sent["properties"]["code"] == "TEST-5OFF-0000"


@pytest.mark.parametrize(
    ("selector", "customer"),
    [(PrimarySelector.EMAIL, {"email": None}), (PrimarySelector.MOBILE, {"phone": None})],
)
def test_a_customer_without_the_selected_field_is_skipped(
    selector: PrimarySelector, customer: dict[str, Any]
) -> None:
    peer = Peer()
    attempt = _deliver(peer, selector=selector, **customer)
    assert attempt.outcome == "skipped"
    assert peer.requests == []


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(202, "delivered"), (400, "permanent"), (401, "permanent"), (404, "permanent"), (422, "permanent"),
     (429, "retry"), (500, "retry"), (504, "retry")],
)  # fmt: skip
def test_omnisend_answers_are_classified(status: int, outcome: str) -> None:
    attempt = _deliver(Peer(lambda request: httpx.Response(status, json={"error": "x", "fields": {}})))
    assert (attempt.outcome, attempt.http_status) == (outcome, status)
