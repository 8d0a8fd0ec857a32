"""Customers: create or update profiles; new ones may claim guest orders placed with their email."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pollen.domain.customers import Customer, CustomerData
from pollen.domain.errors import NotFound
from pollen.domain.wallet import Wallet
from pollen.events.envelope import OutboxEvent
from pollen.services.container import Container
from pollen.services.retry import retrying
from pollen.storage.customers import CustomerRecord, CustomerStore, put_customer, put_email_link


@dataclass(frozen=True)
class UpsertResult:
    record: CustomerRecord
    created: bool


def merged_profile(existing: Customer | None, data: CustomerData, *, now: datetime, source: str) -> Customer:
    """Known fields are updated; fields the caller leaves out keep their value."""
    if existing is None:
        return Customer(**data.model_dump(), created_at=now, updated_at=now, source=source)
    fields = {k: v for k, v in data.model_dump().items() if v is not None}
    return existing.model_copy(update={**fields, "updated_at": now})


def customer_event(merchant_id: str, customer: Customer, now: datetime) -> OutboxEvent:
    return OutboxEvent(
        event_type="customer_created",
        merchant_id=merchant_id,
        customer_id=customer.customer_id,
        occurred_at=now,
        payload=customer.model_dump(
            mode="json", include={"customer_id", "email", "phone", "first_name", "last_name"}
        ),
    )


def upsert_customer(
    c: Container, merchant_id: str, data: CustomerData, *, now: datetime, source: str
) -> UpsertResult:
    store = CustomerStore(c.table)

    def attempt() -> UpsertResult:
        existing = store.get(merchant_id, data.customer_id)
        profile = merged_profile(existing.customer if existing else None, data, now=now, source=source)
        wallet = existing.wallet if existing else Wallet(customer_id=data.customer_id)
        record = CustomerRecord(profile, wallet.model_copy(update={"version": wallet.version + 1}))
        tx = c.table.transaction()
        put_customer(tx, merchant_id, record, expected_version=existing.version if existing else None)
        if profile.email and (existing is None or existing.customer.email != profile.email):
            put_email_link(tx, merchant_id, profile.email, profile.customer_id)
        if existing is None:
            tx.put(customer_event(merchant_id, profile, now).to_item(), label="event")
        tx.commit()
        return UpsertResult(record, existing is None)

    return retrying(attempt)


def get_customer(c: Container, merchant_id: str, customer_id: str) -> CustomerRecord:
    record = CustomerStore(c.table).get(merchant_id, customer_id, consistent=False)
    if record is None:
        raise NotFound("No customer with this id.")
    return record
