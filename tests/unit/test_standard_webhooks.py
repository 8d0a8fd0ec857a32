"""Standard Webhooks signing, checked against the spec's published vector, and the webhook request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest

from pollen.domain.integrations import IntegrationKind, generate_webhook_secret
from pollen.integrations.outbound import deliver, outbound_client
from pollen.integrations.standard_webhooks import InvalidSignature, sign, signature_headers, verify
from tests.support.integrations import EVENT_ID, NOW, WEBHOOK_SECRET, Peer, integration, wallet_event

# The example of the Standard Webhooks spec (and every reference library's test suite).
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_reproduces_the_spec_vector() -> None:
    assert sign(WEBHOOK_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_sign_is_hmac_sha256_of_id_timestamp_body_with_the_decoded_key() -> None:
    secret = generate_webhook_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, b"evt_1.1700000000.{}", hashlib.sha256).digest()
    assert sign(secret, "evt_1", 1700000000, b"{}") == "v1," + base64.b64encode(digest).decode()


def test_verify_accepts_the_vector_among_other_signatures_and_within_tolerance() -> None:
    headers = {
        "Webhook-Id": VECTOR_ID,
        "Webhook-Timestamp": str(VECTOR_TIMESTAMP),
        "Webhook-Signature": f"v1,bm9wZQ== v2,whatever {VECTOR_SIGNATURE}",
    }
    verify(WEBHOOK_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 299)


@pytest.mark.parametrize(
    ("change", "now"),
    [
        ({}, VECTOR_TIMESTAMP + 301),  # too old
        ({}, VECTOR_TIMESTAMP - 301),  # from the future
        ({"webhook-id": "msg_other"}, VECTOR_TIMESTAMP),
        ({"webhook-timestamp": str(VECTOR_TIMESTAMP + 1)}, VECTOR_TIMESTAMP),
        ({"webhook-timestamp": "soon"}, VECTOR_TIMESTAMP),
        ({"webhook-signature": "v1,bm9wZQ=="}, VECTOR_TIMESTAMP),
        ({"webhook-signature": VECTOR_SIGNATURE.replace("v1,", "v2,")}, VECTOR_TIMESTAMP),
        ({"webhook-signature": ""}, VECTOR_TIMESTAMP),
    ],
)
def test_verify_refuses_anything_else(change: dict[str, str], now: int) -> None:
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
        **change,
    }
    with pytest.raises(InvalidSignature):
        verify(WEBHOOK_SECRET, headers, VECTOR_BODY, now=now)


def test_verify_refuses_a_changed_body_or_another_secret() -> None:
    headers = signature_headers(WEBHOOK_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    verify(WEBHOOK_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)
    with pytest.raises(InvalidSignature):
        verify(WEBHOOK_SECRET, headers, b'{"test": 2432232315}', now=VECTOR_TIMESTAMP)
    with pytest.raises(InvalidSignature):
        verify(generate_webhook_secret(), headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_the_webhook_request_is_signed_json_a_receiver_can_verify() -> None:
    peer = Peer(lambda request: httpx.Response(204))
    with outbound_client(peer.transport()) as client:
        attempt = deliver(
            client, integration(IntegrationKind.WEBHOOK), wallet_event(), name_prefix="VIP ", now=NOW
        )
    assert (attempt.outcome, attempt.http_status) == ("delivered", 204)
    request = peer.only
    assert request.method == "POST"
    assert str(request.url) == "https://hooks.example.com/pollen?src=1"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == EVENT_ID
    assert request.headers["webhook-timestamp"] == str(int(NOW.timestamp())) == "1772443800"
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    content = f"{EVENT_ID}.1772443800.".encode() + request.content
    expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert request.headers["webhook-signature"] == expected
    verify(WEBHOOK_SECRET, dict(request.headers), request.content, now=int(NOW.timestamp()))

    body = json.loads(request.content)
    assert body == {
        "type": "wallet_transaction",
        "name": "VIP Wallet Coins Rewarded",
        "event_id": EVENT_ID,
        "merchant_id": "demo-store",
        "timestamp": "2026-03-02T09:29:58.125Z",
        "data": wallet_event().payload,
    }


def test_webhooks_are_never_skipped_for_a_customer_without_email_or_phone() -> None:
    peer = Peer(lambda request: httpx.Response(200))
    with outbound_client(peer.transport()) as client:
        event = wallet_event(email=None, phone=None)
        attempt = deliver(client, integration(IntegrationKind.WEBHOOK), event, name_prefix="", now=NOW)
    assert attempt.outcome == "delivered"
    assert json.loads(peer.only.content)["data"]["customer"] == {
        "customer_id": "c-42",
        "email": None,
        "phone": None,
        "first_name": "Jon",
        "last_name": "Doe",
    }
