"""The local stack's saved state (infra/local/state.py) on moto in-process: a snapshot restores the
same items, the stream records no poller has processed, and the queued messages; it is written
atomically, so a crash mid-write leaves the previous snapshot loadable."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from infra.aws_resources import LocalResources, create_resources
from infra.local.state import LocalState, StateError
from infra.moto_atomic import make_dynamodb_writes_atomic

PREFIX = "state-test"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    make_dynamodb_writes_atomic()


@pytest.fixture
def moto(aws_env: None, template: dict[str, Any]) -> Iterator[LocalResources]:
    with mock_aws():
        yield create_resources(template, prefix=PREFIX)


def _stream_records(resources: LocalResources, after: str | None = None) -> list[tuple[str, str]]:
    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    arn = resources.tables["PollenTable"].stream_arn or ""
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    position: dict[str, Any] = (
        {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
        if after
        else {"ShardIteratorType": "TRIM_HORIZON"}
    )
    iterator = streams.get_shard_iterator(StreamArn=arn or "", ShardId=shard, **position)["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    return [(r["dynamodb"]["SequenceNumber"], r["dynamodb"]["Keys"]["SK"]["S"]) for r in records]


def _item(sk: str, **extra: Any) -> dict[str, Any]:
    return {"PK": {"S": "M#demo"}, "SK": {"S": sk}, **extra}


def test_a_snapshot_restores_items_the_unprocessed_stream_and_queued_messages(
    aws_env: None, template: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "state.json"
    with mock_aws():
        resources = create_resources(template, prefix=PREFIX)
        table = resources.tables["PollenTable"].name
        dynamodb = boto3.client("dynamodb")
        for n in range(3):
            dynamodb.put_item(
                TableName=table,
                Item=_item(f"E#{n}", blob={"B": b"\x00\xff"}, n={"N": str(n)}, tags={"SS": ["a", "b"]}),
            )
        first, second, third = (seq for seq, _ in _stream_records(resources))
        sqs = boto3.client("sqs")
        queue = resources.queues["DeliveryQueue"].url
        sqs.send_message(
            QueueUrl=queue,
            MessageBody="ready",
            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
        )
        sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=900)
        received = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"]
        assert [m["Body"] for m in received] == ["ready"]  # received once: receive count 1
        state = LocalState(path, resources)
        # The router has processed up to the second record, the aggregator only the first.
        streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        description = streams.describe_stream(StreamArn=resources.tables["PollenTable"].stream_arn or "")
        shard_id = description["StreamDescription"]["Shards"][0]["ShardId"]
        checkpoints = {"router": {shard_id: second}, "aggregator": {shard_id: first}}
        state.save(state.capture(checkpoints, {"PollenTable": ["router", "aggregator"]}, 86400.0))

    with mock_aws():  # a new process: new, empty resources
        resources = create_resources(template, prefix=PREFIX)
        state = LocalState(path, resources)
        snapshot = state.load()
        assert snapshot is not None
        restored = state.restore(snapshot)
        assert restored.items == 3
        assert restored.messages == 2
        assert restored.clock_offset_seconds == 86400.0
        assert restored.checkpoints["router"] == {shard_id: second}
        table = resources.tables["PollenTable"].name
        items = boto3.client("dynamodb").scan(TableName=table)["Items"]
        assert sorted(i["SK"]["S"] for i in items) == ["E#0", "E#1", "E#2"]
        assert items[0]["blob"] == {"B": b"\x00\xff"}
        assert sorted(items[0]["tags"]["SS"]) == ["a", "b"]
        # Loading wrote no stream records; the tail after the slowest reader is there, same numbers.
        assert _stream_records(resources) == [(second, "E#1"), (third, "E#2")]
        assert _stream_records(resources, after=second) == [(third, "E#2")]
        sqs = boto3.client("sqs")
        queue = resources.queues["DeliveryQueue"].url
        messages = sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )["Messages"]
        assert [m["Body"] for m in messages] == ["ready"]  # "later" is still delayed
        assert messages[0]["Attributes"]["ApproximateReceiveCount"] == "2"
        assert messages[0]["MessageAttributes"]["k"]["StringValue"] == "v"
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )
        assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"


def test_a_crash_mid_write_leaves_the_previous_snapshot(
    moto: LocalResources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    state = LocalState(path, moto)
    table = moto.tables["PollenTable"].name
    boto3.client("dynamodb").put_item(TableName=table, Item=_item("BEFORE"))
    state.save(state.capture({}, {}, 0.0))
    saved = path.read_text()

    boto3.client("dynamodb").put_item(TableName=table, Item=_item("AFTER"))

    def crash(fd: int) -> None:
        raise OSError("disk gone mid-write")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="mid-write"):
        state.save(state.capture({}, {}, 0.0))
    assert path.read_text() == saved  # the half-written file never replaced it
    snapshot = state.load()
    assert snapshot is not None
    assert [i["SK"]["S"] for i in snapshot["tables"]["PollenTable"]["items"]] == ["BEFORE"]


def test_an_unreadable_snapshot_is_refused_with_the_way_out(moto: LocalResources, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = LocalState(path, moto)
    assert state.load() is None
    path.write_text('{"format": 1, "tables": {')
    with pytest.raises(StateError, match="dev-reset"):
        state.load()
    path.write_text(json.dumps({"format": 99}))
    with pytest.raises(StateError, match="format"):
        state.load()
