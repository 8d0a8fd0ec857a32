"""The local stack's machinery on moto in-process, with fake functions (no Pollen code runs here).

Stream and SQS pollers, the resources built from the template, the scheduler, the in-process
Lambda runtime and the HTTP server socket. Every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, SqsModel
from moto import mock_aws

from infra.aws_resources import LocalResources, create_resources
from infra.local import FunctionError, LocalRuntime
from infra.local.pollers import ACTIVE_POLL_SECONDS, Pollers, SqsPoller, StreamPoller
from infra.local.scheduler import Cron, Rate, Scheduler, parse_schedule
from infra.local.server import LocalApi, LocalHttpServer
from infra.template import FunctionSpec, HttpRoute, describe_functions, load_template, parse_template

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "pollers-test"

TEMPLATE = parse_template(
    textwrap.dedent(
        """
        Resources:
          Table:
            Type: AWS::DynamoDB::Table
            Properties:
              BillingMode: PAY_PER_REQUEST
              AttributeDefinitions:
                - {AttributeName: PK, AttributeType: S}
                - {AttributeName: SK, AttributeType: S}
              KeySchema:
                - {AttributeName: PK, KeyType: HASH}
                - {AttributeName: SK, KeyType: RANGE}
              StreamSpecification: {StreamViewType: NEW_IMAGE}
          Queue:
            Type: AWS::SQS::Queue
            Properties:
              VisibilityTimeout: 1
              RedrivePolicy:
                deadLetterTargetArn: !GetAtt DLQ.Arn
                maxReceiveCount: 2
          DLQ:
            Type: AWS::SQS::Queue
          FailureQueue:
            Type: AWS::SQS::Queue
          Router:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: functions/router/
              Handler: app.lambda_handler
              Events:
                Outbox:
                  Type: DynamoDB
                  Properties:
                    Stream: !GetAtt Table.StreamArn
                    StartingPosition: LATEST
                    BatchSize: 10
                    FunctionResponseTypes: [ReportBatchItemFailures]
                    MaximumRetryAttempts: 2
                    BisectBatchOnFunctionError: true
                    FilterCriteria:
                      Filters:
                        - Pattern: >-
                            {"eventName": ["INSERT"],
                             "dynamodb": {"NewImage": {"entity": {"S": ["outbox"]}}}}
                    DestinationConfig:
                      OnFailure:
                        Type: SQS
                        Destination: !GetAtt FailureQueue.Arn
          Delivery:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: functions/delivery/
              Handler: app.lambda_handler
              Events:
                Deliveries:
                  Type: SQS
                  Properties:
                    Queue: !GetAtt Queue.Arn
                    BatchSize: 10
                    FunctionResponseTypes: [ReportBatchItemFailures]
          Jobs:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: functions/jobs/
              Handler: app.lambda_handler
              Events:
                Often:
                  Type: Schedule
                  Properties:
                    Schedule: rate(1 minute)
                    Input: '{"jobs": "often"}'
                Nightly:
                  Type: Schedule
                  Properties:
                    Schedule: cron(0 3 * * ? *)
        """
    )
)


@dataclasses.dataclass
class Stack:
    resources: LocalResources
    functions: dict[str, FunctionSpec]

    def queue_url(self, logical_id: str) -> str:
        return self.resources.queues[logical_id].url


class FakeFunction:
    """Records every event; answers with ``respond(event)`` (raise inside it to fail the invocation)."""

    def __init__(self, respond: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.respond = respond
        self._lock = threading.Lock()

    def __call__(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        with self._lock:
            self.events.append(json.loads(json.dumps(event)))
        return self.respond(event) if self.respond else None


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def stack(moto_env: None) -> Stack:
    resources = create_resources(TEMPLATE, prefix=PREFIX)
    resolver = resources.resolver(TEMPLATE, stack_name=PREFIX)
    return Stack(resources, {spec.logical_id: spec for spec in describe_functions(TEMPLATE, resolver)})


def put(stack: Stack, sk: str, entity: str) -> None:
    boto3.client("dynamodb").put_item(
        TableName=stack.resources.tables["Table"].name,
        Item={"PK": {"S": "M#demo"}, "SK": {"S": sk}, "entity": {"S": entity}, "blob": {"B": b"\x00\x01"}},
    )


def stream_poller(stack: Stack, fake: FakeFunction) -> StreamPoller:
    spec = stack.functions["Router"]
    return StreamPoller(
        spec, spec.stream_sources[0], fake, stop=threading.Event(), retry_backoff=lambda _: 0.0
    )


def sqs_poller(stack: Stack, fake: FakeFunction, **source_changes: Any) -> SqsPoller:
    spec = stack.functions["Delivery"]
    source = dataclasses.replace(spec.sqs_sources[0], **source_changes)
    return SqsPoller(spec, source, fake, stop=threading.Event(), wait_seconds=0)


def sequence_numbers(event: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]


def sort_keys(event: dict[str, Any]) -> list[str]:
    return [record["dynamodb"]["Keys"]["SK"]["S"] for record in event["Records"]]


# ---- Resources from the template ----------------------------------------------------------------------


def test_resources_are_created_from_the_real_template(moto_env: None) -> None:
    template = load_template(ROOT / "template.yaml")
    resources = create_resources(template, prefix="t")
    table_props = template["Resources"]["PollenTable"]["Properties"]
    table = boto3.client("dynamodb").describe_table(TableName=resources.tables["PollenTable"].name)["Table"]
    assert table["KeySchema"] == table_props["KeySchema"]
    assert {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])} == {
        index["IndexName"] for index in table_props.get("GlobalSecondaryIndexes", [])
    }
    assert (
        table["StreamSpecification"]["StreamViewType"] == table_props["StreamSpecification"]["StreamViewType"]
    )
    assert resources.tables["PollenTable"].stream_arn == table["LatestStreamArn"]
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=table["TableName"])[
        "TimeToLiveDescription"
    ]
    assert ttl["AttributeName"] == table_props["TimeToLiveSpecification"]["AttributeName"]

    sqs = boto3.client("sqs")
    queue = resources.queues["DeliveryQueue"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
    queue_props = template["Resources"]["DeliveryQueue"]["Properties"]
    assert attributes["VisibilityTimeout"] == str(queue_props["VisibilityTimeout"])
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == resources.queues["DeliveryDLQ"].arn
    assert int(redrive["maxReceiveCount"]) == queue_props["RedrivePolicy"]["maxReceiveCount"]

    assert create_resources(template, prefix="t") == resources  # a second run reuses what exists


def test_resolver_from_local_resources(stack: Stack) -> None:
    resolver = stack.resources.resolver(TEMPLATE, stack_name=PREFIX)
    assert resolver.resolve({"Ref": "Queue"}) == stack.queue_url("Queue")
    assert resolver.resolve({"Fn::GetAtt": ["DLQ", "Arn"]}) == stack.resources.queues["DLQ"].arn
    assert (
        stack.functions["Router"].stream_sources[0].stream_arn == stack.resources.tables["Table"].stream_arn
    )


# ---- DynamoDB Streams ---------------------------------------------------------------------------------


def test_a_matching_insert_reaches_the_function_and_others_do_not(stack: Stack) -> None:
    fake = FakeFunction()
    poller = stream_poller(stack, fake)
    put(stack, "EVT#1", "outbox")
    put(stack, "WALLET", "wallet")  # filtered out: not an outbox item
    put(stack, "EVT#1", "outbox")  # filtered out: a MODIFY
    poller.poll_once()

    assert len(fake.events) == 1
    event = fake.events[0]
    DynamoDBStreamModel.model_validate(event)
    (record,) = event["Records"]
    assert sort_keys(event) == ["EVT#1"]
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == stack.resources.tables["Table"].stream_arn
    assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}  # binary as base64, as Lambda sends it
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert isinstance(record["dynamodb"]["SizeBytes"], int)

    poller.poll_once()
    assert len(fake.events) == 1  # nothing is delivered twice


def test_a_partial_batch_failure_is_retried_from_the_lowest_failed_record(stack: Stack) -> None:
    def respond(event: dict[str, Any]) -> Any:
        if len(fake.events) == 1:
            return {"batchItemFailures": [{"itemIdentifier": sequence_numbers(event)[1]}]}
        return {"batchItemFailures": []}

    fake = FakeFunction(respond)
    for number in range(3):
        put(stack, f"EVT#{number}", "outbox")
    stream_poller(stack, fake).poll_once()

    assert [sort_keys(event) for event in fake.events] == [["EVT#0", "EVT#1", "EVT#2"], ["EVT#1", "EVT#2"]]


def test_an_error_bisects_then_retries_then_reports_the_record_to_the_failure_destination(
    stack: Stack,
) -> None:
    def respond(event: dict[str, Any]) -> Any:
        if "EVT#bad" in sort_keys(event):
            raise RuntimeError("poison record")
        return None

    fake = FakeFunction(respond)
    for sk in ("EVT#a", "EVT#bad", "EVT#b"):
        put(stack, sk, "outbox")
    stream_poller(stack, fake).poll_once()

    assert [sort_keys(event) for event in fake.events] == [
        ["EVT#a", "EVT#bad", "EVT#b"],
        ["EVT#a"],  # halves: splitting does not use up retries
        ["EVT#bad", "EVT#b"],
        ["EVT#bad"],
        ["EVT#bad"],  # retry 1
        ["EVT#bad"],  # retry 2 = MaximumRetryAttempts, then discarded
        ["EVT#b"],
    ]
    messages = (
        boto3.client("sqs").receive_message(QueueUrl=stack.queue_url("FailureQueue")).get("Messages", [])
    )
    assert len(messages) == 1
    report = json.loads(messages[0]["Body"])
    bad_sequence = sequence_numbers(fake.events[3])[0]
    assert report["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert report["requestContext"]["approximateInvokeCount"] == 3
    assert report["responseContext"]["functionError"] == "Unhandled"
    info = report["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        bad_sequence,
        bad_sequence,
        1,
    )
    assert info["streamArn"] == stack.resources.tables["Table"].stream_arn
    assert info["shardId"]


def test_records_wait_for_the_batching_window(stack: Stack) -> None:
    fake = FakeFunction()
    spec = stack.functions["Router"]
    source = dataclasses.replace(spec.stream_sources[0], batching_window_seconds=30.0)
    poller = StreamPoller(spec, source, fake, stop=threading.Event())
    put(stack, "EVT#1", "outbox")
    poller.poll_once()
    assert fake.events == []
    due = poller.due_in()
    assert due is not None
    assert 0 < due <= 30
    poller.poll_once(flush=True)
    assert len(fake.events) == 1


# ---- SQS -------------------------------------------------------------------------------------------


def test_sqs_partial_failure_deletes_successes_and_redrives_the_failure_to_the_dlq(stack: Stack) -> None:
    sqs = boto3.client("sqs")
    ids = {}
    for body in ("a", "b", "c"):
        ids[body] = sqs.send_message(QueueUrl=stack.queue_url("Queue"), MessageBody=json.dumps({"id": body}))[
            "MessageId"
        ]

    def respond(event: dict[str, Any]) -> Any:
        return {
            "batchItemFailures": [
                {"itemIdentifier": ids["b"]} for r in event["Records"] if r["messageId"] == ids["b"]
            ]
        }

    fake = FakeFunction(respond)
    poller = sqs_poller(stack, fake)

    def dlq_bodies() -> list[str]:
        response = sqs.receive_message(QueueUrl=stack.queue_url("DLQ"), VisibilityTimeout=0)
        return [message["Body"] for message in response.get("Messages", [])]

    assert poller.poll_once() == 3
    # maxReceiveCount is 2 and the visibility timeout 1 s: b comes back once, then moves to the DLQ.
    assert wait_until(lambda: poller.poll_once() >= 0 and bool(dlq_bodies()), timeout=10)
    assert dlq_bodies() == [json.dumps({"id": "b"})]
    seen = [record["messageId"] for event in fake.events for record in event["Records"]]
    assert sorted(seen) == sorted([ids["a"], ids["b"], ids["c"], ids["b"]])
    attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_url("Queue"), AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_sqs_record_shape(stack: Stack) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=stack.queue_url("Queue"),
        MessageBody='{"hello": "world"}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "klaviyo"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    fake = FakeFunction()
    sqs_poller(stack, fake).poll_once()
    (event,) = fake.events
    SqsModel.model_validate(event)
    (record,) = event["Records"]
    assert list(record)[:6] == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
    ]
    assert record["body"] == '{"hello": "world"}'
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "klaviyo",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["raw"]["binaryValue"] == "AAE="
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "us-east-1")
    assert record["eventSourceARN"] == stack.resources.queues["Queue"].arn


def test_an_sqs_function_error_leaves_the_whole_batch(stack: Stack) -> None:
    sqs = boto3.client("sqs")
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=stack.queue_url("Queue"), MessageBody=body)

    def respond(event: dict[str, Any]) -> Any:
        raise RuntimeError("down")

    sqs_poller(stack, FakeFunction(respond)).poll_once()
    attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_url("Queue"), AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"


def test_an_invalid_batch_item_failure_fails_the_whole_batch(stack: Stack) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=stack.queue_url("Queue"), MessageBody="a")
    sqs_poller(stack, FakeFunction(lambda _: {"batchItemFailures": [{"itemIdentifier": "nope"}]})).poll_once()
    attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_url("Queue"), AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_sqs_messages_the_filter_drops_are_deleted_unseen(stack: Stack) -> None:
    sqs = boto3.client("sqs")
    for body in ('{"kind": "keep"}', '{"kind": "drop"}', "plain text"):
        sqs.send_message(QueueUrl=stack.queue_url("Queue"), MessageBody=body)
    fake = FakeFunction()
    poller = sqs_poller(stack, fake, filter_patterns=({"body": {"kind": ["keep"]}},))
    assert poller.poll_once() == 3
    assert [record["body"] for event in fake.events for record in event["Records"]] == ['{"kind": "keep"}']
    attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_url("Queue"), AttributeNames=["All"])[
        "Attributes"
    ]
    assert (
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    ) == ("0", "0")


# ---- Threads -----------------------------------------------------------------------------------------


def test_poller_threads_deliver_and_stop_promptly(stack: Stack) -> None:
    fake = FakeFunction()
    pollers = Pollers(stack.functions.values(), fake)
    pollers.start()
    try:
        put(stack, "EVT#1", "outbox")
        boto3.client("sqs").send_message(QueueUrl=stack.queue_url("Queue"), MessageBody="hello")
        assert wait_until(lambda: len(fake.events) == 2)
    finally:
        started = time.monotonic()
        pollers.stop(timeout=5)
    assert time.monotonic() - started < 3
    assert not any(poller.is_alive() for poller in pollers.threads)
    assert sorted(event["Records"][0]["eventSource"] for event in fake.events) == ["aws:dynamodb", "aws:sqs"]


def test_a_quiet_stream_poller_polls_again_once_a_record_is_written(stack: Stack) -> None:
    """moto runs in the pollers' process: a write to a stream ends a stream poller's idle wait (no sooner
    than ACTIVE_POLL_SECONDS after its last poll), so a new record is not read up to a second late; with
    no write the wait lasts, and stopping ends it at once."""
    Pollers([stack.functions["Router"]], FakeFunction())  # installs the write counter, as the stack does
    fake = FakeFunction()
    poller = stream_poller(stack, fake)
    poller.poll_once()

    started = time.monotonic()
    poller.pause(0.5)
    assert time.monotonic() - started >= 0.5  # nothing written: the whole wait

    writer = threading.Timer(0.05, put, (stack, "EVT#1", "outbox"))
    poller.poll_once()
    started = time.monotonic()
    writer.start()
    poller.pause(5.0)
    waited = time.monotonic() - started
    writer.join()
    assert ACTIVE_POLL_SECONDS <= waited < 1.0, waited
    poller.poll_once()
    assert [sort_keys(event) for event in fake.events] == [["EVT#1"]]

    put(stack, "EVT#2", "outbox")  # written before the poll: that poll reads it, the next wait is whole
    poller.poll_once()
    started = time.monotonic()
    poller.pause(0.5)
    assert time.monotonic() - started >= 0.5

    stopper = threading.Timer(0.1, poller.stop_event.set)
    stopper.start()
    started = time.monotonic()
    poller.pause(5.0)
    stopper.join()
    assert time.monotonic() - started < 1.0


def test_a_blind_iterator_is_noticed_logged_and_replaced(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What moto's old rollback did: the table (and its stream shard) swapped for a copy. The
    poller's iterator then reads the orphaned shard; the poller must notice and recover."""
    import copy  # noqa: PLC0415

    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415

    monkeypatch.setattr("infra.local.pollers.VERIFY_SECONDS", 0.0)
    fake = FakeFunction()
    poller = stream_poller(stack, fake)
    put(stack, "EVT#1", "outbox")
    poller.poll_once()
    assert sort_keys(fake.events[0]) == ["EVT#1"]
    tables = dynamodb_backends["123456789012"]["us-east-1"].tables
    name = stack.resources.tables["Table"].name
    tables[name] = copy.deepcopy(tables[name])
    put(stack, "EVT#2", "outbox")

    assert poller.poll_once() == 0  # the old iterator sees nothing; the check replaces it
    assert poller.status()["errors"] == 1
    assert "stopped returning records" in poller.status()["last_error"]["message"]
    assert any("returned nothing while the shard holds records" in r.message for r in caplog.records)
    poller.poll_once()
    assert [sort_keys(event) for event in fake.events] == [["EVT#1"], ["EVT#2"]]  # once each
    assert poller.checkpoints
    assert poller.lag_seconds() == 0.0


