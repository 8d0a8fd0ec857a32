"""Personal-data exports and erasure (Shopify's privacy webhooks): the items and conditions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pollen.clock import isoformat
from pollen.domain.coupons import Coupon
from pollen.domain.merchants import ShopifyConnection
from pollen.storage.coupons import parse_coupon_item
from pollen.storage.errors import ConditionFailed
from pollen.storage.keys import (
    Key,
    coupon_key,
    customer_coupons_gsi1pk,
    customer_pk,
    data_request_key,
    email_key,
    guest_orders_gsi1pk,
    phone_key,
)
from pollen.storage.merchant_config import shopify_item
from pollen.storage.table import GSI1, Table
from pollen.storage.transactions import Transaction

if TYPE_CHECKING:
    from pollen.storage.ports import UnlinkContact

EXPORT_ENTITY = "data_request"
EXPORT_RETENTION = timedelta(days=90)


def put_export(
    table: Table, merchant_id: str, request_id: str, export: dict[str, Any], now: datetime
) -> bool:
    """Store the export once (a redelivered request keeps the first); True when this call stored it."""
    item = {
        **data_request_key(merchant_id, request_id).as_dict(),
        "entity": EXPORT_ENTITY,
        "merchant_id": merchant_id,
        "request_id": request_id,
        "export": export,
        "created_at": isoformat(now),
        "expires_at": int((now + EXPORT_RETENTION).timestamp()),
    }
    try:
        table.put(item, condition="attribute_not_exists(PK)", label="data-request")
    except ConditionFailed:
        return False
    return True


def get_export(table: Table, merchant_id: str, request_id: str) -> dict[str, Any] | None:
    return table.get(data_request_key(merchant_id, request_id), consistent=True)


def ledger_items(table: Table, merchant_id: str, customer_id: str) -> list[dict[str, Any]]:
    return table.query_all(customer_pk(merchant_id, customer_id), sk_prefix="TXN#")


def coupons_of(table: Table, merchant_id: str, customer_id: str) -> list[Coupon]:
    items = table.query_all(customer_coupons_gsi1pk(merchant_id, customer_id), index=GSI1)
    return [parse_coupon_item(item) for item in items]


def guest_order_ids(table: Table, merchant_id: str, email: str) -> list[str]:
    return [str(i["order_id"]) for i in table.query_all(guest_orders_gsi1pk(merchant_id, email), index=GSI1)]


def outbox_keys(table: Table, merchant_id: str, customer_id: str) -> list[Key]:
    """The customer's outbox events still in the table (kept 7 days for routing; already streamed)."""
    items = table.query_all(customer_pk(merchant_id, customer_id), sk_prefix="EVT#")
    return [Key(item["PK"], item["SK"]) for item in items]


def delete_item(table: Table, key: Key) -> None:
    table.delete(key)


def delete_link(tx: Transaction, key: Key, customer_id: str) -> None:
    """Delete a look-up item only while it still points at this customer."""
    tx.delete(
        key,
        label=f"contact-link-{key.pk.rsplit('#', 2)[-2].lower()}",
        condition="customer_id = :c",
        values={":c": customer_id},
    )


def stage_unlink(tx: Transaction, merchant_id: str, change: UnlinkContact) -> None:
    """An email or phone look-up deleted while it still points at the customer (:func:`delete_link`)."""
    contact = change.contact
    key = (
        email_key(merchant_id, contact.value)
        if contact.kind == "email"
        else phone_key(merchant_id, contact.value)
    )
    delete_link(tx, key, change.customer_id)


def erase_coupon_contact(table: Table, merchant_id: str, code: str) -> None:
    table.update(
        coupon_key(merchant_id, code),
        update="SET contact = :empty",
        values={":empty": {}},
        condition="attribute_exists(PK)",
        label="coupon",
    )


def put_shop_tombstone(tx: Transaction, merchant_id: str, connection: ShopifyConnection) -> None:
    """The connection without its access token, marked redacted; the domain and webhook secret stay
    so that Shopify's retries of ``shop/redact`` still verify (and answer the same)."""
    tx.put(shopify_item(merchant_id, connection), label="shopify")
