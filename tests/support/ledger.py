"""The shared ledger invariant (docs/design.md 2): after any test, every wallet equals its ledger."""

from __future__ import annotations

import os
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from infra.moto_atomic import frozen
from pollen.storage.lots import stored
from tests.support.clients import client_for
from tests.support.moto_state import moto_table

_des = TypeDeserializer()


def _in_process_items(table_name: str, entities: frozenset[str] | None = None) -> list[dict[str, Any]] | None:
    """The table's items read from moto's in-process back-end (the ``aws`` fixture's), as a Scan
    would deserialize them: the check after every test without a Scan through the API (moto sizes
    every item of a Scan and serializes the answer: an eighth of the integration tests' time). None
    when the table is not there (a moto server, in the end-to-end tests). With ``entities``, only items
    of those entities are converted."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return None
    with frozen():
        table = moto_table(table_name, region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        if table is None:
            return None
        items = table.all_items()
        if entities is not None:
            items = [item for item in items if _of(item.attrs.get("entity"), entities)]
        return [item.to_regular_json() for item in items]


def _of(entity: Any, entities: frozenset[str]) -> bool:
    """Whether moto's ``DynamoType`` of an item's entity is a string among ``entities``."""
    return entity is not None and entity.type == "S" and entity.value in entities


CHECKED = frozenset({"customer", "ledger", "coupon"})  # what the check reads


def _items(table_name: str) -> list[dict[str, Any]]:
    found = _in_process_items(table_name, CHECKED)
    if found is not None:
        return found
    ddb = client_for("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table_name}
    while True:
        page = ddb.scan(**kwargs)
        items.extend({k: _des.deserialize(v) for k, v in i.items()} for i in page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def assert_ledgers_balance(table_name: str) -> int:
    """For every customer: balance = sum of signed ledger coins ≥ 0, lots sum to the balance, entries
    are numbered 1..n with each ``balance_after`` following from the one before, and the coins
    redeemed (net of refunds) are exactly those held by coupons not cancelled — no coins taken
    without a coupon, no coupon without coins. Returns the number of wallets checked."""
    items = _items(table_name)
    wallets = {i["PK"]: i for i in items if i.get("entity") == "customer"}
    entries: dict[str, list[dict[str, Any]]] = {}
    held: dict[tuple[str, str], int] = {}  # coins held by coupons not cancelled, per wallet key and merchant
    for item in items:
        if item.get("entity") == "ledger":
            entries.setdefault(item["PK"], []).append(item)
        elif item.get("entity") == "coupon" and item["stored_status"] != "cancelled":
            owner = (f"M#{item['merchant_id']}#C#{item['customer_id']}", item["merchant_id"])
            held[owner] = held.get(owner, 0) + item["coins"]
    assert set(entries) <= set(wallets), "ledger entries without a wallet"
    for pk, customer in wallets.items():
        wallet = customer["wallet"]
        ledger = sorted(entries.get(pk, []), key=lambda e: e["SK"])
        running = 0
        for n, entry in enumerate(ledger, start=1):
            assert entry["seq"] == n, f"{pk}: ledger entry {n} is numbered {entry['seq']}"
            running += entry["coins"] if entry["operation"] == "credit" else -entry["coins"]
            assert running >= 0, f"{pk}: balance went negative at entry {n}"
            assert entry["balance_after"] == running, f"{pk}: entry {n} balance_after mismatch"
        assert wallet["balance"] == running, f"{pk}: balance {wallet['balance']} != ledger sum {running}"
        lots = stored(wallet["lots"])  # packed (storage/lots.py)
        assert sum(lots.values()) == wallet["balance"], f"{pk}: lots do not sum to the balance"
        assert wallet["ledger_seq"] == len(ledger)
        assert wallet["pending"] >= 0
        spent = sum(
            e["coins"] if e["type"] == "redeem" else -e["coins"]
            for e in ledger
            if e["type"] in {"redeem", "refund"}
        )
        live = held.get((pk, customer["merchant_id"]), 0)
        assert spent == live, f"{pk}: {spent} coins redeemed net of refunds, but live coupons hold {live}"
    return len(wallets)