def test_a_shard_that_cannot_be_read_is_logged_and_read_again(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeFunction()
    poller = stream_poller(stack, fake)
    put(stack, "EVT#1", "outbox")
    real = poller.client.get_records
    failures = iter([RuntimeError("expired iterator")])

    def flaky(**kwargs: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(**kwargs)

    poller.client.get_records = flaky  # type: ignore[method-assign]
    poller.poll_once()  # the read fails; a new iterator (and the same poll's check) reads EVT#1
    assert any("cannot read shard" in r.message for r in caplog.records if r.levelname == "ERROR")
    put(stack, "EVT#2", "outbox")
    poller.poll_once()
    assert [key for event in fake.events for key in sort_keys(event)] == ["EVT#1", "EVT#2"]
    status = poller.status()
    assert status["errors"] == 1
    assert status["source"] == "stream"


def test_poller_status_shows_state_lag_and_progress(stack: Stack) -> None:
    fake = FakeFunction()
    pollers = Pollers(stack.functions.values(), fake)
    assert {p["state"] for p in pollers.status()} == {"dead"}  # not started, not stopped
    pollers.start()
    try:
        put(stack, "EVT#1", "outbox")
        assert wait_until(lambda: len(fake.events) == 1)
        assert wait_until(pollers.healthy)

        def router_status() -> dict[str, Any]:
            return next(p for p in pollers.status() if p["source"] == "stream")

        # the function has the record before the poller notes its progress (after the invoke returns)
        assert wait_until(lambda: router_status()["last_progress"] is not None)
        router = router_status()
        assert router["records"] >= 1
        assert router["lag_seconds"] < 5
        assert router["last_error"] is None
        assert pollers.checkpoints()[router["name"]]
    finally:
        pollers.stop(timeout=5)
    assert {p["state"] for p in pollers.status()} == {"stopped"}


# ---- Schedules -----------------------------------------------------------------------------------------


def test_rate_schedules_fire_with_the_time_scale_and_can_be_triggered(stack: Stack) -> None:
    fake = FakeFunction(lambda event: {"ran": event})
    scheduler = Scheduler(stack.functions.values(), fake, time_scale=600)  # 1 minute -> 0.1 s
    scheduler.start()
    try:
        assert wait_until(lambda: len(fake.events) >= 2, timeout=3)
    finally:
        scheduler.stop()
    assert fake.events[0] == {"jobs": "often"}

    assert scheduler.trigger("Jobs", "Often") == {"ran": {"jobs": "often"}}
    nightly = scheduler.trigger("Jobs", "Nightly")["ran"]  # no Input: EventBridge's scheduled event
    assert (nightly["detail-type"], nightly["source"], nightly["detail"]) == (
        "Scheduled Event",
        "aws.events",
        {},
    )
    assert nightly["resources"][0].endswith(":rule/pollen-local-Jobs-Nightly")
    with pytest.raises(KeyError):
        scheduler.trigger("Jobs", "Nope")


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 3 * * ? *)", "2026-11-23T10:00:00", "2026-11-24T03:00:00"),
        ("cron(0 3 * * ? *)", "2026-11-23T02:59:30", "2026-11-23T03:00:00"),
        ("cron(0/15 * ? * MON-FRI *)", "2026-11-21T10:07:00", "2026-11-23T00:00:00"),  # Saturday -> Monday
        ("cron(30 9 1 JAN,JUL ? *)", "2026-02-01T00:00:00", "2026-07-01T09:30:00"),
        ("cron(0 12 ? * 1 *)", "2026-11-23T00:00:00", "2026-11-29T12:00:00"),  # 1 = Sunday
        ("cron(15 10 L * ? *)", "2026-11-23T10:00:00", "2026-11-23T10:15:00"),  # L: simplified to daily
    ],
)
def test_cron_next_fire_time(expression: str, after: str, expected: str) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, Cron)
    assert schedule.next_after(_at(after)) == _at(expected)


