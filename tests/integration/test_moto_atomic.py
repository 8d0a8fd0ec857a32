"""The moto stand-in (infra/moto_atomic.py): failed transactions roll back in place, stream readers
keep reading after one, and concurrent reads and writes never fail for moto's reasons.

The last test asserts the moto internals the stand-in and the local snapshot rely on, so a moto
upgrade that changes them fails here, by name, rather than as a stalled poller."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb import models as moto_dynamodb_models
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.sqs.models import Message, Queue, SQSBackend

from infra.moto_atomic import make_dynamodb_writes_atomic, make_sqs_receive_linear

TABLE = "atomic-test"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    make_dynamodb_writes_atomic()
    make_sqs_receive_linear()
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def _item(pk: str, sk: str, **extra: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}, **{k: {"S": v} for k, v in extra.items()}}


class _Reader:
    """A stream reader that keeps one iterator, as a poller (or a Lambda event source) does."""

    def __init__(self) -> None:
        self.streams = boto3.client(
            "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
        )
        arn = boto3.client("dynamodb").describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = self.streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def read(self) -> list[tuple[str, str]]:
        response = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = response["NextShardIterator"]
        return [(r["eventName"], r["dynamodb"]["Keys"]["SK"]["S"]) for r in response["Records"]]


def test_a_cancelled_transaction_keeps_the_table_and_its_stream_readers(dynamodb: Any) -> None:
    tables = dynamodb_backends["123456789012"]["us-east-1"].tables
    table_before = tables[TABLE]
    dynamodb.put_item(TableName=TABLE, Item=_item("M#1", "A", v="1"))
    reader = _Reader()
    assert reader.read() == [("INSERT", "A")]

    # The first write applies (A changes, B is created), the second's condition fails: all undone.
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item("M#1", "B", v="new")}},
                {"Put": {"TableName": TABLE, "Item": _item("M#1", "A", v="2")}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"PK": {"S": "M#1"}, "SK": {"S": "C"}},
                        "UpdateExpression": "SET v = :v",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": {":v": {"S": "x"}},
                    }
                },
            ]
        )
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert tables[TABLE] is table_before, "the table object must never be swapped for a backup"
    scan = dynamodb.scan(TableName=TABLE)["Items"]
    assert scan == [_item("M#1", "A", v="1")]
    assert reader.read() == [], "a failed transaction emits no stream records"

    # A validation failure (two operations on one item) rolls back too; then a normal write is seen.
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item("M#1", "D")}},
                {"Delete": {"TableName": TABLE, "Key": {"PK": {"S": "M#1"}, "SK": {"S": "A"}}}},
                {"Delete": {"TableName": TABLE, "Key": {"PK": {"S": "M#1"}, "SK": {"S": "A"}}}},
            ]
        )
    assert dynamodb.scan(TableName=TABLE)["Items"] == [_item("M#1", "A", v="1")]
    dynamodb.put_item(TableName=TABLE, Item=_item("M#1", "E"))
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": _item("M#1", "F")}},
            {"Delete": {"TableName": TABLE, "Key": {"PK": {"S": "M#1"}, "SK": {"S": "A"}}}},
        ]
    )
    assert reader.read() == [("INSERT", "E"), ("INSERT", "F"), ("REMOVE", "A")]


def test_concurrent_reads_and_conditional_writes_never_fail_for_moto(dynamodb: Any) -> None:
    errors: list[str] = []
    created: list[int] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        try:
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": TABLE,
                            "Item": _item(f"M#{n % 7}", "ONCE"),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {"Put": {"TableName": TABLE, "Item": _item(f"M#{n % 7}", f"E#{n}")}},
                ]
            )
            with lock:
                created.append(n)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                errors.append(repr(exc))

    def read(n: int) -> None:
        try:
            dynamodb.query(
                TableName=TABLE,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": f"M#{n % 7}"}},
            )
            dynamodb.scan(TableName=TABLE)
            dynamodb.get_item(TableName=TABLE, Key={"PK": {"S": f"M#{n}"}, "SK": {"S": "none"}})
        except Exception as exc:  # any failure is the test's finding
            errors.append(repr(exc))

    with ThreadPoolExecutor(16) as pool:
        for n in range(150):
            pool.submit(write, n)
            pool.submit(read, n)
    assert errors == []
    assert len(created) == 7, "exactly one writer per partition passes attribute_not_exists"
    assert len(dynamodb.scan(TableName=TABLE)["Items"]) == 14


def test_the_moto_internals_the_stand_in_relies_on_are_there() -> None:
    problems = []
    if not hasattr(moto_dynamodb_models, "copy"):
        problems.append("moto.dynamodb.models no longer imports `copy` (the transaction backup seam)")
    for owner, names in {
        DynamoDBBackend: ("transact_write_items", "get_keys_value", "get_table"),
        DynamoDBStreamsBackend: ("get_records", "get_shard_iterator"),
        SQSBackend: ("receive_message", "get_queue", "is_message_valid_based_on_retention_period"),
        Queue: ("wait_for_messages", "add_message"),
        StreamShard: ("add", "get"),
        Table: ("get_item", "put_item", "delete_item"),
    }.items():
        problems += [f"{owner.__name__}.{name} is gone" for name in names if not hasattr(owner, name)]
    message = Message("id", "body")
    for name in ("visible_at", "delayed_until", "approximate_receive_count", "message_attributes"):
        if not hasattr(message, name):
            problems.append(f"Message.{name} is gone")
    queue: Any = Queue("internals", "123456789012", "us-east-1")  # type: ignore[abstract]
    for name in ("_messages", "_messages_lock"):
        if not hasattr(queue, name):
            problems.append(f"Queue.{name} is gone")
    assert not problems, "moto changed under infra/moto_atomic.py and infra/local/state.py: " + "; ".join(
        problems
    )


@pytest.mark.parametrize("how", ["DelaySeconds", "VisibilityTimeout"])
def test_a_long_poll_returns_a_message_as_soon_as_it_can_be_received(dynamodb: Any, how: str) -> None:
    """A message delayed (or received and not deleted) after a long poll began is returned the moment it
    becomes receivable, as SQS does; moto's own wait saw it only at the next whole second of the poll
    (here 2 s in, not 1.1 s)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"due-{how}")["QueueUrl"]
    handle = ""
    if how == "VisibilityTimeout":  # received (in flight for 30 s), then due again in 1 s, as a retry is
        sqs.send_message(QueueUrl=url, MessageBody="due")
        handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]["ReceiptHandle"]

    def make_it_due_in_a_second() -> None:
        time.sleep(0.1)
        other = boto3.client("sqs", region_name="us-east-1")
        if how == "DelaySeconds":
            other.send_message(QueueUrl=url, MessageBody="due", DelaySeconds=1)
        else:
            other.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=1)

    helper = threading.Thread(target=make_it_due_in_a_second)
    started = time.monotonic()
    helper.start()
    try:
        received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=4).get("Messages", [])
        elapsed = time.monotonic() - started
    finally:
        helper.join()
    assert [message["Body"] for message in received] == ["due"]
    assert 1.0 <= elapsed < 1.7, f"received {elapsed:.2f} s into the poll; receivable 1.1 s in"
