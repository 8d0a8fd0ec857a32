"""The profile properties a delivery pushes to Klaviyo/Omnisend: read fresh at delivery time."""

from __future__ import annotations

from pollen.domain.profile import ProfileProperties
from pollen.services.container import Container
from pollen.storage.customers import CustomerStore


def profile_properties(c: Container, merchant_id: str, customer_id: str | None) -> ProfileProperties | None:
    """The customer's properties now (one eventually consistent GetItem, half a read unit), or None
    for an event about no customer or a customer since erased. Read at delivery rather than stored in
    every outbox event: a retried or replayed delivery then sends the current balance, not the one of
    the moment the event happened, and outbox items stay small."""
    if not customer_id:
        return None
    record = CustomerStore(c.table).get(merchant_id, customer_id, consistent=False)
    return ProfileProperties.of(record.wallet) if record is not None else None
