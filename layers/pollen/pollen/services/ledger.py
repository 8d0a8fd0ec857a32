"""What the wallet-moving use cases share: a new customer, a planned wallet change, the answer.

Every use case that moves coins (orders, triggers, adjustments, expiry, redemption, imports) builds
the new wallet with the pure rules in :mod:`pollen.domain.wallet` and saves it through
``uow.customers``, which writes the customer item and its ledger entries (each its own
``wallet_transaction`` event) in one commit, so they can never disagree (docs/design.md invariants 1
and 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.wallet import LedgerEntry, Wallet
from pollen.model import BaseModel


@dataclass(frozen=True)
class WalletChange:
    """``before`` is None when the customer is created by this change."""

    before: CustomerRecord | None
    after: CustomerRecord
    entries: list[LedgerEntry] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before is None or self.before.wallet != self.after.wallet or self.entries != []


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
