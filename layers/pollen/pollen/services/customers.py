"""Customers: create or update profiles; a new email claims the guest orders placed with it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pollen.domain.customers import Customer, CustomerData, CustomerRecord, new_record
from pollen.domain.errors import NotFound
from pollen.domain.values import value
from pollen.observability import logger
from pollen.services.contacts import customer_fields
from pollen.services.container import Container
from pollen.services.program import get_program
from pollen.services.retry import retrying
from pollen.storage.customers import CustomerStore

if TYPE_CHECKING:
    from pollen.events.envelope import OutboxEvent

CUSTOMER_CREATED = "customer_created"


@value
class UpsertResult:
    record: CustomerRecord
    created: bool
    claimed_orders: list[str]


def merged_profile(
    existing: Customer | None,
    data: CustomerData,
    *,
    now: datetime,
    source: str,
    email_verified: bool = False,
) -> Customer:
    """Known fields are updated; fields the caller leaves out keep their value. A new email is
    verified only when the caller proves it; the same email again keeps what was proven."""
    if existing is None:
        verified = bool(data.email) and email_verified
        return Customer(
            **data.model_dump(), created_at=now, updated_at=now, source=source, email_verified=verified
        )
    fields = {k: v for k, v in data.model_dump().items() if v is not None}
    verified = existing.email_verified
    if data.email is not None:
        verified = email_verified or (existing.email_verified and data.email == existing.email)
    return existing.model_copy(update={**fields, "updated_at": now, "email_verified": verified})


def customer_event(merchant_id: str, customer: Customer, now: datetime) -> OutboxEvent:
    from pollen.events.envelope import OutboxEvent  # noqa: PLC0415 - a new customer only (cold start)

    return OutboxEvent(
        event_type=CUSTOMER_CREATED,
        merchant_id=merchant_id,
        customer_id=customer.customer_id,
        occurred_at=now,
        payload={"customer": customer_fields(customer), "source": customer.source},
    )


def upsert_customer(
    c: Container,
    merchant_id: str,
    data: CustomerData,
    *,
    now: datetime,
    source: str,
    email_verified: bool = False,
) -> UpsertResult:
    """Create or update the profile (the wallet is untouched), then, if the email is verified (a
    signed Shopify webhook, or a server key that says so), credit guest orders placed with it, each
    through the ordinary order path (so each is exactly-once on its own). An unverified email moves
    no coins: setting someone else's email never captures their guest orders."""
    program = get_program(c, merchant_id)

    def attempt() -> tuple[CustomerRecord, bool]:
        uow = c.units.begin(merchant_id)
        existing = uow.customers.get(data.customer_id)
        profile = merged_profile(
            existing.customer if existing else None,
            data,
            now=now,
            source=source,
            email_verified=email_verified,
        )
        if existing is not None and profile.model_copy(
            update={"updated_at": existing.customer.updated_at}
        ) == (existing.customer):
            return existing, False  # nothing new: no write
        record = existing.with_profile(profile) if existing else new_record(profile)
        uow.customers.save_profile(record, before=existing, program=program, today=now.date())
        if existing is None:
            uow.emit_event(customer_event(merchant_id, profile, now))
        uow.commit()
        return record, existing is None

    record, created = retrying(attempt)
    if created and (record.customer.email or record.customer.phone):  # an invited friend signs up
        from pollen.services.referrals import link_signup  # noqa: PLC0415 - new customers only (cold start)

        link_signup(c, merchant_id, data.customer_id, record.customer.email, record.customer.phone, now=now)
    verified = record.customer.email_verified and bool(record.customer.email)
    claimed = claim_guest_orders(c, merchant_id, record.customer, now=now) if verified else []
    if claimed:
        record = CustomerStore(c.table).get(merchant_id, data.customer_id) or record
    return UpsertResult(record, created, claimed)


def claim_guest_orders(c: Container, merchant_id: str, customer: Customer, *, now: datetime) -> list[str]:
    """Guest orders wait in GSI1 under their email; each is attached and settled like any order.
    Only for a verified email (see :func:`upsert_customer`)."""
    if not customer.email or not customer.email_verified:
        return []
    order_ids = c.units.store.guest_orders(merchant_id, customer.email)
    claimed: list[str] = []
    if not order_ids:
        return claimed
    # The order path (and what it imports) only when there are guest orders to claim: a profile
    # update should not cost a cold start the whole order-writing path.
    from pollen.domain.orders import OrderFacts  # noqa: PLC0415
    from pollen.services.orders import record_order_fact  # noqa: PLC0415

    for order_id in order_ids:
        outcome = record_order_fact(
            c,
            merchant_id,
            order_id,
            OrderFacts(),
            now=now,
            customer=CustomerData(customer_id=customer.customer_id),
        )
        if outcome.order.customer_id == customer.customer_id:
            claimed.append(order_id)
    if claimed:
        logger.info("guest orders claimed", extra={"customer_id": customer.customer_id, "orders": claimed})
    return claimed


def get_customer(c: Container, merchant_id: str, customer_id: str) -> CustomerRecord:
    record = CustomerStore(c.table).get(merchant_id, customer_id, consistent=False)
    if record is None:
        raise NotFound("No customer with this id.")
    return record
