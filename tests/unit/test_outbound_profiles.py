"""What the marketing tools receive beyond the event: profile properties, fitted fields, values,
and Omnisend's dated API beside its legacy endpoint (exact requests)."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from pollen.domain.integrations import IntegrationKind, OmnisendApi, PrimarySelector
from pollen.domain.profile import ProfileProperties
from pollen.domain.wallet import Wallet
from pollen.events.catalogue import sample_event
from pollen.integrations.outbound import Attempt, deliver, outbound_client
from tests.support.integrations import NOW, OMNISEND_KEY, Peer, customer, integration, wallet_event

PROFILE = ProfileProperties(
    balance=420,
    pending=30,
    lifetime_earned=1500,
    next_expiry_coins=120,
    next_expiry_date=date(2027, 3, 2),
)


def _send(
    peer: Peer, kind: IntegrationKind, *, profile: ProfileProperties | None = PROFILE, **changes: object
) -> Attempt:
    with outbound_client(peer.transport()) as client:
        return deliver(
            client, integration(kind, **changes), wallet_event(), name_prefix="", now=NOW, profile=profile
        )


def test_profile_properties_come_from_the_wallet() -> None:
    wallet = Wallet(
        customer_id="c-42",
        balance=420,
        pending=30,
        lifetime_earned=1500,
        lots={"2027-05-01": 200, "2027-03-02": 120, "never": 100},
    )
    assert ProfileProperties.of(wallet) == PROFILE
    assert ProfileProperties.of(Wallet(customer_id="c-1")).named("") == {
        "balance": 0,
        "pending": 0,
        "lifetime_earned": 0,
    }  # nothing expiring: the keys are left out, so the tool keeps no stale date


def test_klaviyo_stores_the_profile_properties_on_the_profile() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    assert _send(peer, IntegrationKind.KLAVIYO, profile_property_prefix="pollen_").outcome == "delivered"
    profile = peer.json()["data"]["attributes"]["profile"]["data"]["attributes"]
    assert profile["external_id"] == "c-42"
    assert profile["properties"] == {
        "pollen_balance": 420,
        "pollen_pending": 30,
        "pollen_lifetime_earned": 1500,
        "pollen_next_expiry_coins": 120,
        "pollen_next_expiry_date": "2027-03-02",
    }


def test_omnisend_dated_api_request_with_custom_properties() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    attempt = _send(peer, IntegrationKind.OMNISEND, omnisend_api=OmnisendApi.V2026_03_15)
    assert attempt.outcome == "delivered"
    request = peer.only
    assert str(request.url) == "https://api.omnisend.com/api/events"
    assert request.headers["authorization"] == f"Omnisend-API-Key {OMNISEND_KEY}"
    assert request.headers["omnisend-version"] == "2026-03-15"
    assert "x-api-key" not in request.headers
    contact = json.loads(request.content)["contact"]
    assert contact == {
        "email": "jon@example.com",
        "firstName": "Jon",
        "lastName": "Doe",
        "customProperties": {
            "balance": 420,
            "pending": 30,
            "lifetime_earned": 1500,
            "next_expiry_coins": 120,
            "next_expiry_date": "2027-03-02",
        },
    }


def test_omnisend_legacy_key_keeps_the_v5_endpoint() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    _send(peer, IntegrationKind.OMNISEND, omnisend_api=OmnisendApi.V5)
    assert str(peer.only.url) == "https://api.omnisend.com/v5/events"
    assert peer.only.headers["x-api-key"] == OMNISEND_KEY


def test_omnisend_names_are_truncated_to_its_limit_not_refused() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    long_name = "Maximiliane-Alexandrina " * 4  # 96 characters
    with outbound_client(peer.transport()) as client:
        attempt = deliver(
            client,
            integration(IntegrationKind.OMNISEND),
            wallet_event(first_name=long_name[:80], last_name=long_name),
            name_prefix="",
            now=NOW,
        )
    assert attempt.outcome == "delivered"
    contact = peer.json()["contact"]
    assert contact["firstName"] == long_name[:50]
    assert contact["lastName"] == long_name[:50]


def test_omnisend_phone_longer_than_its_limit_is_skipped_with_the_reason() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    with outbound_client(peer.transport()) as client:
        attempt = deliver(
            client,
            integration(IntegrationKind.OMNISEND, primary_selector=PrimarySelector.MOBILE),
            wallet_event(phone="+123456789012345"),  # 15 digits: 16 characters with the plus
            name_prefix="",
            now=NOW,
        )
    assert attempt.outcome == "skipped"
    assert attempt.error is not None
    assert "15 characters" in attempt.error
    assert peer.requests == []


@pytest.mark.parametrize(
    ("event_type", "value"),
    [("coupon_created", 5.0), ("coupon_used", 5.0)],
)
def test_klaviyo_coupon_events_carry_a_numeric_value_and_currency(event_type: str, value: float) -> None:
    peer = Peer(lambda request: httpx.Response(202))
    event = sample_event(event_type, "demo-store", customer(), NOW)
    with outbound_client(peer.transport()) as client:
        deliver(client, integration(IntegrationKind.KLAVIYO), event, name_prefix="", now=NOW)
    attributes = peer.json()["data"]["attributes"]
    assert attributes["value"] == value
    assert attributes["value_currency"] == "USD"
    assert b'"value":5.0' in peer.only.content or b'"value": 5.0' in peer.only.content  # a number


def test_klaviyo_events_without_money_have_no_value() -> None:
    peer = Peer(lambda request: httpx.Response(202))
    _send(peer, IntegrationKind.KLAVIYO)
    assert "value" not in peer.json()["data"]["attributes"]
