"""Shopify's mandatory privacy webhooks: export a customer's data, erase it, remove the shop.

Erasure keeps the ledger's sums: the wallet and its entries stay (they hold coins, ids and dates,
no contact data); the profile's email, phone and names, the email/phone look-ups, the email and
phone of the orders Shopify names (and of guest orders placed with that email) and the contact
kept on coupons are erased. Each handler is idempotent: a redelivery finds nothing left to change.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field

from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.errors import NotFound
from pollen.domain.orders import OrderFacts, OrderRecord
from pollen.events.envelope import OutboxEvent
from pollen.model import BaseModel
from pollen.observability import logger
from pollen.services.container import Container
from pollen.services.program import get_program
from pollen.services.retry import retrying
from pollen.storage import privacy as store

if TYPE_CHECKING:
    from pollen.services.unit_of_work import UnitOfWork
from pollen.storage.keys import without_keys


class PrivacyCustomer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int | None = None
    email: str | None = None
    phone: str | None = None


class DataRequest(BaseModel):
    """``customers/data_request``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    shop_domain: str
    customer: PrivacyCustomer
    orders_requested: list[int] = Field(default_factory=list, max_length=10_000)
    data_request: dict[str, Any] = Field(default_factory=dict)


class CustomerRedact(BaseModel):
    """``customers/redact``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    shop_domain: str
    customer: PrivacyCustomer
    orders_to_redact: list[int] = Field(default_factory=list, max_length=10_000)


class ShopRedact(BaseModel):
    """``shop/redact``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    shop_domain: str


def _customer(uow: UnitOfWork, who: PrivacyCustomer) -> CustomerRecord | None:
    """The customer Shopify names: by id, else by the email's look-up."""
    if who.id is not None:
        found = uow.customers.get(str(who.id))
        if found is not None:
            return found
    if who.email:
        customer_id = uow.customers.contact_owner("email", who.email.strip().lower())
        return uow.customers.get(customer_id) if customer_id else None
    return None


def _orders(c: Container, merchant_id: str, order_ids: list[str]) -> list[OrderRecord]:
    uow, wanted = c.units.begin(merchant_id), list(dict.fromkeys(order_ids))
    for order_id in wanted:
        uow.orders.want(order_id)
    return [order for order_id in wanted if (order := uow.orders.get(order_id))]


def data_export(c: Container, merchant_id: str, request_id: str) -> dict[str, Any]:
    """The export collected for a ``customers/data_request`` (404 for an unknown request id)."""
    item = store.get_export(c.table, merchant_id, request_id)
    if item is None:
        raise NotFound("No data request with this id.")
    return item


def data_request(c: Container, merchant_id: str, request: DataRequest, *, now: datetime) -> dict[str, Any]:
    """Collect what Pollen holds about the customer and keep it for the merchant to fetch
    (``GET /v1/admin/privacy/data-requests/{id}``); a redelivery keeps the first export."""
    request_id = str(request.data_request.get("id") or f"customer-{request.customer.id}")
    record = _customer(c.units.begin(merchant_id), request.customer)
    order_ids = [str(o) for o in request.orders_requested]
    export: dict[str, Any] = {"customer": None, "wallet": None, "ledger": [], "coupons": [], "orders": []}
    if record is not None:
        customer_id = record.customer.customer_id
        export["customer"] = record.customer.model_dump(mode="json")
        export["wallet"] = record.wallet.model_dump(mode="json", exclude={"version"})
        export["ledger"] = [
            without_keys(item) for item in store.ledger_items(c.table, merchant_id, customer_id)
        ]
        export["coupons"] = [
            coupon.model_dump(mode="json", exclude={"lots", "version"})
            for coupon in store.coupons_of(c.table, merchant_id, customer_id)
        ]
    export["orders"] = [
        {"order_id": o.order_id, "customer_id": o.customer_id, "facts": o.facts.model_dump(mode="json")}
        for o in _orders(c, merchant_id, order_ids)
    ]
    stored = store.put_export(c.table, merchant_id, request_id, export, now)
    return {"data_request_id": request_id, "customer_found": record is not None, "duplicate": not stored}


def _erased(customer: Customer, now: datetime) -> Customer:
    return customer.model_copy(
        update={
            "email": None,
            "phone": None,
            "first_name": None,
            "last_name": None,
            "email_verified": False,
            "redacted_at": customer.redacted_at or now,
            "updated_at": now,
        }
    )


