"""event_router on moto: outbox stream records become exactly the SQS messages their subscriptions ask
for (SendMessageBatch, 10 a call), with a pending delivery log item each, and nothing else."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from infra.aws_resources import LocalResources
from pollen.clock import utcnow
from pollen.domain.deliveries import DeliveryStatus
from pollen.events.delivery import DeliveryMessage
from pollen.events.envelope import OutboxEvent
from pollen.services import routing
from pollen.services.container import container, reset_container
from pollen.storage import client
from pollen.storage.codec import serialize
from pollen.storage.keys import delivery_key
from pollen.storage.queues import DeliveryQueues
from tests.support.flow import Flow, configure, subscription, wallet_event, webhook, write_outbox

M = "shop-a"


@pytest.fixture
def flow(template: dict[str, Any], aws: LocalResources, monkeypatch: pytest.MonkeyPatch) -> Flow:
    monkeypatch.setenv("DELIVERY_RETRY_SCALE", "0")
    reset_container()
    return Flow(template, aws)


@pytest.fixture
def sent() -> Iterator[list[dict[str, Any]]]:
    """The parameters of every SendMessageBatch call, exactly as boto3 sends them."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(json.loads(json.dumps(params)))

    sqs = client.sqs()
    sqs.meta.events.register("provide-client-params.sqs.SendMessageBatch", record)
    yield calls
    sqs.meta.events.unregister("provide-client-params.sqs.SendMessageBatch", record)


def _entries(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for call in calls for entry in call["Entries"]]


def _attributes(message: DeliveryMessage) -> dict[str, Any]:
    return {
        "merchant_id": {"DataType": "String", "StringValue": message.merchant_id},
        "delivery_id": {"DataType": "String", "StringValue": message.delivery_id},
        "event_type": {"DataType": "String", "StringValue": message.event_type},
    }


def _queued(flow: Flow) -> list[str]:
    """Event ids of the messages in the DeliveryQueue (taken out of sight for a minute)."""
    ids: list[str] = []
    while True:
        received = flow.sqs.receive_message(
            QueueUrl=flow.resources.queues["DeliveryQueue"].url, MaxNumberOfMessages=10, VisibilityTimeout=60
        ).get("Messages", [])
        if not received:
            return ids
        ids.extend(DeliveryMessage.model_validate_json(m["Body"]).event_id for m in received)


def test_each_event_is_queued_once_per_matching_subscription(flow: Flow, sent: list[dict[str, Any]]) -> None:
    credits_only = subscription(
        "wallet_transaction", "hooks", prefix="Acme ", filters={"operations": ["credit"]}
    )
    redeems = subscription("wallet_transaction", "crm", filters={"transaction_types": ["redeem"]})
    signups = subscription("customer_created", "crm")
    configure(M, [webhook("hooks"), webhook("crm")], [credits_only, redeems, signups])
    flow.settle()
    reward = wallet_event(M, "c-1", transaction_type="reward", operation="credit")
    redeem = wallet_event(M, "c-1", transaction_type="redeem", operation="debit")
    internal = OutboxEvent(event_type="program_updated", merchant_id=M, occurred_at=reward.occurred_at)
    coupon = OutboxEvent(  # in the catalogue, but nobody subscribes
        event_type="coupon_used", merchant_id=M, customer_id="c-1", occurred_at=reward.occurred_at
    )
    write_outbox([reward, redeem, internal, coupon])

    flow.route()

    (call,) = sent
    assert call["QueueUrl"] == flow.resources.queues["DeliveryQueue"].url
    bodies = [DeliveryMessage.model_validate_json(e["MessageBody"]) for e in call["Entries"]]
    expected = [
        (reward.event_id, credits_only.subscription_id, "hooks"),
        (redeem.event_id, redeems.subscription_id, "crm"),
    ]
    assert [(b.event_id, b.subscription_id, b.integration_id) for b in bodies] == expected
    for index, (entry, body) in enumerate(zip(call["Entries"], bodies, strict=True)):
        assert entry["Id"] == str(index)
        assert entry["MessageAttributes"] == _attributes(body)
        assert body.delivery_id == f"{body.event_id}.{body.subscription_id}"
        assert body.event == (reward if body.event_id == reward.event_id else redeem)  # the whole event
        assert (body.attempt_offset, body.replays) == (0, 0)
    log = container().deliveries.page(M, status=DeliveryStatus.PENDING, limit=10, cursor=None).items
    assert sorted(r.delivery_id for r in log) == sorted(b.delivery_id for b in bodies)
    assert all(r.attempts == [] and r.status == "pending" for r in log)


