"""A ledger entry as its ``wallet_transaction`` event: the entry is the event (docs/design.md, "Cost
per order"), so a wallet change writes no outbox item of its own.

The ledger item carries what the event needs beyond the entry (its event id and the wallet's pending
coins) but no contact data: erasure leaves ledger entries alone. The event router fills the payload's
``customer`` from the customer's item when it routes the event (``with_customer``); the analytics
aggregator counts the event without it. The payload is the catalogue's ``WalletTransactionPayload``
(:mod:`pollen.events.catalogue`), built here as plain JSON so the stream functions do not load the
catalogue's models (docs/design.md, "Cold start"); ``tests/unit/test_event_catalogue.py`` holds the two
to one shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pollen.domain.customers import contact_fields
from pollen.events.deliverable import WALLET_TRANSACTION
from pollen.events.envelope import OutboxEvent

if TYPE_CHECKING:
    from pollen.domain.customers import Customer
    from pollen.domain.wallet import LedgerEntry


def event_customer(customer_id: str, customer: Customer | None) -> dict[str, Any]:
    """The payload's ``customer``: the profile as it is now (blank after an erasure), or the id alone
    when the customer's item is gone."""
    return contact_fields(customer, customer_id)


def wallet_transaction(
    merchant_id: str,
    customer_id: str,
    entry: LedgerEntry,
    *,
    event_id: str,
    pending: int,
    customer: Customer | None = None,
) -> OutboxEvent:
    """The entry's event; without ``customer`` its payload names the customer by id only."""
    return OutboxEvent(
        event_id=event_id,
        event_type=WALLET_TRANSACTION,
        merchant_id=merchant_id,
        customer_id=customer_id,
        occurred_at=entry.created_at,
        payload={
            "transaction_id": entry.txn_id,
            "transaction_type": entry.type.value,
            "operation": entry.operation.value,
            "coins": entry.coins,
            "balance_after": entry.balance_after,
            "source": entry.source.value,
            "reference": entry.reference,
            "expires_on": entry.expires_on.isoformat() if entry.expires_on else None,
            "note": entry.note,
            "pending": pending,
            "customer": event_customer(customer_id, customer),
        },
    )


def with_customer(event: OutboxEvent, customer: Customer | None) -> OutboxEvent:
    """A ledger entry's event with its ``customer`` filled from the customer's item (None: gone)."""
    customer_id = event.customer_id or ""
    payload = {**event.payload, "customer": event_customer(customer_id, customer)}
    return event.model_copy(update={"payload": payload})
