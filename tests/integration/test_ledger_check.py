"""The ledger check every test ends with (tests/support/ledger.py) reads moto's back-end directly:
it sees what a Scan returns, and it still catches a wallet that does not equal its ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer

from infra.aws_resources import LocalResources
from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from tests.support import ledger


def _scanned(table: str) -> list[dict[str, object]]:
    des = TypeDeserializer()
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return [{k: des.deserialize(v) for k, v in item.items()} for item in items]


def _key(item: dict[str, object]) -> tuple[str, str]:
    return str(item["PK"]), str(item["SK"])


def test_the_direct_read_is_what_a_scan_returns(aws: LocalResources, demo: DemoStore) -> None:
    table = aws.tables["PollenTable"].name
    odd: dict[str, Any] = {
        "PK": "M#x#ODD",
        "SK": "ITEM",
        "entity": "ledger",  # one the check reads (the demo store has no wallets yet)
        "n": Decimal("12.50"),
        "ns": {Decimal(1), Decimal(2)},
        "ss": {"a", "b"},
        "b": Binary(b"\x00\x01"),
        "flag": True,
        "none": None,
        "deep": {"list": [1, "two", {"three": [Decimal(3)]}], "empty": {}},
    }
    boto3.resource("dynamodb").Table(table).put_item(Item=odd)
    direct = ledger._in_process_items(table)
    assert direct is not None
    assert sorted(direct, key=_key) == sorted(_scanned(table), key=_key)
    assert len(direct) > 20  # the demo store's items and the odd one
    checked = ledger._in_process_items(table, ledger.CHECKED)
    assert checked is not None
    assert sorted(checked, key=_key) == sorted(
        (i for i in _scanned(table) if i.get("entity") in ledger.CHECKED), key=_key
    )
    assert [_key(i) for i in checked] == [("M#x#ODD", "ITEM")]
    boto3.client("dynamodb").delete_item(TableName=table, Key={"PK": {"S": "M#x#ODD"}, "SK": {"S": "ITEM"}})


def test_a_wallet_that_is_not_its_ledger_fails_the_check(
    aws: LocalResources, demo: DemoStore, api: InProcessApi
) -> None:
    table = aws.tables["PollenTable"].name
    keys = demo.api_keys
    assert api.put("/v1/customers/c-1", key=keys.write, json_body={"email": "c-1@example.com"}).status == 201
    adjusted = api.post(
        "/v1/admin/customers/c-1/adjustments", key=keys.admin, json_body={"coins": 40, "reason": "gift"}
    )
    assert adjusted.status == 201, adjusted.body
    assert ledger.assert_ledgers_balance(table) == 1
    ddb = boto3.resource("dynamodb").Table(table)
    original: Any = next(i for i in _scanned(table) if i.get("entity") == "customer")
    ddb.put_item(Item={**original, "wallet": {**original["wallet"], "balance": 41}})
    with pytest.raises(AssertionError, match="balance 41 != ledger sum 40"):
        ledger.assert_ledgers_balance(table)
    ddb.put_item(Item=original)  # as it was: the fixture's own check passes
    assert ledger.assert_ledgers_balance(table) == 1
