"""Coupon items, one per code (so a code is unique per merchant and found by code at checkout),
listed per customer through GSI1, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pollen.clock import isoformat
from pollen.domain.coupons import Coupon
from pollen.storage.keys import PENDING_ENTITY as PENDING_ENTITY  # noqa: PLC0414 - re-exported
from pollen.storage.keys import coupon_key, coupon_pending_key, customer_coupons_gsi1pk, due_index
from pollen.storage.pagination import Page
from pollen.storage.table import GSI1, Table
from pollen.storage.transactions import Transaction

COUPON_ENTITY = "coupon"


def coupon_item(merchant_id: str, coupon: Coupon) -> dict[str, Any]:
    return {
        **coupon_key(merchant_id, coupon.code).as_dict(),
        "entity": COUPON_ENTITY,
        "merchant_id": merchant_id,
        **coupon.model_dump(mode="json"),
        "GSI1PK": customer_coupons_gsi1pk(merchant_id, coupon.customer_id),
        "GSI1SK": f"{isoformat(coupon.created_at)}#{coupon.code}",
    }


def parse_coupon_item(item: dict[str, Any]) -> Coupon:
    return Coupon.model_validate(item)


def put_coupon(
    tx: Transaction, merchant_id: str, coupon: Coupon, *, expected_version: int | None, label: str = "coupon"
) -> None:
    """A new coupon must not reuse a code; a changed one must be the version that was read."""
    item = coupon_item(merchant_id, coupon)
    if expected_version is None:
        tx.put(item, label=label, condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item, label=label, condition="#v = :v", names={"#v": "version"}, values={":v": expected_version}
        )


def put_pending_marker(
    tx: Transaction, merchant_id: str, coupon: Coupon, now: datetime, *, label: str = "coupon-pending"
) -> None:
    """Listed in the due index, so the scheduled job settles a coupon whose request died mid-way."""
    key = coupon_pending_key(merchant_id, coupon.code)
    tx.put(
        {
            **key.as_dict(),
            "entity": PENDING_ENTITY,
            "merchant_id": merchant_id,
            "code": coupon.code,
            "customer_id": coupon.customer_id,
            "created_at": isoformat(now),
            **due_index(key.pk, now.date().isoformat()),
        },
        label=label,
    )


def delete_pending_marker(tx: Transaction, merchant_id: str, code: str) -> None:
    tx.delete(coupon_pending_key(merchant_id, code), label="coupon-pending")


def customer_coupons(
    table: Table, merchant_id: str, customer_id: str, *, limit: int, cursor: str | None
) -> Page[Coupon]:
    page = table.query(
        customer_coupons_gsi1pk(merchant_id, customer_id),
        index=GSI1,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )
    return Page([parse_coupon_item(item) for item in page.items], page.next_cursor)
