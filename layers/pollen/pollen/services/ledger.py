"""Staging a wallet change: the customer item, its ledger entries and their events, in one transaction.

Every use case that moves coins (orders, triggers, adjustments, expiry, redemption) builds the new
wallet with the pure rules in :mod:`pollen.domain.wallet` and stages it here, so the ledger, the
balance and the ``wallet_transaction`` events can never disagree (docs/design.md invariants 1 and 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.errors import NotFound
from pollen.domain.program import Program
from pollen.domain.wallet import LedgerEntry, Wallet
from pollen.events.envelope import OutboxEvent
from pollen.model import BaseModel
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from pollen.services.retry import retrying
from pollen.storage.customers import parse_customer_item, put_wallet_change
from pollen.storage.errors import DuplicateRequest
from pollen.storage.keys import Key, customer_key
from pollen.storage.transactions import Transaction

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


def stage_wallet_change(
    tx: Transaction, merchant_id: str, change: WalletChange, program: Program
) -> list[OutboxEvent]:
    """Add the customer write (version-guarded), each ledger entry and its event to ``tx``."""
    events = [wallet_event(merchant_id, change.after, entry) for entry in change.entries]
    put_wallet_change(
        tx,
        merchant_id,
        change.after,
        expected_version=change.before.version if change.before else None,
        reminder_days=program.expiry.reminder_days_before,  # the wallet's due day depends on it
        entries=change.entries,
        events=events,
    )
    return events


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


@dataclass(frozen=True)
class Plan:
    """A wallet operation's decision: the new wallet, its entries, and any other writes to stage."""

    wallet: Wallet
    entries: list[LedgerEntry]
    stage: Callable[[Transaction], None] | None = None


R = TypeVar("R", bound=BaseModel)


def operate(
    c: Container,
    merchant_id: str,
    customer_id: str,
    decide: Callable[[CustomerRecord, dict[Key, dict[str, Any]]], Plan],
    *,
    now: datetime,
    idempotency: Idempotency | None,
    program: Program,
    also_read: list[Key] | None = None,
    status: int = 201,
) -> tuple[int, Operated]:
    """Read the customer (and ``also_read``) in one call, let ``decide`` plan the change, commit it
    with its receipt in one transaction; retried on version races, replayed on a repeated key."""

    def respond(plan: Plan) -> Operated:
        return Operated(
            customer_id=customer_id,
            balance=plan.wallet.balance,
            pending=plan.wallet.pending,
            transactions=plan.entries,
        )

    return operate_as(
        c,
        merchant_id,
        customer_id,
        decide,
        respond=respond,
        response_type=Operated,
        now=now,
        idempotency=idempotency,
        program=program,
        also_read=also_read,
        status=status,
    )


def operate_as(
    c: Container,
    merchant_id: str,
    customer_id: str,
    decide: Callable[[CustomerRecord, dict[Key, dict[str, Any]]], Plan],
    *,
    respond: Callable[[Plan], R],
    response_type: type[R],
    now: datetime,
    idempotency: Idempotency | None,
    program: Program,
    also_read: list[Key] | None = None,
    status: int = 201,
) -> tuple[int, R]:
    """:func:`operate` with the answer shaped by ``respond`` (and read back as ``response_type``)."""
    customer = customer_key(merchant_id, customer_id)

    def attempt() -> tuple[int, R]:
        keys = [customer, *(also_read or [])]
        if idempotency:
            keys.append(idempotency.receipt_key(merchant_id))
        found = c.table.batch_get(keys)
        if idempotency and (receipt := idempotency.replay(found.get(keys[-1]))):
            return receipt.status, response_type.model_validate(receipt.response)
        item = found.get(customer)
        if item is None:
            raise NotFound("No customer with this id.")
        record = parse_customer_item(item)
        plan = decide(record, found)
        after = CustomerRecord(record.customer, plan.wallet)
        tx = c.table.transaction()
        stage_wallet_change(tx, merchant_id, WalletChange(record, after, plan.entries), program)
        if plan.stage:
            plan.stage(tx)
        result = respond(plan)
        if idempotency:
            idempotency.stage(
                tx, merchant_id, status=status, response=result.model_dump(mode="json"), now=now
            )
        try:
            tx.commit()
        except DuplicateRequest as dup:
            replayed = idempotency.replay(dup.receipt) if idempotency else None
            if replayed is None:
                raise
            return replayed.status, response_type.model_validate(replayed.response)
        return status, result

    return retrying(attempt)
