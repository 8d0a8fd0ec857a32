"""Triggers: the merchant defines them; awarding one credits coins as its frequency allows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pollen.domain.customers import CustomerRecord
from pollen.domain.errors import Forbidden, NotFound
from pollen.domain.tiers import Metric
from pollen.domain.triggers import Trigger, TriggerSettings, check_award
from pollen.domain.wallet import Source, TxnType
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from pollen.services.ledger import Operated
from pollen.services.merchants import merchant_config
from pollen.services.program import get_program
from pollen.services.unit_of_work import UnitOfWork, run
from pollen.storage.triggers import triggers_of


def list_triggers(c: Container, merchant_id: str) -> list[Trigger]:
    return sorted(triggers_of(merchant_config(c, merchant_id)).values(), key=lambda t: t.trigger_id)


def get_trigger(c: Container, merchant_id: str, trigger_id: str) -> Trigger:
    trigger = triggers_of(merchant_config(c, merchant_id)).get(trigger_id)
    if trigger is None:
        raise NotFound("No trigger with this id.")
    return trigger


def put_trigger(
    c: Container, merchant_id: str, trigger_id: str, settings: TriggerSettings, *, now: datetime
) -> tuple[Trigger, bool]:
    """Create or replace; returns the trigger and whether it is new. Its usage counters are kept."""
    get_program(c, merchant_id).limits.check_coins(settings.coins)
    created = trigger_id not in triggers_of(merchant_config(c, merchant_id))
    trigger = Trigger(**settings.model_dump(), trigger_id=trigger_id)
    uow = c.units.begin(merchant_id)
    uow.triggers.save(trigger)
    uow.emit("trigger_updated", trigger, customer_id=None, now=now)  # the definition is the payload
    uow.commit(now=now)
    c.config.invalidate(merchant_id)
    return trigger, created


def delete_trigger(c: Container, merchant_id: str, trigger_id: str) -> None:
    get_trigger(c, merchant_id, trigger_id)
    uow = c.units.begin(merchant_id)
    uow.triggers.delete(trigger_id)
    uow.commit()
    c.config.invalidate(merchant_id)


def award_trigger(
    c: Container,
    merchant_id: str,
    customer_id: str,
    trigger_id: str,
    *,
    now: datetime,
    idempotency: Idempotency | None = None,
    by_customer: bool = False,
) -> tuple[int, Operated]:
    """Credit the trigger's coins, or raise a 409 when its frequency (or switch) forbids it.

    ``by_customer`` (an app with a customer token): only triggers marked ``customer_runnable``; any
    other is the same 403 as every refusal, so an app cannot mint coins through arbitrary triggers.

    Two round trips on a warm container: the customer, usage counter and receipt in one read; the
    wallet, ledger, counter, event and receipt in one write. Concurrent awards race on the
    customer's version and the counter's count; losers re-read and get the frequency's answer."""
    from pollen.services import tier_qualification  # noqa: PLC0415 - the award's write path only

    trigger = get_trigger(c, merchant_id, trigger_id)
    if by_customer and not trigger.customer_runnable:
        raise Forbidden()
    program = get_program(c, merchant_id)
    program.limits.check_coins(trigger.coins)

    def use_case(uow: UnitOfWork) -> tuple[int, Operated]:
        uow.customers.want(customer_id)
        uow.triggers.want_usage(customer_id, trigger_id)
        tier_qualification.want(uow, c, customer_id)  # VIP tiers: coins_earned
        record = uow.customers.require(customer_id)
        usage = uow.triggers.usage(customer_id, trigger_id)
        check_award(trigger, usage, now.date())
        wallet, entry = record.wallet.credit(
            trigger.coins,
            type=TxnType.REWARD,
            source=Source.TRIGGER,
            reference=trigger_id,
            now=now,
            expiry_days=program.expiry.days,
            note=trigger.name,
        )
        # VIP tiers: the coins count towards coins_earned; an upgrade rides on this commit
        tiered = tier_qualification.on_fact(
            c,
            uow,
            customer_id,
            {Metric.COINS_EARNED: Decimal(trigger.coins)},
            wallet,
            program=program,
            now=now,
        )
        entries = [entry, *tiered.entries]
        uow.customers.save(CustomerRecord(record.customer, tiered.wallet), entries, program)
        uow.triggers.save_usage(customer_id, trigger_id, usage, usage.after_award(now.date()))
        if tiered.stage:
            tiered.stage(uow, record.customer)
        return 201, Operated(
            customer_id=customer_id,
            balance=tiered.wallet.balance,
            pending=tiered.wallet.pending,
            transactions=entries,
        )

    return run(c.units, merchant_id, use_case, Operated, now=now, idempotency=idempotency)
