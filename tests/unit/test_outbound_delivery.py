"""How :func:`deliver` classifies what happens to a request, whatever the integration."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest

from pollen.domain.integrations import IntegrationKind
from pollen.integrations import outbound
from pollen.integrations.outbound import Attempt, _Deadline, deliver, outbound_client, retry_after_seconds
from tests.support.integrations import NOW, Peer, integration, wallet_event

KINDS = [IntegrationKind.KLAVIYO, IntegrationKind.OMNISEND, IntegrationKind.WEBHOOK]


def _deliver(peer: Peer, kind: IntegrationKind = IntegrationKind.WEBHOOK) -> Attempt:
    with outbound_client(peer.transport()) as client:
        return deliver(client, integration(kind), wallet_event(), name_prefix="", now=NOW)


def _raise(exc: Exception) -> Peer:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc

    return Peer(respond)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.PoolTimeout("timed out"),
    ],
)
def test_timeouts_are_retried(kind: IntegrationKind, exc: Exception) -> None:
    attempt = _deliver(_raise(exc), kind)
    sent_to_omnisend = kind == IntegrationKind.OMNISEND and isinstance(exc, httpx.ReadTimeout)
    assert attempt.outcome == ("uncertain" if sent_to_omnisend else "retry")
    assert attempt.http_status is None
    assert attempt.error is not None
    assert attempt.error.startswith(f"timeout ({type(exc).__name__})")
    assert attempt.retry_after_seconds is None


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed"),
        httpx.ReadError("reset"),
    ],
)
def test_transport_errors_are_retried(exc: Exception) -> None:
    attempt = _deliver(_raise(exc))
    assert attempt.outcome == "retry"
    assert attempt.error == f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("peer closed")])
def test_omnisend_sent_but_unanswered_is_uncertain_not_retried(exc: Exception) -> None:
    """Omnisend drops duplicate real-time events only for historical imports: a blind retry of a
    request it had accepted would email the customer twice."""
    attempt = _deliver(_raise(exc), IntegrationKind.OMNISEND)
    assert attempt.outcome == "uncertain"
    for dedupes in (IntegrationKind.KLAVIYO, IntegrationKind.WEBHOOK):
        assert _deliver(_raise(exc), dedupes).outcome == "retry"


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout("timed out"), httpx.ConnectError("refused")])
def test_omnisend_never_reached_is_retried(exc: Exception) -> None:
    assert _deliver(_raise(exc), IntegrationKind.OMNISEND).outcome == "retry"


def test_an_unsupported_url_is_permanent() -> None:
    attempt = _deliver(_raise(httpx.UnsupportedProtocol("Request URL has an unsupported protocol")))
    assert attempt.outcome == "permanent"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "delivered"),
        (201, "delivered"),
        (202, "delivered"),
        (204, "delivered"),
        (301, "permanent"),  # redirects are not followed
        (400, "permanent"),
        (401, "permanent"),
        (403, "permanent"),
        (404, "permanent"),
        (410, "permanent"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
    ],
)
def test_status_classification(kind: IntegrationKind, status: int, outcome: str) -> None:
    peer = Peer(lambda request: httpx.Response(status, headers={"location": "https://elsewhere.example"}))
    attempt = _deliver(peer, kind)
    assert (attempt.outcome, attempt.http_status) == (outcome, status)
    assert len(peer.requests) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds(status: int) -> None:
    attempt = _deliver(Peer(lambda request: httpx.Response(status, headers={"Retry-After": "120"})))
    assert attempt.outcome == "retry"
    assert attempt.retry_after_seconds == 120.0


def test_retry_after_as_an_http_date() -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert later == "Mon, 02 Mar 2026 09:31:30 GMT"
    attempt = _deliver(Peer(lambda request: httpx.Response(429, headers={"Retry-After": later})))
    assert attempt.retry_after_seconds == 90.0


def test_retry_after_is_only_read_from_429_and_503() -> None:
    attempt = _deliver(Peer(lambda request: httpx.Response(500, headers={"Retry-After": "30"})))
    assert (attempt.outcome, attempt.retry_after_seconds) == ("retry", None)
    assert _deliver(Peer(lambda request: httpx.Response(429))).retry_after_seconds is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        (" 7 ", 7.0),
        ("Mon, 02 Mar 2026 09:29:00 GMT", 0.0),  # already past
        ("Monday, 02-Mar-26 09:30:10 GMT", 10.0),  # obsolete RFC 850 form
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


def test_error_bodies_are_cut_short() -> None:
    attempt = _deliver(Peer(lambda request: httpx.Response(400, text="x" * 5000)))
    assert attempt.error is not None
    assert attempt.error == "HTTP 400: " + "x" * outbound.ERROR_BODY_LIMIT


def test_an_event_outside_the_catalogue_is_permanent_and_sends_nothing() -> None:
    peer = Peer()
    with outbound_client(peer.transport()) as client:
        internal = wallet_event().model_copy(update={"event_type": "order_updated"})
        attempt = deliver(client, integration(IntegrationKind.WEBHOOK), internal, name_prefix="", now=NOW)
    assert attempt.outcome == "permanent"
    assert "not a deliverable event" in (attempt.error or "")
    assert peer.requests == []


def test_a_stored_webhook_secret_that_no_longer_decodes_is_permanent() -> None:
    broken = integration(IntegrationKind.WEBHOOK).model_copy(update={"secret": "whsec_short"})
    peer = Peer()
    with outbound_client(peer.transport()) as client:
        attempt = deliver(client, broken, wallet_event(), name_prefix="", now=NOW)
    assert attempt.outcome == "permanent"
    assert peer.requests == []


def test_payload_numbers_read_back_from_dynamodb_are_sent_as_json_numbers() -> None:
    event = wallet_event()
    payload = {**event.payload, "coins": Decimal(120), "balance_after": Decimal(420), "rate": Decimal("1.5")}
    decimal_event = event.model_copy(update={"payload": payload})
    for kind in KINDS:
        peer = Peer(lambda request: httpx.Response(202))
        with outbound_client(peer.transport()) as client:
            assert (
                deliver(client, integration(kind), decimal_event, name_prefix="", now=NOW).outcome
                == "delivered"
            )
        sent = json.loads(peer.only.content)
        properties = {
            IntegrationKind.KLAVIYO: lambda b: b["data"]["attributes"]["properties"],
            IntegrationKind.OMNISEND: lambda b: b["properties"],
            IntegrationKind.WEBHOOK: lambda b: b["data"],
        }[kind](sent)
        assert (properties["coins"], properties["balance_after"], properties["rate"]) == (120, 420, "1.5")


def test_the_client_has_a_ten_second_timeout_and_does_not_follow_redirects() -> None:
    with outbound_client() as client:
        assert client.timeout == httpx.Timeout(10.0)
        assert client.follow_redirects is False


def test_one_budget_covers_every_phase_of_the_request() -> None:
    clock = [100.0]
    deadline = _Deadline(110.0, clock=lambda: clock[0])
    assert dict(deadline) == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}
    clock[0] = 107.5
    assert deadline.get("read") == 2.5
    clock[0] = 111.0
    assert deadline["connect"] == 0.001  # spent: the next socket operation times out at once
    assert deadline.get("other") is None


def test_send_gives_the_transport_the_shrinking_budget() -> None:
    seen: list[object] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200)

    with outbound_client(httpx.MockTransport(respond)) as client:
        request = client.build_request("POST", "https://example.com/h")
        attempt = outbound.send(client, request, now=NOW, budget_seconds=3.0)
    assert attempt.outcome == "delivered"
    timeout = seen[0]
    assert isinstance(timeout, _Deadline)
    assert 0 < timeout["read"] <= 3.0
