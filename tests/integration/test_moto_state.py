"""The copied moto state every test starts from (tests/support/moto_state.py) is what the API builds:
the same table, indexes, TTL, stream, queues and attributes, and after the demo store the same items
and stream records."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws

from infra.aws_resources import LocalResources, create_resources
from tests.support.moto_state import BackendState, table_untouched

REGION = "us-east-1"


def _describe(resources: LocalResources) -> dict[str, Any]:
    ddb, sqs = boto3.client("dynamodb", region_name=REGION), boto3.client("sqs", region_name=REGION)
    streams = boto3.client(
        "dynamodbstreams", region_name=REGION, config=Config(account_id_endpoint_mode="disabled")
    )
    table = resources.tables["PollenTable"]
    described = ddb.describe_table(TableName=table.name)["Table"]
    shard = streams.describe_stream(StreamArn=str(table.stream_arn))["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=str(table.stream_arn), ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return {
        "table": {k: v for k, v in described.items() if k not in ("CreationDateTime",)},
        "ttl": ddb.describe_time_to_live(TableName=table.name)["TimeToLiveDescription"],
        "items": sorted(
            (str(i) for i in ddb.scan(TableName=table.name)["Items"]),
        ),
        "stream": list(streams.get_records(ShardIterator=iterator)["Records"]),
        "queues": {
            q.name: sqs.get_queue_attributes(QueueUrl=q.url, AttributeNames=["All"])["Attributes"]
            for q in resources.queues.values()
        },
        "urls": sorted(sqs.list_queues().get("QueueUrls", [])),
    }


def _without_times(described: dict[str, Any]) -> dict[str, Any]:
    queues = {
        name: {k: v for k, v in attrs.items() if k not in ("CreatedTimestamp", "LastModifiedTimestamp")}
        for name, attrs in described["queues"].items()
    }
    stream = [  # an event's id and time (and moto's size, which counts them) are its own
        {**r, "eventID": "", "dynamodb": {**r["dynamodb"], "ApproximateCreationDateTime": "", "SizeBytes": 0}}
        for r in described["stream"]
    ]
    return {**described, "queues": queues, "stream": stream}


def _write_items(table: str) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    for n in range(30):
        ddb.put_item(
            TableName=table, Item={"PK": {"S": f"M#m#C#{n}"}, "SK": {"S": "CUSTOMER"}, "n": {"N": str(n)}}
        )
    ddb.delete_item(TableName=table, Key={"PK": {"S": "M#m#C#3"}, "SK": {"S": "CUSTOMER"}})


def test_a_copy_of_the_backends_is_the_state_the_api_built(template: dict[str, Any]) -> None:
    with mock_aws():
        resources = create_resources(template, prefix="pollen-state")
        table = resources.tables["PollenTable"].name
        assert table_untouched(resources.account_id, resources.region, table)
        bare = BackendState.capture(resources.account_id, resources.region)
        built = _describe(resources)
        _write_items(table)
        assert not table_untouched(resources.account_id, resources.region, table)
        written = _describe(resources)
        assert len(written["stream"]) == 31
        filled = BackendState.capture(resources.account_id, resources.region)
        boto3.client("sqs", region_name=REGION).send_message(
            QueueUrl=resources.queues["DeliveryQueue"].url, MessageBody="after the capture"
        )

    with mock_aws():  # moto resets: nothing is left until a state is restored
        assert boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"] == []
        bare.restore()
        assert _without_times(_describe(resources)) == _without_times(built)
        _write_items(table)  # a restored copy takes writes like the original
        assert _without_times(_describe(resources)) == _without_times(written)

    with mock_aws():
        filled.restore()
        assert _describe(resources)["stream"] == written["stream"]  # the very records, ids and times
        assert _without_times(_describe(resources)) == _without_times(written)
        sqs = boto3.client("sqs", region_name=REGION)
        url = resources.queues["DeliveryQueue"].url
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)  # taken after the copy
        sqs.send_message(QueueUrl=url, MessageBody="one")
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["one"]
        filled.restore()  # a second copy is independent of the first one's changes
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
