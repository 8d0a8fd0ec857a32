"""Manual adjustments: a merchant adds or takes coins, with a reason; never below zero."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.adjustments import adjust_wallet
from pollen.domain.customers import CustomerRecord
from pollen.domain.errors import FieldError, ValidationFailed
from pollen.ids import new_ulid
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from pollen.services.ledger import Operated
from pollen.services.program import get_program
from pollen.services.unit_of_work import UnitOfWork, run


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

    def use_case(uow: UnitOfWork) -> tuple[int, Operated]:
        record = uow.customers.require(customer_id)
        wallet, entry = adjust_wallet(
            record.wallet, coins, reason, reference=reference, expiry_days=program.expiry.days, now=now
        )
        uow.customers.save(CustomerRecord(record.customer, wallet), [entry], program)
        return 201, Operated(
            customer_id=customer_id, balance=wallet.balance, pending=wallet.pending, transactions=[entry]
        )

    return run(c.units, merchant_id, use_case, Operated, now=now, idempotency=idempotency)