def _has_personal_data(customer: Customer) -> bool:
    return any((customer.email, customer.phone, customer.first_name, customer.last_name))


def redact_customer(
    c: Container, merchant_id: str, request: CustomerRedact, *, now: datetime
) -> dict[str, Any]:
    program = get_program(c, merchant_id)
    email = request.customer.email.strip().lower() if request.customer.email else None

    def erase_profile() -> CustomerRecord | None:
        uow = c.units.begin(merchant_id)
        record = _customer(uow, request.customer)
        if record is None or not _has_personal_data(record.customer):
            return record
        before = record.customer
        after = record.with_profile(_erased(before, now))
        contacts: list[tuple[Literal["email", "phone"], str]] = (
            [("email", before.email)] if before.email else []
        )
        if before.phone and any(ch.isdigit() for ch in before.phone):
            contacts.append(("phone", before.phone))
        for kind, value in contacts:
            uow.customers.want_contact(kind, value)
        uow.customers.save_profile(after, before=record, program=program, today=now.date())
        for kind, value in contacts:
            if uow.customers.contact_owner(kind, value) == before.customer_id:
                uow.customers.unlink(kind, value, before.customer_id)
        # beside the merchant, not the customer (the customer's own events are erased below)
        uow.emit_event(
            OutboxEvent(
                event_type="customer_redacted",
                merchant_id=merchant_id,
                occurred_at=now,
                payload={"customer_id": before.customer_id},
            )
        )
        uow.commit()
        return after

    record = retrying(erase_profile)
    order_ids = [str(o) for o in request.orders_to_redact]
    if email:
        order_ids += store.guest_order_ids(c.table, merchant_id, email)
    erased_orders = [o for o in order_ids if _erase_order(c, merchant_id, o, now)]
    coupons = 0
    if record is not None:
        for coupon in store.coupons_of(c.table, merchant_id, record.customer.customer_id):
            if coupon.contact:
                store.erase_coupon_contact(c.table, merchant_id, coupon.code)
                coupons += 1
        # Events about the customer carry their contact; they were streamed when written.
        for key in store.outbox_keys(c.table, merchant_id, record.customer.customer_id):
            store.delete_item(c.table, key)
    logger.info("customer redacted", extra={"orders": len(erased_orders), "coupons": coupons})
    return {
        "customer_found": record is not None,
        "orders_redacted": sorted(set(erased_orders)),
        "coupons_redacted": coupons,
    }


def _erase_order(c: Container, merchant_id: str, order_id: str, now: datetime) -> bool:
    """Blank the email and phone an order carries (a guest order leaves the email index); its coins stay."""

    def attempt() -> bool:
        uow = c.units.begin(merchant_id)
        record = uow.orders.get(order_id)
        if record is None:
            return False
        data = record.facts.data
        if data is None or (data.email is None and data.phone is None):
            return False
        facts = OrderFacts.model_validate(
            {**record.facts.model_dump(), "data": data.model_copy(update={"email": None, "phone": None})}
        )
        after = record.model_copy(update={"facts": facts, "version": record.version + 1, "updated_at": now})
        uow.orders.save(after, expected_version=record.version)
        uow.commit()
        return True

    return retrying(attempt)


def redact_shop(c: Container, merchant_id: str, *, now: datetime) -> dict[str, Any]:
    """Remove the shop: its access token is erased and the connection marked redacted (Shopify no
    longer drives coupons or orders for it). The webhook secret and domain stay only so that
    redeliveries of this webhook still verify; ``PUT /v1/admin/shopify`` connects a shop again."""
    config = c.config.get(merchant_id)
    connection = config.shopify if config else None
    if connection is None or connection.redacted_at is not None:
        return {"shop_redacted": True, "duplicate": True}
    tombstone = connection.model_copy(update={"admin_access_token": None, "redacted_at": now})
    uow = c.units.begin(merchant_id)
    uow.merchants.connect_shopify(tombstone)  # the domain and webhook secret stay: retries still verify
    uow.emit_event(
        OutboxEvent(
            event_type="shop_redacted",
            merchant_id=merchant_id,
            occurred_at=now,
            payload={"shop_domain": connection.shop_domain},
        )
    )
    uow.commit()
    c.config.invalidate(merchant_id)
    return {"shop_redacted": True, "duplicate": False}
