"""Klaviyo Create Event: the exact request Klaviyo receives, and what its answers mean."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pollen.domain.integrations import IntegrationKind, PrimarySelector
from pollen.integrations.outbound import Attempt, deliver, outbound_client
from tests.support.integrations import EVENT_ID, KLAVIYO_KEY, NOW, Peer, integration, wallet_event


def _deliver(
    peer: Peer, *, selector: PrimarySelector = PrimarySelector.EMAIL, prefix: str = "", **customer: Any
) -> Attempt:
    with outbound_client(peer.transport()) as client:
        return deliver(
            client,
            integration(IntegrationKind.KLAVIYO, primary_selector=selector),
            wallet_event(**customer),
            name_prefix=prefix,
            now=NOW,
        )


def test_klaviyo_receives_a_json_api_event_by_email() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    attempt = _deliver(peer, prefix="Pollen ")
    assert attempt.outcome == "delivered"
    assert attempt.http_status == 202
    assert attempt.error is None
    assert attempt.latency_ms >= 0

    request = peer.only
    assert request.method == "POST"
    assert str(request.url) == "https://a.klaviyo.com/api/events"
    assert request.headers["authorization"] == f"Klaviyo-API-Key {KLAVIYO_KEY}"
    assert request.headers["revision"] == "2026-01-15"
    assert request.headers["accept"] == "application/vnd.api+json"
    assert request.headers["content-type"] == "application/vnd.api+json"
    assert json.loads(request.content) == {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {
                    "transaction_id": "01JNF3Z8X6Q4M2V7T9K1R5W3YC",
                    "transaction_type": "reward",
                    "operation": "credit",
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
                "time": "2026-03-02T09:29:58.125Z",
                "unique_id": EVENT_ID,
                "metric": {
                    "data": {"type": "metric", "attributes": {"name": "Pollen Wallet Coins Rewarded"}}
                },
                "profile": {
                    "data": {
                        "type": "profile",
                        "attributes": {
                            "email": "jon@example.com",
                            "external_id": "c-42",
                            "first_name": "Jon",
                            "last_name": "Doe",
                        },
                    }
                },
            },
        }
    }


def test_klaviyo_profile_by_mobile_is_the_e164_number() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    assert (
        _deliver(peer, selector=PrimarySelector.MOBILE, phone="+1 (613) 555-1111", last_name=None).outcome
        == "delivered"
    )
    profile = peer.json()["data"]["attributes"]["profile"]["data"]["attributes"]
    assert profile == {"phone_number": "+16135551111", "external_id": "c-42", "first_name": "Jon"}


@pytest.mark.parametrize(
    ("selector", "customer", "reason"),
    [
        (PrimarySelector.EMAIL, {"email": None}, "no email"),
        (PrimarySelector.MOBILE, {"phone": None}, "no phone"),
        (PrimarySelector.MOBILE, {"phone": "613 555 1111"}, "E.164"),
    ],
)
def test_a_customer_without_the_selected_field_is_skipped(
    selector: PrimarySelector, customer: dict[str, Any], reason: str
) -> None:
    peer = Peer()
    attempt = _deliver(peer, selector=selector, **customer)
    assert attempt.outcome == "skipped"
    assert attempt.http_status is None
    assert reason in (attempt.error or "")
    assert peer.requests == []


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "delivered"), (202, "delivered"), (400, "permanent"), (401, "permanent"), (403, "permanent"),
     (404, "permanent"), (409, "permanent"), (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry")],
)  # fmt: skip
def test_klaviyo_answers_are_classified(status: int, outcome: str) -> None:
    body = {"errors": [{"status": status, "code": "invalid", "detail": "nope"}]}
    attempt = _deliver(Peer(lambda request: httpx.Response(status, json=body)))
    assert attempt.outcome == outcome
    assert attempt.http_status == status
    if outcome == "delivered":
        assert attempt.error is None
    else:
        assert attempt.error is not None
        assert attempt.error.startswith(f"HTTP {status}: ")
        assert '"detail":"nope"' in attempt.error
