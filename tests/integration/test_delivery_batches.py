"""integration_delivery hands a batch's messages to their receivers side by side: the invocation waits
for the slowest receiver, not the sum. Each message keeps its own outcome, log, retry and metrics."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from pollen.domain.deliveries import DeliveryRecord, DeliveryStatus
from pollen.events.delivery import DeliveryMessage
from pollen.observability import metrics
from tests.support.flow import Flow, Receiver, delivery_record, one_delivery

M = "demo-store"
BATCH = 5


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the metrics added from here on (Powertools' set, spied on before it is flushed)."""
    names: list[str] = []
    real = metrics.add_metric

    def add(**kwargs: Any) -> None:
        names.append(kwargs["name"])
        real(**kwargs)

    monkeypatch.setattr(metrics, "add_metric", add)
    return names


def _route(flow: Flow, receiver: Receiver, events: int) -> list[DeliveryMessage]:
    return one_delivery(flow, receiver, M, events=events)


def _record(delivery_id: str) -> DeliveryRecord:
    return delivery_record(M, delivery_id)


def test_the_template_batch_size_is_the_number_delivered_at_once(template: dict[str, Any]) -> None:
    from functions.integration_delivery import app  # noqa: PLC0415

    source = template["Resources"]["IntegrationDeliveryFunction"]["Properties"]["Events"]["Deliveries"]
    assert source["Properties"]["BatchSize"] == app.BATCH_SIZE == app.processor.workers
    # What reaches merchants' integrations at once stays capped: batches at once x messages each.
    assert source["Properties"]["ScalingConfig"]["MaximumConcurrency"] * app.processor.workers <= 10


def test_a_batch_s_receivers_are_all_waited_on_at_once(flow: Flow) -> None:
    """Each request waits at a barrier until all five are in flight: one at a time, the first would
    wait alone until the barrier gave up, and every delivery of the batch would fail."""
    barrier = threading.Barrier(BATCH, timeout=10)
    in_flight: set[str] = set()

    def answer(request: httpx.Request) -> httpx.Response:
        in_flight.add(threading.current_thread().name)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return httpx.Response(503)
        return httpx.Response(200)

    receiver = Receiver(answer=answer)
    messages = _route(flow, receiver, BATCH)

    assert flow.queue.poll_once()

    (invocation,) = flow.calls("IntegrationDeliveryFunction")
    assert invocation.records == BATCH
    assert invocation.result == {"batchItemFailures": []}
    assert len(in_flight) == BATCH  # five threads, each holding one receiver's request
    assert sorted(receiver.delivered().values()) == [1] * BATCH
    for message in messages:
        assert _record(message.delivery_id).status == DeliveryStatus.DELIVERED
    assert invocation.dynamodb == {"UpdateItem": BATCH}  # the pool's calls are the invocation's


def test_one_failing_receiver_fails_only_its_own_message(flow: Flow, counted: list[str]) -> None:
    unlucky: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if not unlucky:
            unlucky.append(request.headers["webhook-id"])
        if request.headers["webhook-id"] == unlucky[0] and len(unlucky) == 1:
            unlucky.append("answered 500 once")
            return httpx.Response(500, text="busy")
        return httpx.Response(200)

    receiver = Receiver(answer=answer)
    messages = _route(flow, receiver, BATCH)
    counted.clear()  # the router's

    assert flow.queue.poll_once()

    (invocation,) = flow.calls("IntegrationDeliveryFunction")
    (failure,) = invocation.result["batchItemFailures"]
    failed = next(m for m in messages if m.event_id == unlucky[0])
    statuses = {m.delivery_id: _record(m.delivery_id).status for m in messages}
    assert statuses.pop(failed.delivery_id) == DeliveryStatus.RETRYING
    assert set(statuses.values()) == {DeliveryStatus.DELIVERED}
    body = json.loads(_message_body(flow, failure["itemIdentifier"]))
    assert body["delivery_id"] == failed.delivery_id
    assert sorted(counted) == ["DeliveriesDelivered"] * (BATCH - 1) + ["DeliveriesRetrying"]

    flow.deliver_all()  # the failed one comes back alone and goes through

    assert _record(failed.delivery_id).status == DeliveryStatus.DELIVERED
    assert sorted(receiver.delivered().values()) == [1] * BATCH


def _message_body(flow: Flow, message_id: str) -> str:
    """The body of the queued message ``message_id`` (visible again: its retry delay is zero)."""
    url = flow.resources.queues["DeliveryQueue"].url
    for message in flow.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
        "Messages", []
    ):
        if message["MessageId"] == message_id:
            return str(message["Body"])
    raise AssertionError(f"message {message_id} is not in the queue")


def test_each_log_line_names_its_own_delivery(flow: Flow) -> None:
    receiver = Receiver()
    messages = _route(flow, receiver, BATCH)
    lines: list[dict[str, Any]] = []
    real = threading.Lock()

    class Capture:
        def write(self, text: str) -> None:
            with real:
                lines.extend(json.loads(line) for line in text.splitlines() if line.startswith("{"))

        def flush(self) -> None:
            pass

    from pollen.observability import logger  # noqa: PLC0415

    handler = logger.registered_handler
    stream, handler.stream = handler.stream, Capture()  # type: ignore[attr-defined]
    level = logger.log_level
    logger.setLevel("INFO")
    try:
        assert flow.queue.poll_once()
    finally:
        handler.stream = stream  # type: ignore[attr-defined]
        logger.setLevel(level)

    done = [line for line in lines if line.get("message") == "delivery done"]
    assert sorted(line["delivery_id"] for line in done) == sorted(m.delivery_id for m in messages)
    others = [line for line in lines if line.get("message") != "delivery done"]
    assert all("delivery_id" not in line for line in others)  # no key left behind on the way out
