"""Staging a wallet change: the customer item, its ledger entries and their events, in one transaction.

Every use case that moves coins (orders, triggers, adjustments, expiry, redemption) builds the new
wallet with the pure rules in :mod:`pollen.domain.wallet` and stages it here, so the ledger, the
balance and the ``wallet_transaction`` events can never disagree (docs/design.md invariants 1 and 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.wallet import LedgerEntry, Wallet
from pollen.events.envelope import OutboxEvent
from pollen.model import BaseModel

WALLET_TRANSACTION = "wallet_transaction"


@dataclass(frozen=True)
class WalletChange:
    """``before`` is None when the customer is created by this change."""

    before: CustomerRecord | None
    after: CustomerRecord
    entries: list[LedgerEntry] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before is None or self.before.wallet != self.after.wallet or self.entries != []


def customer_fields(customer: Customer) -> dict[str, Any]:
    """Who an event is about: what Klaviyo/Omnisend need to find the profile, without another read."""
    return customer.model_dump(
        mode="json", include={"customer_id", "email", "phone", "first_name", "last_name"}
    )


def wallet_event(merchant_id: str, record: CustomerRecord, entry: LedgerEntry) -> OutboxEvent:
    return OutboxEvent(
        event_type=WALLET_TRANSACTION,
        merchant_id=merchant_id,
        customer_id=record.customer.customer_id,
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
            "pending": record.wallet.pending,
            "customer": customer_fields(record.customer),
        },
    )


def new_customer(customer_id: str, *, now: datetime, source: str, **profile: Any) -> CustomerRecord:
    """A customer Pollen has not seen before, with an empty wallet (version 0: not yet stored)."""
    fields = {k: v for k, v in profile.items() if v is not None}
    return CustomerRecord(
        Customer(customer_id=customer_id, created_at=now, updated_at=now, source=source, **fields),
        Wallet(customer_id=customer_id),
    )


class Operated(BaseModel):
    """What a wallet operation answers (and what a replay of it answers again)."""

    customer_id: str
    balance: int
    pending: int
    transactions: list[LedgerEntry]
