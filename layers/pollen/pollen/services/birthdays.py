"""The daily birthdays job: award the merchant's ``birthday`` trigger on each customer's birthday,
once per year (a receipt per customer and year, in the award's own transaction)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pollen.domain.birthdays import BIRTHDAY_TRIGGER, next_birthday
from pollen.domain.errors import Conflict, NotFound
from pollen.observability import logger
from pollen.services.container import Container, container
from pollen.services.idempotency import Idempotency
from pollen.services.jobs import Cadence, JobResult, register
from pollen.storage.birthdays import BIRTHDAY_ENTITY
from pollen.storage.keys import key_of
from pollen.storage.tiers import due_tier_items


def celebrate(
    c: Container, merchant_id: str, customer_id: str, *, birthday: str, due: date, now: datetime
) -> str:
    """Award the birthday listed for ``due`` (a missed run catches up within the same year), then list
    the next one. The receipt (customer, year) makes a re-run or a retry award nothing twice."""
    today = now.date()
    outcome = "moved"  # the birthday changed since it was listed, or a whole year was missed
    if due <= today and due.year == today.year and next_birthday(birthday, due) == due:
        from pollen.services.triggers import award_trigger  # noqa: PLC0415 - the daily job's award path

        key = Idempotency("birthday", f"{customer_id}:{due.year}", {"customer_id": customer_id})
        outcome = "awarded"
        try:
            award_trigger(c, merchant_id, customer_id, BIRTHDAY_TRIGGER, now=now, idempotency=key)
        except NotFound:
            outcome = "no trigger"  # the merchant has no birthday trigger (or the customer is gone)
        except Conflict:
            outcome = "not allowed"  # disabled, or its frequency says no (already this year)
    following = next_birthday(birthday, max(today, due) + timedelta(days=1))
    uow = c.units.begin(merchant_id)
    uow.customers.list_birthday(customer_id, birthday, following)
    uow.commit()  # one item: a single PutItem
    return outcome


@register(Cadence.DAILY, "birthdays")
def run_birthdays(now: datetime) -> JobResult:
    c = container()
    done: dict[str, int] = {}
    errors: list[Exception] = []
    for item in due_tier_items(c.table, now.date()):
        if item.get("entity") != BIRTHDAY_ENTITY:
            continue
        try:
            merchant_id, customer_id = str(item["merchant_id"]), str(item["customer_id"])
            due = date.fromisoformat(str(item["due"]))
            outcome = celebrate(c, merchant_id, customer_id, birthday=str(item["birthday"]), due=due, now=now)
            done[outcome] = done.get(outcome, 0) + 1
        except Exception as exc:
            logger.exception("birthday failed", extra={"pk": key_of(item)})
            errors.append(exc)
    if errors:
        raise ExceptionGroup(f"birthdays: {len(errors)} customers failed", errors)
    detail = ", ".join(f"{n} {what}" for what, n in sorted(done.items())) or "no birthdays"
    return JobResult(job="birthdays", processed=sum(done.values()), detail=detail)
