"""Checking a Klaviyo or Omnisend key when it is saved: the exact request, and what each answer means."""

from __future__ import annotations

import httpx
import pytest

from pollen.domain.integrations import IntegrationKind
from pollen.integrations.key_check import check_key
from pollen.integrations.outbound import outbound_client
from tests.support.integrations import KLAVIYO_KEY, OMNISEND_KEY, Peer, integration


def _check(kind: IntegrationKind, answer: httpx.Response | Exception) -> tuple[str, Peer]:
    def respond(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    peer = Peer(respond)
    with outbound_client(peer.transport()) as client:
        return check_key(client, integration(kind)).status, peer


def test_klaviyo_key_check_request() -> None:
    status, peer = _check(IntegrationKind.KLAVIYO, httpx.Response(200, json={"data": []}))
    assert status == "verified"
    request = peer.only
    assert (request.method, str(request.url)) == ("GET", "https://a.klaviyo.com/api/accounts")
    assert request.headers["authorization"] == f"Klaviyo-API-Key {KLAVIYO_KEY}"
    assert request.headers["revision"] == "2026-01-15"


def test_omnisend_key_check_request() -> None:
    status, peer = _check(IntegrationKind.OMNISEND, httpx.Response(200, json={"contacts": []}))
    assert status == "verified"
    assert str(peer.only.url) == "https://api.omnisend.com/v5/contacts?limit=1"
    assert peer.only.headers["x-api-key"] == OMNISEND_KEY


@pytest.mark.parametrize(
    ("kind", "answer", "expected"),
    [
        (IntegrationKind.KLAVIYO, httpx.Response(401), "rejected"),
        (IntegrationKind.KLAVIYO, httpx.Response(403), "verified"),  # a key, without accounts:read
        (IntegrationKind.OMNISEND, httpx.Response(401), "rejected"),
        (IntegrationKind.OMNISEND, httpx.Response(403), "rejected"),
        (IntegrationKind.KLAVIYO, httpx.Response(503), "unverified"),
        (IntegrationKind.OMNISEND, httpx.Response(429), "unverified"),
        (IntegrationKind.KLAVIYO, httpx.ConnectError("no network"), "unverified"),
        (IntegrationKind.OMNISEND, httpx.ReadTimeout("slow"), "unverified"),
    ],
)
def test_what_each_answer_means(
    kind: IntegrationKind, answer: httpx.Response | Exception, expected: str
) -> None:
    assert _check(kind, answer)[0] == expected
