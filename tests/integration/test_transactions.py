"""The transaction builder on moto: all-or-nothing, receipts answer replays, failures are precise."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from pollen.events.envelope import OutboxEvent
from pollen.storage import client
from pollen.storage.errors import ConditionFailed, DuplicateRequest, WriteConflict
from pollen.storage.keys import Key
from pollen.storage.receipts import Receipt, fingerprint
from pollen.storage.table import Table

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WALLET = Key("M#m1#C#c1", "WALLET")


def _receipt(key: str = "idem-1", response: dict[str, Any] | None = None) -> Receipt:
    return Receipt(
        merchant_id="m1",
        scope="trigger",
        idempotency_key=key,
        request_fingerprint=fingerprint({"coins": 10}),
        status=201,
        response=response or {"coins": 10},
        created_at=NOW,
    )


def _credit(table: Table, coins: int, receipt: Receipt) -> None:
    tx = table.transaction()
    tx.update(
        WALLET,
        label="wallet",
        update="ADD balance :c",
        condition="attribute_not_exists(balance) OR balance >= :zero",
        values={":c": coins, ":zero": 0},
    )
    tx.receipt(receipt.to_item())
    tx.put(
        OutboxEvent(event_type="t", merchant_id="m1", customer_id="c1", occurred_at=NOW).to_item(), label="e"
    )
    tx.commit()


@pytest.fixture
def table(table_name: str) -> Table:
    return Table(table_name)


def test_change_receipt_and_event_commit_together(table: Table) -> None:
    _credit(table, 10, _receipt())
    assert table.get(WALLET, consistent=True) == {"PK": WALLET.pk, "SK": WALLET.sk, "balance": 10}
    items = table.query_all(WALLET.pk)
    assert [i["entity"] for i in items if i["SK"].startswith("EVT#")] == ["outbox"]


def test_a_replay_changes_nothing_and_returns_the_first_answer(table: Table) -> None:
    _credit(table, 10, _receipt(response={"coins": 10, "transaction_id": "t-1"}))
    for _ in range(5):
        with pytest.raises(DuplicateRequest) as info:
            _credit(table, 10, _receipt(response={"coins": 10, "transaction_id": "t-2"}))
        stored = Receipt.from_item(info.value.receipt)
        assert stored.response == {"coins": 10, "transaction_id": "t-1"}
    assert table.get(WALLET, consistent=True)["balance"] == 10  # type: ignore[index]
    assert len([i for i in table.query_all(WALLET.pk) if i["SK"].startswith("EVT#")]) == 1


def test_a_failed_condition_names_its_item_and_writes_nothing(table: Table) -> None:
    table.put({**WALLET.as_dict(), "balance": 5})
    tx = table.transaction()
    tx.update(
        WALLET,
        label="wallet",
        update="ADD balance :d",
        condition="balance >= :need",
        values={":d": -9, ":need": 9},
    )
    tx.receipt(_receipt().to_item())
    with pytest.raises(ConditionFailed) as info:
        tx.commit()
    assert info.value.labels == ["wallet"]
    assert info.value.items["wallet"]["balance"] == 5  # the old image explains why
    assert table.get(WALLET, consistent=True)["balance"] == 5  # type: ignore[index]
    assert table.query_all(_receipt().to_item()["PK"]) == []  # receipt not written either


def test_a_transaction_conflict_is_a_retryable_error(table: Table) -> None:
    ddb = client.dynamodb()
    with Stubber(ddb) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            service_message="Transaction cancelled",
            modeled_fields={"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]},
        )
        tx = table.transaction()
        tx.put({**WALLET.as_dict(), "balance": 1}, label="wallet")
        tx.receipt(_receipt().to_item())
        with pytest.raises(WriteConflict):
            tx.commit()


def test_labels_must_be_unique_and_transactions_bounded(table: Table) -> None:
    tx = table.transaction()
    tx.put({**WALLET.as_dict()}, label="a")
    with pytest.raises(ValueError, match="duplicate"):
        tx.put({**WALLET.as_dict()}, label="a")
    for i in range(99):
        tx.put({"PK": "M#m1#X", "SK": str(i)}, label=f"x{i}")
    with pytest.raises(ValueError, match="at most 100"):
        tx.put({"PK": "M#m1#X", "SK": "100"}, label="overflow")


def test_racing_retries_of_one_request_apply_once(table: Table) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def attempt() -> None:
        start.wait()
        try:
            _credit(table, 7, _receipt("same-key"))
            result = "applied"
        except DuplicateRequest:
            result = "duplicate"
        except WriteConflict:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("applied") == 1
    assert table.get(WALLET, consistent=True)["balance"] == 7  # type: ignore[index]


def test_condition_checks_and_deletes_take_part_in_the_transaction(table: Table) -> None:
    coupon = Key("M#m1#C#c1", "COUPON#A")
    table.put({**coupon.as_dict(), "status": "used"})
    table.put({**WALLET.as_dict(), "balance": 3})
    tx = table.transaction()
    tx.check(
        coupon, label="coupon", condition="#s = :issued", names={"#s": "status"}, values={":issued": "issued"}
    )
    tx.delete(WALLET, label="wallet")
    with pytest.raises(ConditionFailed) as info:
        tx.commit()
    assert info.value.labels == ["coupon"]
    assert info.value.items["coupon"]["status"] == "used"
    assert table.get(WALLET, consistent=True) is not None  # the delete did not happen

    tx = table.transaction()
    tx.check(coupon, label="coupon", condition="#s = :used", names={"#s": "status"}, values={":used": "used"})
    tx.delete(WALLET, label="wallet", condition="balance = :b", values={":b": 3})
    tx.commit()
    assert table.get(WALLET, consistent=True) is None


def test_a_change_of_one_item_is_a_single_write_with_the_same_errors(table: Table, calls: Any) -> None:
    """One item needs no transaction: a conditional PutItem/UpdateItem/DeleteItem is as atomic, at half
    the write units. A failed condition still names its label with the old image, a receipt still
    answers a replay, and a lone condition check still goes through TransactWriteItems."""
    calls.reset()
    table.transaction().put_new({**WALLET.as_dict(), "balance": 5}, label="wallet").commit()
    assert calls.snapshot() == {"PutItem": 1}
    with pytest.raises(ConditionFailed) as taken:
        table.transaction().put_new({**WALLET.as_dict(), "balance": 9}, label="wallet").commit()
    assert taken.value.labels == ["wallet"]
    tx = table.transaction()
    tx.update(WALLET, label="wallet", update="ADD balance :c", condition="balance >= :c", values={":c": 6})
    with pytest.raises(ConditionFailed) as short:
        tx.commit()
    assert short.value.items == {"wallet": {"PK": WALLET.pk, "SK": WALLET.sk, "balance": 5}}  # as it stood
    first = _receipt("idem-one")
    table.transaction().receipt(first.to_item()).commit()
    with pytest.raises(DuplicateRequest) as replay:
        table.transaction().receipt(_receipt("idem-one", {"coins": 99}).to_item()).commit()
    assert Receipt.from_item(replay.value.receipt).response == first.response
    table.transaction().delete_existing(WALLET, label="wallet").commit()
    with pytest.raises(ConditionFailed):
        table.transaction().delete_existing(WALLET, label="wallet").commit()
    calls.reset()
    with pytest.raises(ConditionFailed):
        table.transaction().check_exists(WALLET, label="wallet").commit()
    assert calls.snapshot() == {"TransactWriteItems": 1}