def test_rate_and_invalid_expressions() -> None:
    assert parse_schedule("rate(1 hour)") == Rate(seconds=3600)
    assert parse_schedule("rate(5 minutes)").next_after(100.0, 10) == 130.0
    for invalid in (
        "rate(0 hours)",
        "rate(1 week)",
        "at(2026-01-01T00:00:00)",
        "cron(0 3 * *)",
        "cron(61 * * * ? *)",
    ):
        with pytest.raises(ValueError):  # noqa: PT011 - each is refused for its own reason
            parse_schedule(invalid)


# ---- In-process Lambda runtime ---------------------------------------------------------------------------

FUNCTION_MODULE = """
import os
import threading
import time
from decimal import Decimal

state = {"active": 0, "peak": 0}
lock = threading.Lock()
instance = object()


def lambda_handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    if event.get("sleep"):
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        time.sleep(event["sleep"])
        with lock:
            state["active"] -= 1
    if event.get("raw"):
        return event["raw"]
    if event.get("decimal"):
        return {"price": Decimal("1.5")}
    if event.get("unserialisable"):
        return {"value": object()}
    return {
        "greeting": os.environ.get("GREETING"),
        "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "forced": os.environ.get("FORCED"),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "instance": id(instance),
        "module": __name__,
    }
"""


