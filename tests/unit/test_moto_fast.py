"""infra/moto_fast.py: moto's answers are the same with the cached attribute picker as without it,
and the moto internals it relies on are still where it expects them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

import boto3
import moto
import moto.core.responses as moto_responses
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.core.serialize import BaseJSONSerializer, ResponseSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

from infra.moto_fast import (
    ATTRIBUTE_VALUE_MEMBERS,
    MAX_ITEM_BYTES,
    CachedKeysAttributePicker,
    make_moto_responses_fast,
)

ITEM: dict[str, Any] = {
    "PK": {"S": "M#m#C#c"},
    "SK": {"S": "CUSTOMER"},
    "n": {"N": "12.50"},
    "z": {"N": "1"},
    "b": {"B": b"\x00\x01\xff"},
    "bs": {"BS": [b"a", b"b"]},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2"]},
    "m": {
        "M": {"l": {"L": [{"N": "1"}, {"BOOL": False}, {"NULL": True}, {"M": {}}, {"L": []}]}, "s": {"S": ""}}
    },
    "e": {"SS": ["é", "\u2603"]},
}


def _calls() -> list[Callable[[], Any]]:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    streams = boto3.client(  # as infra/local/pollers.py makes it (moto serves no account endpoints)
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    stream_arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def records() -> Any:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )
        inserted = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"][0]
        assert inserted["dynamodb"]["NewImage"] == ITEM  # each pass adds MODIFY records: compare the first
        return inserted

    keys = {"PK": ITEM["PK"], "SK": ITEM["SK"]}
    url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    return [
        lambda: ddb.describe_table(TableName="t"),
        lambda: ddb.scan(TableName="t"),
        lambda: ddb.query(
            TableName="t", KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": ITEM["PK"]}
        ),
        lambda: ddb.get_item(TableName="t", Key=keys),
        lambda: ddb.batch_get_item(RequestItems={"t": {"Keys": [keys]}}),
        lambda: ddb.update_item(
            TableName="t",
            Key=keys,
            UpdateExpression="SET z = :z",
            ExpressionAttributeValues={":z": {"N": "1"}},
            ReturnValues="ALL_NEW",
        ),
        ddb.list_tables,
        records,
        lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        sqs.list_queues,
    ]


def _answers(picker: type[XFormedAttributePicker], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(moto_responses, "XFormedAttributePicker", picker)
    answers = []
    for call in _calls():
        answer = call()
        answer.pop("ResponseMetadata", None)
        answers.append(answer)
    return answers


def test_answers_are_the_same_with_and_without_the_cached_picker(monkeypatch: pytest.MonkeyPatch) -> None:
    make_moto_responses_fast()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        ddb.put_item(TableName="t", Item=ITEM)
        boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="q")
        fast = _answers(CachedKeysAttributePicker, monkeypatch)
        assert CachedKeysAttributePicker._keys, "the cached picker was not used"
        slow = _answers(XFormedAttributePicker, monkeypatch)
    for got, expected in zip(fast, slow, strict=True):
        got.get("Table", {}).pop("CreationDateTime", None)
        expected.get("Table", {}).pop("CreationDateTime", None)
        assert got == expected
    assert fast[1]["Items"] == [ITEM]


def _explain(what: str) -> str:
    return f"moto {moto.__version__} changed an internal that infra/moto_fast.py relies on: {what}"


def test_the_moto_internals_the_cached_picker_relies_on() -> None:
    assert "XFormedAttributePicker(" in inspect.getsource(moto_responses.ActionResult.execute_result), (
        _explain("ActionResult.execute_result no longer builds moto.core.responses.XFormedAttributePicker")
    )
    source = inspect.getsource(inspect.unwrap(ResponseSerializer.get_value))
    if getattr(ResponseSerializer.get_value, "__pollen_fast__", False):
        source = inspect.getsource(ResponseSerializer.get_value.__closure__[0].cell_contents)  # type: ignore[index]
    assert "self._value_picker(context)" in source, _explain("ResponseSerializer.get_value")
    for name in ("get_possible_keys", "__call__"):
        assert name in vars(moto.core.serialize.AttributePicker), _explain(f"AttributePicker.{name}")
    assert "response_transformers" in inspect.getsource(moto.core.serialize.AttributePicker.__init__)
    assert "_base64" in vars(ResponseSerializer), _explain("ResponseSerializer._base64")
    assert "_serialize_type_structure" in vars(BaseJSONSerializer), _explain("BaseJSONSerializer structures")
    for service in ("dynamodb", "dynamodbstreams"):
        shape: Any = get_service_model(service).shape_for("AttributeValue")
        assert tuple(shape.members) == ATTRIBUTE_VALUE_MEMBERS, f"{service}'s AttributeValue changed"


def _moto_item_init() -> Callable[..., None]:
    """moto's own ``Item.__init__``, which make_moto_responses_fast replaced."""
    make_moto_responses_fast()
    assert getattr(Item.__init__, "__pollen_fast__", False)
    init: Callable[..., None] = Item.__init__.moto_init  # type: ignore[attr-defined]
    return init


def test_items_are_built_the_same_and_refused_at_the_same_size() -> None:
    moto_init = _moto_item_init()
    attrs = {k: v for k, v in ITEM.items() if k not in ("PK", "SK")}
    hash_key, range_key = DynamoType(ITEM["PK"]), DynamoType(ITEM["SK"])
    fast = Item(hash_key, range_key, attrs)
    slow = cast(Item, Item.__new__(Item))
    moto_init(slow, hash_key, range_key, attrs)
    assert fast == slow
    assert fast.to_json() == slow.to_json()
    assert fast.size() == slow.size()
    assert type(fast.attrs) is LimitedSizeDict  # later SETs still go through moto's check
    for size in (MAX_ITEM_BYTES - 30, MAX_ITEM_BYTES + 1):  # around the limit, over several attributes
        big = {f"a{n}": {"S": "x" * (size // 4)} for n in range(4)}
        outcomes = []
        for init in (Item.__init__, moto_init):
            try:
                init(cast(Item, Item.__new__(Item)), hash_key, range_key, big)
                outcomes.append("ok")
            except ItemSizeTooLarge:
                outcomes.append("too large")
        assert outcomes[0] == outcomes[1], (size, outcomes)
    assert outcomes == ["too large", "too large"]


def test_the_moto_item_internals_the_linear_build_relies_on() -> None:
    source = inspect.getsource(_moto_item_init())
    assert "self.attrs = LimitedSizeDict()" in source, _explain("Item.__init__")
    assert "self.attrs[key] = DynamoType(value)" in source, _explain("Item.__init__")
    assert f"> {MAX_ITEM_BYTES}" in inspect.getsource(LimitedSizeDict.__setitem__).replace("_", ""), _explain(
        "LimitedSizeDict's size limit"
    )
