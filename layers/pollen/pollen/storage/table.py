"""Reads and single-item writes on the table. Transactions live in :mod:`transactions`."""

from __future__ import annotations

from random import uniform
from time import sleep
from typing import Any, cast

from botocore.exceptions import ClientError

from pollen.storage import client
from pollen.storage.codec import deserialize, serialize, serialize_value
from pollen.storage.errors import ConditionFailed, Throttled
from pollen.storage.keys import Key
from pollen.storage.pagination import Page, decode_cursor, encode_cursor
from pollen.storage.transactions import Transaction

GSI1 = "GSI1"
GSI2 = "GSI2"  # wallets by due day (INCLUDE: entity, merchant_id, customer_id)


BATCH_GET_LIMIT = 100  # keys per BatchGetItem
# Keys DynamoDB leaves unprocessed (it does under throttling) are asked again after a backoff: at most
# this many BatchGetItem calls per 100 keys, the retries' waits drawn from [0, 50 ms doubling, capped
# at 1 s] ("full jitter"): at most 3.55 s of waiting in all, within a function's 10 s.
BATCH_GET_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 1.0


def backoff_seconds(retry: int) -> float:
    """The wait before retry number ``retry`` (0 for the first): uniform in [0, min(cap, base * 2**retry)].
    Tests patch this module's ``sleep`` (and ``uniform``) rather than wait."""
    return uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**retry))  # noqa: S311 - jitter


class Table:
    def __init__(self, name: str) -> None:
        self.name = name

    def transaction(self) -> Transaction:
        return Transaction(self.name)

    def get(self, key: Key, *, consistent: bool = False) -> dict[str, Any] | None:
        response = client.dynamodb().get_item(
            TableName=self.name, Key=serialize(key.as_dict()), ConsistentRead=consistent
        )
        item = response.get("Item")
        return deserialize(item) if item else None

    def put(
        self,
        item: dict[str, Any],
        *,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        label: str = "item",
    ) -> None:
        args: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            args["ConditionExpression"] = condition
            args["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if names:
            args["ExpressionAttributeNames"] = names
        if values:
            args["ExpressionAttributeValues"] = {k: serialize_value(v) for k, v in values.items()}
        try:
            client.dynamodb().put_item(**args)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                old = cast("dict[str, Any]", exc.response).get("Item")
                raise ConditionFailed([label], {label: deserialize(old) if old else {}}) from exc
            raise

    def update(
        self,
        key: Key,
        *,
        update: str,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        condition: str | None = None,
        label: str = "item",
    ) -> None:
        """One UpdateItem (creates the item when absent, unless ``condition`` says otherwise)."""
        args: dict[str, Any] = {
            "TableName": self.name,
            "Key": serialize(key.as_dict()),
            "UpdateExpression": update,
        }
        if condition:
            args["ConditionExpression"] = condition
        if names:
            args["ExpressionAttributeNames"] = names
        if values:
            args["ExpressionAttributeValues"] = {k: serialize_value(v) for k, v in values.items()}
        try:
            client.dynamodb().update_item(**args)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConditionFailed([label], {label: {}}) from exc
            raise

    def delete(self, key: Key) -> None:
        """One DeleteItem (deleting an absent item succeeds)."""
        client.dynamodb().delete_item(TableName=self.name, Key=serialize(key.as_dict()))

    def query(
        self,
        pk: str,
        *,
        sk_prefix: str | None = None,
        sk_upto: str | None = None,
        sk_from: str | None = None,
        index: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        newest_first: bool = False,
        consistent: bool = False,
        filter_attr: tuple[str, list[str]] | None = None,
    ) -> Page[dict[str, Any]]:
        """One Query call: a page of one partition (optionally an SK prefix or upper bound), opaque cursor."""
        pk_attr, sk_attr = (f"{index}PK", f"{index}SK") if index in {GSI1, GSI2} else ("PK", "SK")
        condition = "#pk = :pk"
        names = {"#pk": pk_attr}
        values: dict[str, Any] = {":pk": serialize_value(pk)}
        if sk_prefix:
            condition += " AND begins_with(#sk, :sk)"
            names["#sk"] = sk_attr
            values[":sk"] = serialize_value(sk_prefix)
        elif sk_upto:
            condition += " AND #sk <= :sk"
            names["#sk"] = sk_attr
            values[":sk"] = serialize_value(sk_upto)
        elif sk_from:
            condition += " AND #sk >= :sk"
            names["#sk"] = sk_attr
            values[":sk"] = serialize_value(sk_from)
        args: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
        }
        if filter_attr:
            attr, allowed = filter_attr
            names["#f"] = attr
            placeholders = []
            for i, value in enumerate(allowed):
                values[f":f{i}"] = serialize_value(value)
                placeholders.append(f":f{i}")
            args["FilterExpression"] = f"#f IN ({', '.join(placeholders)})"
        if index:
            args["IndexName"] = index
        else:
            args["ConsistentRead"] = consistent
        if limit:
            args["Limit"] = limit
        if cursor:
            args["ExclusiveStartKey"] = decode_cursor(cursor, partition_attr=pk_attr, partition_value=pk)
        response = client.dynamodb().query(**args)
        items = [deserialize(i) for i in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(items=items, next_cursor=encode_cursor(dict(last)) if last else None)

    def batch_get(self, keys: list[Key], *, consistent: bool = True) -> dict[Key, dict[str, Any]]:
        """Items of several partitions by key (absent ones left out): one BatchGetItem per 100
        distinct keys, DynamoDB's limit (it refuses more, and a key asked twice). Keys it leaves
        unprocessed are asked again, alone, after a growing jittered wait (:func:`backoff_seconds`);
        still unprocessed after :data:`BATCH_GET_ATTEMPTS` calls, :class:`Throttled` is raised."""
        distinct = list(dict.fromkeys(keys))
        found: dict[Key, dict[str, Any]] = {}
        for start in range(0, len(distinct), BATCH_GET_LIMIT):
            chunk = distinct[start : start + BATCH_GET_LIMIT]
            request: Any = {
                self.name: {"Keys": [serialize(k.as_dict()) for k in chunk], "ConsistentRead": consistent}
            }
            for attempt in range(BATCH_GET_ATTEMPTS):
                if attempt:
                    sleep(backoff_seconds(attempt - 1))
                response = client.dynamodb().batch_get_item(RequestItems=request)
                for raw in response.get("Responses", {}).get(self.name, []):
                    item = deserialize(raw)
                    found[Key(item["PK"], item["SK"])] = item
                request = response.get("UnprocessedKeys") or None
                if not request:
                    break
            else:  # every attempt left keys unprocessed: the table is throttled
                left = sum(len(table.get("Keys", [])) for table in request.values())
                raise Throttled(attempts=BATCH_GET_ATTEMPTS, unprocessed=left)
        return found

    def query_all(
        self, pk: str, *, sk_prefix: str | None = None, index: str | None = None, consistent: bool = False
    ) -> list[dict[str, Any]]:
        """Every item of a (small) partition: one call unless it exceeds 1 MB."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.query(pk, sk_prefix=sk_prefix, index=index, cursor=cursor, consistent=consistent)
            items.extend(page.items)
            if page.next_cursor is None:
                return items
            cursor = page.next_cursor