@pytest.fixture
def function_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FunctionSpec:
    package = tmp_path / "pollen_runtime_probe"
    package.mkdir()
    (package / "app.py").write_text(FUNCTION_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("GREETING", raising=False)
    return FunctionSpec(
        logical_id="Probe",
        function_name="pollen-local-Probe",
        code_dir="pollen_runtime_probe",
        module="pollen_runtime_probe.app",
        handler_attr="lambda_handler",
        env={"GREETING": "hello", "FORCED": "from-template"},
        timeout=5,
    )


def test_runtime_runs_each_invocation_with_its_function_environment(function_spec: FunctionSpec) -> None:
    runtime = LocalRuntime([function_spec], forced_env={"FORCED": "local"})
    result = runtime.invoke(function_spec, {})
    assert result["greeting"] == "hello"
    assert result["function_name"] == "pollen-local-Probe"
    assert result["forced"] == "local"
    assert 4000 < result["remaining_ms"] <= 5000
    assert "GREETING" not in os.environ  # only inside the invocation


def test_runtime_serialises_like_lambda(function_spec: FunctionSpec) -> None:
    runtime = LocalRuntime([function_spec])
    assert runtime.invoke(function_spec, {"raw": {"n": 1}}) == {"n": 1}
    with pytest.raises(FunctionError, match="asked to fail"):
        runtime.invoke(function_spec, {"fail": True})
    assert runtime.invoke(function_spec, {"decimal": True}) == {"price": 1.5}  # as the Python runtime does
    with pytest.raises(FunctionError, match="cannot serialise"):
        runtime.invoke(function_spec, {"unserialisable": True})
    with pytest.raises(TypeError):
        runtime.invoke(function_spec, {"not json": object()})
    assert runtime.preload() == {}


def test_runtime_gives_concurrent_invocations_their_own_containers(function_spec: FunctionSpec) -> None:
    runtime = LocalRuntime([function_spec], max_containers=2)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(runtime.invoke(function_spec, {"sleep": 0.3})))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(results) == 3
    assert len({result["module"] for result in results}) == 2  # two containers, the third request waited
    assert len({result["instance"] for result in results}) == 2


