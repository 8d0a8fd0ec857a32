"""Triggers: the merchant defines them; awarding one credits coins as its frequency allows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pollen.domain.customers import CustomerRecord
from pollen.domain.errors import Forbidden, NotFound
from pollen.domain.tiers import Metric
from pollen.domain.triggers import Trigger, TriggerSettings, check_award
from pollen.domain.wallet import Source, TxnType
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from pollen.services.ledger import Operated, Plan, operate
from pollen.services.merchants import merchant_config
from pollen.services.program import get_program
from pollen.storage.keys import Key, trigger_count_key
from pollen.storage.transactions import Transaction
from pollen.storage.triggers import parse_usage, put_usage, triggers_of


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
    usage_key = trigger_count_key(merchant_id, customer_id, trigger_id)
    tier_read = tier_qualification.tier_keys(c, merchant_id, customer_id)  # VIP tiers: coins_earned

    def decide(record: CustomerRecord, found: dict[Key, dict[str, Any]]) -> Plan:
        usage = parse_usage(found.get(usage_key))
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

        # VIP tiers: the coins count towards coins_earned; an upgrade rides on this transaction
        tiered = tier_qualification.on_fact(
            c,
            merchant_id,
            customer_id,
            {Metric.COINS_EARNED: Decimal(trigger.coins)},
            wallet,
            found=found,
            asked=tier_read,
            program=program,
            now=now,
        )

        def stage(tx: Transaction) -> None:
            put_usage(
                tx,
                merchant_id,
                customer_id,
                trigger_id=trigger_id,
                before=usage,
                after=usage.after_award(now.date()),
            )
            if tiered.stage:
                tiered.stage(tx, record.customer)

        return Plan(tiered.wallet, [entry, *tiered.entries], stage)

    return operate(
        c,
        merchant_id,
        customer_id,
        decide,
        now=now,
        idempotency=idempotency,
        program=program,
        also_read=[usage_key, *tier_read],
    )
