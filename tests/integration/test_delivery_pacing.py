"""A burst of Omnisend deliveries goes out at Omnisend's pace (pollen.integrations.pacing): every
one delivered, the ones past the burst each waiting for its slot, none answered 429."""

from __future__ import annotations

import threading

import httpx
import pytest

from pollen.clock import utcnow
from pollen.domain.deliveries import DeliveryStatus
from pollen.domain.integrations import Integration, IntegrationKind, PrimarySelector
from pollen.events.delivery import DeliveryMessage
from pollen.integrations.pacing import BATCHES_AT_ONCE, BURST_SECONDS, Pacer
from pollen.services.container import container
from tests.support.flow import Flow, configure, delivery_record, subscription, wallet_event, write_outbox

M = "demo-store"
RATE = 400 / 60 / BATCHES_AT_ONCE


def test_a_burst_to_omnisend_waits_for_its_slots_and_all_of_it_is_delivered(flow: Flow) -> None:
    now = utcnow()
    omnisend = Integration(
        integration_id="omnisend",
        kind=IntegrationKind.OMNISEND,
        enabled=True,
        api_key="61f2748bc26ea0123456789a-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmn",
        primary_selector=PrimarySelector.EMAIL,
        created_at=now,
        updated_at=now,
    )
    sub = subscription("wallet_transaction", "omnisend")
    configure(M, [omnisend], [sub])
    flow.settle()
    requests: list[httpx.Request] = []

    def omnisend_answers(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(202)

    container().http.install(httpx.MockTransport(omnisend_answers))
    slept: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    container().pacer = Pacer(clock=lambda: 500.0, sleep=sleep)  # the clock stands still: the burst
    events = [wallet_event(M, f"c-{n}", email=f"c{n}@example.com") for n in range(12)]
    write_outbox(events)
    flow.route()

    flow.deliver_all()

    assert len(requests) == 12
    assert {r.url.host for r in requests} == {"api.omnisend.com"}
    for event in events:
        delivery_id = DeliveryMessage.for_route(
            event, sub.subscription_id, "omnisend", routed_at=now
        ).delivery_id
        assert delivery_record(M, delivery_id).status == DeliveryStatus.DELIVERED
    burst = int(RATE * BURST_SECONDS)  # 6 at once, then one each 0.3 s: 400 a minute over 2 batches
    assert sorted(slept) == pytest.approx([(k + 1 - RATE * BURST_SECONDS) / RATE for k in range(burst, 12)])
