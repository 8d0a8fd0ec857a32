"""The due-items job: expire coin lots, announce lots about to expire, confirm paid orders, settle
coupons whose Shopify discount a request left unsettled.

Wallets (GSI2) and orders, coupons, referrals and review requests (GSI1) list themselves under the
day they fall due (:func:`due_index`), so the job reads only what is due: one Query per shard and
index (plus pages), never a scan. The indexes are eventually consistent, so every item is re-read
consistently and changed under its version guard; once handled, an item's due day is after today, so
later runs the same day pass it by. A missed run is caught up
by the next, which reads every shard up to today.

Per due wallet: one consistent read and, when something is due, one TransactWriteItems, through the
unit of work (``uow.customers.due``: the record and the day its wallet is indexed under).

The other entities' paths (the order path for a due order, the Shopify saga for a pending coupon,
referral reminders, review requests) are imported on the first item of their kind, so a run that has
only wallets to expire never loads them (docs/design.md, "Cold start").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pollen.domain.customers import CustomerRecord
from pollen.domain.program import Program
from pollen.domain.values import value
from pollen.events.envelope import OutboxEvent
from pollen.observability import logger
from pollen.services.contacts import customer_fields
from pollen.services.container import Container, container
from pollen.services.jobs import Cadence, JobResult, register
from pollen.services.program import get_program
from pollen.services.retry import retrying
from pollen.storage.due import due_items
from pollen.storage.keys import (
    PENDING_ENTITY,
    REFERRAL_ENTITY,
    REVIEW_ENTITY,
    key_of,
)

COINS_EXPIRING = "coins_expiring"
REMINDERS_PER_WRITE = 90  # a transaction holds at most 100 items: the customer, 2 for expiry, reminders


def _reminder(
    merchant_id: str, record: CustomerRecord, lot: date, coins: int, *, today: date, now: datetime
) -> OutboxEvent:
    return OutboxEvent(
        event_type=COINS_EXPIRING,
        merchant_id=merchant_id,
        customer_id=record.customer.customer_id,
        occurred_at=now,
        payload={
            "coins": coins,
            "expires_on": lot.isoformat(),
            "days_left": (lot - today).days,
            "balance": record.wallet.balance,
            "customer": customer_fields(record.customer),
        },
    )


@value
class _Settled:
    expired: int
    reminded: int
    more: bool  # reminders left over for another write (more than one transaction holds)


def _settle_once(
    c: Container, merchant_id: str, customer_id: str, program: Program, now: datetime
) -> _Settled:
    today = now.date()
    uow = c.units.begin(merchant_id)
    due = uow.customers.due(customer_id)
    if due is None:
        return _Settled(0, 0, more=False)
    before = due.record
    wallet, entry = before.wallet.expire(today, now=now)
    window = timedelta(days=program.expiry.reminder_days_before)  # 0: no reminders
    lots = [
        (lot, coins)
        for lot, coins in wallet.expiring(limit=len(wallet.lots))
        if today < lot and lot - window <= today and lot.isoformat() not in wallet.reminded
    ]
    announce, rest = lots[:REMINDERS_PER_WRITE], lots[REMINDERS_PER_WRITE:]
    if announce:
        wallet = wallet.model_copy(
            update={
                "reminded": [*wallet.reminded, *(lot.isoformat() for lot, _ in announce)],
                "version": before.wallet.version + 1,
            }
        )
    stale_index = due.indexed_on is not None and due.indexed_on <= today.isoformat()
    if entry is None and not announce and not stale_index:
        return _Settled(0, 0, more=False)  # the index was behind the table: nothing due, nothing written
    if entry is None and not announce:
        # Indexed for a day that is not due under today's program (its reminder setting changed):
        # rewrite the item only to move its index entry, or every run would read it again.
        wallet = wallet.model_copy(update={"version": before.wallet.version + 1})
    after = CustomerRecord(before.customer, wallet)
    uow.customers.save(after, [entry] if entry else [], program)
    for lot, coins in announce:
        uow.emit_event(_reminder(merchant_id, after, lot, coins, today=today, now=now))
    uow.commit()
    return _Settled(entry.coins if entry else 0, len(announce), more=bool(rest))


def settle_customer(c: Container, merchant_id: str, customer_id: str, now: datetime) -> tuple[int, int]:
    """Expire the wallet's lots due by ``now`` and announce those entering the reminder window, in
    one transaction (more only past 90 reminders). Returns (coins expired, reminders sent)."""
    program = get_program(c, merchant_id)
    expired = reminded = 0
    while True:
        done = retrying(lambda: _settle_once(c, merchant_id, customer_id, program, now))
        expired, reminded = expired + done.expired, reminded + done.reminded
        if not done.more:
            return expired, reminded


def _confirm_order(c: Container, item: dict[str, Any], now: datetime) -> bool:
    """Settle a paid order past its pending period; True when this call confirmed it."""
    from pollen.domain.orders import OrderFacts  # noqa: PLC0415 - the order path, on a due order only
    from pollen.services.orders import record_order_fact  # noqa: PLC0415

    merchant_id, order_id = str(item["merchant_id"]), str(item["order_id"])
    if item.get("customer_id"):  # an order's customer never changes: spare record_order_fact a read
        c.order_customers.put(merchant_id, order_id, str(item["customer_id"]))
    outcome = record_order_fact(c, merchant_id, order_id, OrderFacts(), now=now)
    return outcome.order.facts.confirmed and outcome.order.updated_at == now


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@register(Cadence.HOURLY, "expiry")
def run_due(now: datetime) -> JobResult:
    """Handle every wallet and order due by ``now``. One failing item does not stop the others;
    failures are logged and raised together at the end, so the run is marked failed."""
    c = container()
    processed = coins = wallets = reminders = confirmed = coupons = reviews = 0
    errors: list[Exception] = []
    for item in due_items(c.table, now.date()):
        entity = item.get("entity")
        try:
            if entity == "customer":
                expired, sent = settle_customer(c, str(item["merchant_id"]), str(item["customer_id"]), now)
                coins, wallets, reminders = coins + expired, wallets + (expired > 0), reminders + sent
            elif entity == "order":
                confirmed += _confirm_order(c, item, now)
            elif entity == PENDING_ENTITY:
                from pollen.services.redemption import settle_pending  # noqa: PLC0415 - rare: Shopify saga

                outcome = settle_pending(
                    c,
                    str(item["merchant_id"]),
                    str(item["code"]),
                    datetime.fromisoformat(item["created_at"]),
                    now,
                )
                coupons += outcome in {"created", "cancelled"}
            elif entity == REFERRAL_ENTITY:  # an invited friend who has not ordered yet
                from pollen.services.referrals import remind as remind_referral  # noqa: PLC0415

                reminders += remind_referral(c, item, now)
            elif entity == REVIEW_ENTITY:  # an order's review request (services/review_requests.py)
                from pollen.services.review_requests import send_due as send_review  # noqa: PLC0415

                reviews += send_review(c, item, now) == "sent"
            else:
                logger.warning("unexpected item in the due index", extra={"pk": key_of(item)})
                continue
            processed += 1
        except Exception as exc:
            logger.exception("due item failed", extra={"pk": key_of(item), "entity": entity})
            errors.append(exc)
    detail = (
        f"expired {_plural(coins, 'coin')} in {_plural(wallets, 'wallet')}, "
        f"{_plural(reminders, 'reminder')}, {_plural(confirmed, 'order')} confirmed"
    )
    if coupons:
        detail += f", {_plural(coupons, 'pending coupon')} settled with Shopify"
    if reviews:
        detail += f", {_plural(reviews, 'review request')} sent"
    logger.info("expiry run", extra={"processed": processed, "failed": len(errors), "detail": detail})
    if errors:
        raise ExceptionGroup(f"expiry: {len(errors)} of {processed + len(errors)} due items failed", errors)
    return JobResult(job="expiry", processed=processed, detail=detail)
