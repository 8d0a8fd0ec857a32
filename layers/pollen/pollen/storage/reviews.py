"""Review-request items: one per order, listed in the due index (GSI1) under the day it falls due
until the scheduled job sends or skips it (then the index attributes are removed)."""

from __future__ import annotations

from typing import Any

from pollen.clock import isoformat
from pollen.domain.reviews import ReviewRecord
from pollen.storage.errors import ConditionFailed
from pollen.storage.keys import REVIEW_ENTITY as REVIEW_ENTITY  # noqa: PLC0414 - re-exported
from pollen.storage.keys import Key, due_index, review_request_key
from pollen.storage.table import Table
from pollen.storage.transactions import Transaction


def review_item(merchant_id: str, record: ReviewRecord) -> dict[str, Any]:
    key = review_request_key(merchant_id, record.order_id)
    item = {
        **key.as_dict(),
        "entity": REVIEW_ENTITY,
        "merchant_id": merchant_id,
        **record.model_dump(mode="json", exclude_none=True),
        "scheduled_at": isoformat(record.scheduled_at),
    }
    if record.status == "pending":
        item.update(due_index(key.pk, record.due_on.isoformat()))
    return item


def parse_review_item(item: dict[str, Any]) -> ReviewRecord:
    return ReviewRecord.model_validate(item)


def schedule(table: Table, merchant_id: str, record: ReviewRecord) -> bool:
    """Write the request unless the order already has one; True when this call wrote it."""
    try:
        table.put(review_item(merchant_id, record), condition="attribute_not_exists(PK)", label="review")
    except ConditionFailed:
        return False
    return True


def stage_schedule(tx: Transaction, merchant_id: str, record: ReviewRecord) -> None:
    """The request in another write's transaction (that write happens once per order: no condition)."""
    tx.put(review_item(merchant_id, record), label="review-request")


def stage_settled(tx: Transaction, merchant_id: str, record: ReviewRecord) -> None:
    """Sent or skipped, out of the due index; only from ``pending`` (a second job run changes nothing)."""
    tx.put(
        review_item(merchant_id, record),
        label="review-request",
        condition="#s = :pending",
        names={"#s": "status"},
        values={":pending": "pending"},
    )


def review_key(merchant_id: str, order_id: str) -> Key:
    return review_request_key(merchant_id, order_id)
