"""Manual adjustments: a merchant adds or takes coins, with a reason; never below zero."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pollen.domain.errors import FieldError, ValidationFailed
from pollen.domain.wallet import Source, TxnType
from pollen.ids import new_ulid
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from pollen.services.ledger import Operated, Plan, operate
from pollen.services.program import get_program
from pollen.storage.customers import CustomerRecord
from pollen.storage.keys import Key


def adjust(
    c: Container,
    merchant_id: str,
    customer_id: str,
    coins: int,
    reason: str,
    *,
    now: datetime,
    idempotency: Idempotency | None = None,
) -> tuple[int, Operated]:
    """Positive coins are credited (expiring per the program), negative ones debited: taking more
    than the balance is a 409 ``insufficient-coins`` problem and changes nothing; zero coins is a 422."""
    if coins == 0:
        message = "An adjustment moves at least one coin."
        raise ValidationFailed(message, errors=[FieldError("coins", message, "zero")])
    program = get_program(c, merchant_id)
    program.limits.check_coins(coins)
    reference = new_ulid()

    def decide(record: CustomerRecord, _: dict[Key, dict[str, Any]]) -> Plan:
        if coins > 0:
            wallet, entry = record.wallet.credit(
                coins,
                type=TxnType.ADJUST,
                source=Source.ADMIN,
                reference=reference,
                now=now,
                expiry_days=program.expiry.days,
                note=reason,
            )
        else:
            wallet, entry = record.wallet.debit(
                -coins, type=TxnType.ADJUST, source=Source.ADMIN, reference=reference, now=now, note=reason
            )
        return Plan(wallet, [entry])

    return operate(c, merchant_id, customer_id, decide, now=now, idempotency=idempotency, program=program)
