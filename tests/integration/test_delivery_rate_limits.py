"""A receiver's rate limit (429) on a delivery's last retry queues the delivery again as a fresh
message instead of dead-lettering it, for up to a day after routing: a burst (an import, a day's
birthdays) against Omnisend's 400 requests a minute waits, it does not pile up in the DLQ."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain import deliveries
from pollen.domain.deliveries import MAX_RECEIVES, AttemptLog, DeliveryRecord, DeliveryStatus
from pollen.events.delivery import DeliveryMessage
from pollen.services.container import container
from pollen.services.delivery import dead_letter_index
from pollen.storage.queues import DeadLetterReason
from tests.support.flow import Flow, Receiver, delivery_record, one_delivery

M = "demo-store"


def _one_delivery(flow: Flow, receiver: Receiver) -> DeliveryMessage:
    (message,) = one_delivery(flow, receiver, M)
    return message


def _limited(times: int) -> Any:
    answered = [0]

    def answer(request: httpx.Request) -> httpx.Response:
        answered[0] += 1
        if answered[0] <= times:
            return httpx.Response(429, text="slow down")
        return httpx.Response(200)

    return answer


def _record(delivery_id: str) -> DeliveryRecord:
    return delivery_record(M, delivery_id)


def test_a_delivery_rate_limited_past_its_budget_is_queued_again_and_delivered(flow: Flow) -> None:
    limited = 2 * MAX_RECEIVES + 2  # past two whole budgets
    receiver = Receiver(answer=_limited(limited))
    message = _one_delivery(flow, receiver)

    flow.deliver_all()

    assert [status for _, status in receiver.statuses] == [429] * limited + [200]
    assert flow.dead_letters() == []
    record = _record(message.delivery_id)
    assert record.status == DeliveryStatus.DELIVERED
    assert [a.attempt for a in record.attempts] == list(range(1, limited + 2))  # numbered on, once each
    assert {a.http_status for a in record.attempts[:limited]} == {429}
    # each budget's last try queued a fresh message (SendMessage) instead of setting a visibility
    sent = [i.sqs for i in flow.calls("IntegrationDeliveryFunction") if "SendMessageBatch" in i.sqs]
    assert sent == [{"SendMessageBatch": 1}] * 2
    assert all(i.result == {"batchItemFailures": []} for i in flow.calls("IntegrationDeliveryFunction")[-1:])


def test_a_day_after_routing_a_rate_limit_spends_the_budget_like_any_failure(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deliveries, "RATE_LIMITED_FOR_AT_MOST", timedelta(0))
    receiver = Receiver(answer=_limited(1_000))
    message = _one_delivery(flow, receiver)

    flow.deliver_all()

    assert len(receiver.statuses) == MAX_RECEIVES
    (dead,) = flow.dead_letters()
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["reason"] == f"retries exhausted after {MAX_RECEIVES} tries: HTTP 429: slow down"
    assert _record(message.delivery_id).status == DeliveryStatus.DEAD


def test_a_delivery_that_cannot_be_queued_again_is_dead_lettered_as_before(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver(answer=_limited(1_000))
    message = _one_delivery(flow, receiver)
    queues = container().queues
    monkeypatch.setattr(queues, "send", lambda messages: {m.delivery_id for m in messages})

    flow.deliver_all()

    assert len(receiver.statuses) == MAX_RECEIVES
    (dead,) = flow.dead_letters()
    assert DeliveryMessage.model_validate_json(dead["Body"]).delivery_id == message.delivery_id
    record = _record(message.delivery_id)
    assert record.status == DeliveryStatus.DEAD
    assert [a.attempt for a in record.attempts] == list(range(1, MAX_RECEIVES + 1))  # the last logged once


def test_a_held_back_letter_replays_at_once(flow: Flow, api: InProcessApi, demo: DemoStore) -> None:
    """A letter that died from a message queued again (held back up to 15 min) goes out when replayed."""
    receiver = Receiver(answer=lambda request: httpx.Response(400))
    message = _one_delivery(flow, receiver).model_copy(update={"delay_seconds": 900, "attempt_offset": 6})
    flow.deliver_all()  # refused: a dead letter; now as if it had died from a message held back
    now = utcnow()
    reason = DeadLetterReason("permanent failure: HTTP 400", "permanent", 7, 400, now)
    log = AttemptLog(attempt=7, at=now, outcome="permanent", http_status=400, latency_ms=1, error="HTTP 400")
    container().deliveries.record_attempt(
        message,
        log,
        DeliveryStatus.DEAD,
        now=now,
        dead_reason=reason.reason,
        dead_letter=dead_letter_index(message, reason),
    )

    response = api.post("/v1/admin/deliveries/dead-letters/replay", key=demo.api_keys.admin)

    assert response.json()["delivery_ids"] == [message.delivery_id]
    (queued,) = flow.sqs.receive_message(
        QueueUrl=flow.resources.queues["DeliveryQueue"].url, MaxNumberOfMessages=10
    )["Messages"]  # receivable now, not in 15 minutes
    assert DeliveryMessage.model_validate_json(queued["Body"]).delay_seconds == 0