def test_messages_go_out_ten_per_call_and_the_log_one_put_per_delivery(
    flow: Flow, sent: list[dict[str, Any]]
) -> None:
    configure(M, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    events = [wallet_event(M, f"c-{i}") for i in range(25)]
    write_outbox(events)

    flow.route()

    assert [len(call["Entries"]) for call in sent] == [10, 10, 5]
    assert {DeliveryMessage.model_validate_json(e["MessageBody"]).event_id for e in _entries(sent)} == {
        e.event_id for e in events
    }
    (invocation,) = flow.calls("EventRouterFunction")
    assert invocation.records == 25
    assert invocation.result == {"batchItemFailures": []}
    # Config cached: no read. One conditional PutItem per delivery (run concurrently, counted as the
    # invocation's): half the units of one transaction, whose items were independent anyway.
    assert invocation.dynamodb == {"PutItem": 25}
    assert invocation.sqs == {"SendMessageBatch": 3}


def test_a_cold_router_reads_the_config_once_per_merchant(flow: Flow) -> None:
    configure(M, [webhook()], [subscription("wallet_transaction")])
    configure("shop-b", [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    write_outbox([wallet_event(M, "c-1"), wallet_event("shop-b", "c-1"), wallet_event(M, "c-2")])
    reset_container()  # a cold start

    flow.route()

    (invocation,) = flow.calls("EventRouterFunction")
    assert invocation.dynamodb == {"Query": 2, "PutItem": 3}
    assert invocation.sqs == {"SendMessageBatch": 1}


@pytest.mark.parametrize(
    ("integration_enabled", "subscription_enabled", "switch"),
    [(False, True, True), (True, False, True), (True, True, False)],
    ids=["integration-disabled", "subscription-disabled", "switch-off"],
)
def test_nothing_is_sent_when_something_is_off(
    flow: Flow,
    sent: list[dict[str, Any]],
    integration_enabled: bool,
    subscription_enabled: bool,
    switch: bool,
) -> None:
    configure(
        M,
        [webhook(enabled=integration_enabled)],
        [subscription("wallet_transaction", enabled=subscription_enabled)],
        enabled=switch,
    )
    flow.settle()
    write_outbox([wallet_event(M, "c-1")])

    flow.route()

    assert sent == []
    assert container().deliveries.page(M, status=None, limit=10, cursor=None).items == []
    (invocation,) = flow.calls("EventRouterFunction")
    assert (invocation.dynamodb, invocation.sqs) == ({}, {})  # config cached, nothing written or sent


def test_filters_pick_events_by_type_and_operation(flow: Flow, sent: list[dict[str, Any]]) -> None:
    sub = subscription(
        "wallet_transaction", filters={"transaction_types": ["reward", "refund"], "operations": ["credit"]}
    )
    configure(M, [webhook()], [sub])
    flow.settle()
    cases = {
        ("reward", "credit"): True,
        ("refund", "credit"): True,
        ("redeem", "debit"): False,
        ("expire", "debit"): False,
        ("adjust", "credit"): False,
    }
    events = {case: wallet_event(M, "c-1", transaction_type=case[0], operation=case[1]) for case in cases}
    write_outbox(events.values())

    flow.route()

    routed = {DeliveryMessage.model_validate_json(e["MessageBody"]).event_id for e in _entries(sent)}
    assert {case for case, event in events.items() if event.event_id in routed} == {
        case for case, wanted in cases.items() if wanted
    }


def _stream_event(flow: Flow, event: OutboxEvent) -> dict[str, Any]:
    """A stream event carrying ``event``'s outbox insert, as Lambda would send it again."""
    image = serialize(event.to_item())
    record = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {"PK": image["PK"], "SK": image["SK"]},
            "NewImage": image,
            "SequenceNumber": "900",
            "SizeBytes": 1,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": flow.stream.source.stream_arn,
    }
    return {"Records": [record]}


def test_routing_a_record_again_names_the_same_delivery_and_does_not_queue_it_twice(
    flow: Flow, sent: list[dict[str, Any]]
) -> None:
    configure(M, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    event = wallet_event(M, "c-1")
    write_outbox([event])
    flow.route()
    assert [i.result for i in flow.calls("EventRouterFunction")] == [{"batchItemFailures": []}]
    again = _stream_event(flow, event)

    # Not tried yet (for all the router knows, its message was never queued): queued again, same id.
    flow.invoke(flow.stream.spec, again)
    first, second = (DeliveryMessage.model_validate_json(e["MessageBody"]) for e in _entries(sent))
    assert (first.delivery_id, first.event) == (second.delivery_id, second.event)

    # Once tried, the log item says so: routing the record a third time queues nothing.
    container().table.update(
        delivery_key(M, first.delivery_id),
        update="SET #s = :s",
        names={"#s": "status"},
        values={":s": "delivered"},
    )
    assert flow.invoke(flow.stream.spec, again) == {"batchItemFailures": []}
    assert len(_entries(sent)) == 2
    assert len(container().deliveries.page(M, status=None, limit=10, cursor=None).items) == 1


def test_a_re_routed_batch_queues_again_only_its_pending_and_new_deliveries(
    flow: Flow, sent: list[dict[str, Any]]
) -> None:
    """Each delivery's own put learns its item's status (the failed condition's old image): delivered
    and dead ones are not queued again, a pending one is, a new one is created and queued."""
    configure(M, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    delivered, dead, pending, new = (wallet_event(M, f"c-{i}") for i in range(4))
    write_outbox([delivered, dead, pending])
    flow.route()
    messages = [DeliveryMessage.model_validate_json(e["MessageBody"]) for e in _entries(sent)]
    ids = {m.event_id: m.delivery_id for m in messages}
    assert len(ids) == 3
    for event, status in ((delivered, "delivered"), (dead, "dead")):
        container().table.update(
            delivery_key(M, ids[event.event_id]),
            update="SET #s = :s",
            names={"#s": "status"},
            values={":s": status},
        )
    sent.clear()

    records = [(f"r-{n}", event) for n, event in enumerate((delivered, dead, pending, new))]
    result = routing.route(container(), records, now=utcnow())

    assert (result.failed, result.queued, result.already_handled) == ({}, 2, 2)
    queued = [DeliveryMessage.model_validate_json(e["MessageBody"]).event_id for e in _entries(sent)]
    assert sorted(queued) == sorted([pending.event_id, new.event_id])
    log = {
        r.event_id: r.status for r in container().deliveries.page(M, status=None, limit=10, cursor=None).items
    }
    assert log == {
        delivered.event_id: DeliveryStatus.DELIVERED,
        dead.event_id: DeliveryStatus.DEAD,
        pending.event_id: DeliveryStatus.PENDING,
        new.event_id: DeliveryStatus.PENDING,
    }


def test_a_log_item_that_cannot_be_written_fails_only_its_record(
    flow: Flow, sent: list[dict[str, Any]]
) -> None:
    """A put failing for another reason than its condition (here a 500, once, as after botocore's own
    retries): its record is reported failed and routed again; the others' deliveries go out at once."""
    configure(M, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    good, refused = wallet_event(M, "c-1"), wallet_event(M, "c-2")
    write_outbox([good, refused])
    refusals: list[str] = []

    def refuse(params: dict[str, Any], model: Any, **_: Any) -> Any:  # a response ends the call here
        if model.name != "PutItem" or refused.event_id not in params["body"].decode() or refusals:
            return None
        refusals.append(refused.event_id)
        error = {"Code": "InternalServerError", "Message": "Internal server error"}
        return AWSResponse("https://dynamodb", 500, HTTPHeaders(), None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 500},
        }

    dynamodb = client.dynamodb()
    dynamodb.meta.events.register("before-call.dynamodb", refuse)  # after the call counter's hook
    try:
        flow.route()
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb", refuse)

    assert refusals == [refused.event_id]
    first, retry = flow.calls("EventRouterFunction")
    assert len(first.result["batchItemFailures"]) == 1  # the refused record only: the stream routes it again
    assert first.dynamodb == {"PutItem": 2}
    assert retry.result == {"batchItemFailures": []}
    routed = [
        [DeliveryMessage.model_validate_json(e["MessageBody"]).event_id for e in c["Entries"]] for c in sent
    ]
    assert routed == [[good.event_id], [refused.event_id]]  # the good one went out with the failure
    assert sorted(_queued(flow)) == sorted([good.event_id, refused.event_id])  # each exactly once
    log = container().deliveries.page(M, status=None, limit=10, cursor=None).items
    assert sorted(r.event_id for r in log) == sorted([good.event_id, refused.event_id])


def test_a_message_sqs_refuses_fails_only_its_record(flow: Flow) -> None:
    configure(M, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    good, refused = wallet_event(M, "c-1"), wallet_event(M, "c-2")
    write_outbox([good, refused])
    refused_entry: list[str] = []  # the entry SQS refused (once)

    def strip(params: dict[str, Any], **_: Any) -> None:
        for entry in list(params["Entries"]):
            event_id = DeliveryMessage.model_validate_json(entry["MessageBody"]).event_id
            if event_id == refused.event_id and not refused_entry:
                refused_entry.append(entry["Id"])
                params["Entries"].remove(entry)

    def report(parsed: dict[str, Any], **_: Any) -> None:
        if len(refused_entry) == 1:  # answer for the stripped entry as SQS does, entry by entry
            failure = {"Id": refused_entry[0], "SenderFault": False, "Code": "InternalError", "Message": "x"}
            parsed.setdefault("Failed", []).append(failure)
            refused_entry.append("reported")

    sqs = client.sqs()
    sqs.meta.events.register("provide-client-params.sqs.SendMessageBatch", strip)
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", report)
    try:
        flow.route()
    finally:
        sqs.meta.events.unregister("provide-client-params.sqs.SendMessageBatch", strip)
        sqs.meta.events.unregister("after-call.sqs.SendMessageBatch", report)

    first, retry = (i.result for i in flow.calls("EventRouterFunction"))
    assert len(first["batchItemFailures"]) == 1  # the refused record only: the stream routes it again
    assert retry == {"batchItemFailures": []}
    assert sorted(_queued(flow)) == sorted([good.event_id, refused.event_id])  # each exactly once


def _waiting(flow: Flow) -> int:
    """Messages in the DeliveryQueue, delayed ones (a ``profile_updated`` waits for its window) included."""
    attributes = flow.sqs.get_queue_attributes(
        QueueUrl=flow.resources.queues["DeliveryQueue"].url, AttributeNames=["All"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesDelayed"]
    )


@pytest.mark.parametrize("refusal", ["failed-entry", "call-raises", "send-raises"])
def test_a_profile_update_sqs_refuses_is_queued_when_its_record_is_routed_again(
    flow: Flow, sent: list[dict[str, Any]], refusal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The router writes the window's ``profile_updated`` item ``pending``, then its message is not
    queued (SQS answers it in ``Failed``, or refuses the whole call; or sending raises something else).
    The record is reported failed, and routed again it queues the message. An item found ``pending``
    reads as queued (the window's later changes ride on it), so the refused message's item is deleted
    at once: the re-route makes it again and queues it."""
    configure(M, [webhook()], [subscription("profile_updated")])
    flow.settle()
    event = wallet_event(M, "c-1")
    write_outbox([event])
    refused: list[str] = []  # the delivery ids not queued (once)

    def strip(params: dict[str, Any], **_: Any) -> None:  # "failed-entry": SQS answers it in Failed
        if not refused:  # the batch's one entry, the update (Id "0")
            (entry,) = params["Entries"]
            refused.append(DeliveryMessage.model_validate_json(entry["MessageBody"]).delivery_id)
            params["Entries"].remove(entry)

    def report(parsed: dict[str, Any], **_: Any) -> None:
        if len(refused) == 1:
            failure = {"Id": "0", "SenderFault": False, "Code": "InternalError", "Message": "x"}
            parsed.setdefault("Failed", []).append(failure)
            refused.append("reported")

    def fail(params: dict[str, Any], model: Any, **_: Any) -> Any:  # "call-raises": after botocore's retries
        if refused:
            return None
        entries = json.loads(params["body"].decode())["Entries"]
        refused.extend(DeliveryMessage.model_validate_json(e["MessageBody"]).delivery_id for e in entries)
        error = {"Code": "InternalError", "Message": "We encountered an internal error. Please try again."}
        return AWSResponse("https://sqs", 500, HTTPHeaders(), None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 500},
        }

    real_send = DeliveryQueues.send

    def broken(self: DeliveryQueues, messages: Sequence[DeliveryMessage]) -> set[str]:  # "send-raises"
        if refused:
            return real_send(self, messages)
        refused.extend(m.delivery_id for m in messages)
        raise RuntimeError("not an SQS error: a bug, or the queue URL missing")

    by_refusal: dict[str, list[tuple[str, Any]]] = {
        "failed-entry": [
            ("provide-client-params.sqs.SendMessageBatch", strip),
            ("after-call.sqs.SendMessageBatch", report),
        ],
        "call-raises": [("before-call.sqs.SendMessageBatch", fail)],
        "send-raises": [],
    }
    hooks = by_refusal[refusal]
    if refusal == "send-raises":
        monkeypatch.setattr(DeliveryQueues, "send", broken)
    sqs = client.sqs()
    for name, hook in hooks:
        sqs.meta.events.register(name, hook)
    try:
        flow.route()
    finally:
        for name, hook in hooks:
            sqs.meta.events.unregister(name, hook)

    [update] = [
        m for m in routing.plan(container(), event, now=utcnow()) if m.event_type == "profile_updated"
    ]
    assert refused[0] == update.delivery_id
    first, retry = flow.calls("EventRouterFunction")
    assert len(first.result["batchItemFailures"]) == 1  # nothing was queued: the stream routes it again
    assert first.dynamodb == {"PutItem": 1, "DeleteItem": 1}  # the item made, then released
    assert retry.result == {"batchItemFailures": []}
    assert retry.dynamodb == {"PutItem": 1}  # made again
    assert retry.sqs == {"SendMessageBatch": 1}  # the re-route queues the update
    assert [
        DeliveryMessage.model_validate_json(e["MessageBody"]).delivery_id for e in sent[-1]["Entries"]
    ] == [update.delivery_id]
    assert _waiting(flow) == 1  # in the queue once, delayed to the end of its window
    log = container().deliveries.page(M, status=None, limit=10, cursor=None).items
    assert [(r.delivery_id, r.status) for r in log] == [(update.delivery_id, DeliveryStatus.PENDING)]


def test_a_config_that_cannot_be_read_fails_its_records_only(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(M, [webhook()], [subscription("wallet_transaction")])
    configure("shop-b", [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    ok, broken = wallet_event(M, "c-1"), wallet_event("shop-b", "c-1")
    store = container().config
    real_get = store.get

    def get(merchant_id: str) -> Any:
        if merchant_id == "shop-b":
            raise RuntimeError("DynamoDB is having a bad day")
        return real_get(merchant_id)

    monkeypatch.setattr(store, "get", get)
    write_outbox([ok, broken])
    flow.stream.source = dataclasses.replace(flow.stream.source, maximum_retry_attempts=0)

    flow.route()

    first = flow.calls("EventRouterFunction")[0]
    assert first.records == 2
    assert len(first.result["batchItemFailures"]) == 1
    assert _queued(flow) == [ok.event_id]