# ---- HTTP server socket ---------------------------------------------------------------------------------


def _echo_spec(route: HttpRoute) -> FunctionSpec:
    return FunctionSpec(
        logical_id="Echo",
        function_name="pollen-local-Echo",
        code_dir="echo",
        module="functions.echo.app",
        handler_attr="lambda_handler",
        env={},
        http_routes=(route,),
    )


def test_http_server_serves_routes_over_keep_alive_connections() -> None:
    spec = _echo_spec(HttpRoute("POST", "/v1/echo/{word}"))

    def echo(_: FunctionSpec, event: dict[str, Any]) -> Any:
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "cookies": ["seen=1"],
            "body": json.dumps({"word": event["pathParameters"]["word"], "body": event.get("body")}),
        }

    server = LocalHttpServer(("127.0.0.1", 0), LocalApi([spec], echo))
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as client:
            first = client.post("/v1/echo/hi", json={"a": 1})
            assert first.status_code == 200
            assert first.json() == {"word": "hi", "body": '{"a":1}'}
            assert first.headers["set-cookie"] == "seen=1"
            chunks = iter([b'{"b":', b"2}"])
            chunked = client.post(
                "/v1/echo/chunks", content=chunks, headers={"content-type": "application/json"}
            )
            assert chunked.json()["body"] == '{"b":2}'
            untyped = client.post("/v1/echo/raw", content=b"\x00\x01")
            assert untyped.json()["body"] == "AAE="  # no textual content type: base64, as on AWS
            missing = client.get("/v1/nothing")
            assert (missing.status_code, missing.content) == (404, b'{"message":"Not Found"}')
            assert client.head("/v1/nothing").content == b""
    finally:
        server.stop()


def test_a_keep_alive_connection_outlives_the_read_timeout_and_is_closed_after_the_idle_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client pool reuses an idle connection for seconds (httpx: 5): had the server closed it after
    the short read timeout, the next request on it would race the close and get no answer."""
    from infra.local import server as local_server  # noqa: PLC0415 - the module whose timeouts move

    monkeypatch.setattr(local_server._Handler, "timeout", 0.2)
    monkeypatch.setattr(local_server, "IDLE_TIMEOUT_SECONDS", 1.0)
    spec = _echo_spec(HttpRoute("GET", "/v1/echo"))
    server = LocalHttpServer(("127.0.0.1", 0), LocalApi([spec], lambda _s, _e: {"statusCode": 204}))
    server.start()
    request = b"GET /v1/echo HTTP/1.1\r\nHost: local\r\n\r\n"
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
            conn.sendall(request)
            assert conn.recv(4096).startswith(b"HTTP/1.1 204")
            time.sleep(0.5)  # past the read timeout, within the idle one
            conn.sendall(request)
            assert conn.recv(4096).startswith(b"HTTP/1.1 204")
            time.sleep(1.5)  # past the idle timeout: the server has closed its end
            assert conn.recv(4096) == b""
    finally:
        server.stop()
