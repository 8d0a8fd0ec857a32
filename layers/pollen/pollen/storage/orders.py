"""Order items: the facts received about an order and the coins it has applied to a wallet."""

from __future__ import annotations

import hashlib
from typing import Any

from pollen.clock import isoformat
from pollen.domain.orders import OrderRecord, confirmation_due, guest_email
from pollen.storage.keys import Key, due_index, guest_orders_gsi1pk, order_key
from pollen.storage.order_images import ORDER_ENTITY
from pollen.storage.transactions import Transaction


def _index(merchant_id: str, record: OrderRecord) -> dict[str, str]:
    """GSI1: a guest order waits under its email for a customer; a paid order waits for confirmation
    (what it waits for is the domain's rule: pollen.domain.orders.guest_email, confirmation_due)."""
    key = order_key(merchant_id, record.order_id)
    if (email := guest_email(record)) is not None:
        return {"GSI1PK": guest_orders_gsi1pk(merchant_id, email), "GSI1SK": key.pk}
    if (due := confirmation_due(record)) is not None:
        return due_index(key.pk, due.isoformat())
    return {}


MAX_DELIVERIES = 4  # a webhook retried after four newer changes to its order merges as a no-op


def delivery_digest(delivery_id: str, request_digest: str) -> str:
    """A webhook delivery as the order item remembers it: 12 hex of its id, 8 of its body's digest
    (20 bytes instead of a ~530-byte receipt item: docs/design.md "Cost per order")."""
    return hashlib.sha256(delivery_id.encode()).hexdigest()[:12] + request_digest[:8]


def order_item(merchant_id: str, record: OrderRecord) -> dict[str, Any]:
    """Defaults are left out (they parse back the same): the item stays under 1 KB, 1 WRU."""
    return {
        **order_key(merchant_id, record.order_id).as_dict(),
        "entity": ORDER_ENTITY,
        "merchant_id": merchant_id,
        **record.model_dump(
            mode="json", exclude={"paid_at", "updated_at", "data_since"}, exclude_defaults=True
        ),
        "paid_at": isoformat(record.paid_at) if record.paid_at else None,
        "updated_at": isoformat(record.updated_at) if record.updated_at else None,
        **_data_since(record),
        **_index(merchant_id, record),
    }


def _has_total(record: OrderRecord) -> bool:
    return record.facts.data is not None and record.facts.data.total is not None


def _data_since(record: OrderRecord) -> dict[str, int]:
    """The first write with order data (and its total) names its own version; later writes keep it."""
    if record.data_since is not None:
        return {"data_since": record.data_since}
    return {"data_since": record.version} if _has_total(record) else {}


def order_ref(key: Key) -> str:
    """The order id from an order item's key."""
    return key.pk.rsplit("#O#", 1)[1]


def parse_order_item(item: dict[str, Any]) -> OrderRecord:
    record = OrderRecord.model_validate(item)
    if record.data_since is None and _has_total(record):
        # Written before data_since was kept: its first image with data is unknown (0 says so), and
        # analytics counts it by its marker, as it did when that image was streamed.
        return record.model_copy(update={"data_since": 0})
    return record


def put_order(tx: Transaction, merchant_id: str, record: OrderRecord, *, expected_version: int) -> None:
    item = order_item(merchant_id, record)
    if expected_version == 0:
        tx.put(item, label="order", condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item, label="order", condition="#v = :v", names={"#v": "version"}, values={":v": expected_version}
        )
