"""Rebuild a range of rollup days from the source of truth: ledger entries, orders, coupons, the
delivery log and the tracked batches (for a time zone change, or after a fix).

A job scans the merchant's items page by page; each page's counters are staged with the job's new
position in one transaction, so a job stopped anywhere resumes from its last page and never counts a
page twice. When the scan is done the staged counters replace each day of the range (counters only
the stream knows, such as referral and tier events whose outbox is kept 7 days, are kept as they
were). Each call works for a bounded time and reports progress; call resume until ``done``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from pollen.clock import isoformat
from pollen.domain import analytics as rules
from pollen.domain.analytics import Contribution, Number
from pollen.domain.errors import FieldError, NotFound, ValidationFailed
from pollen.ids import new_ulid
from pollen.services.analytics import EVENTS_TRACKED, timezone_of
from pollen.services.container import Container
from pollen.storage.analytics import RebuildStore, RollupStore
from pollen.storage.coupons import COUPON_ENTITY, parse_coupon_item
from pollen.storage.customers import LEDGER_ENTITY
from pollen.storage.deliveries import DELIVERY_ENTITY
from pollen.storage.keys import without_keys
from pollen.storage.order_images import ORDER_ENTITY
from pollen.storage.orders import parse_order_item

PAGE_ITEMS = 500
SLICE_SECONDS = 10.0
JOB_RETENTION = timedelta(days=30)


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _ledger(item: dict[str, Any], timezone: str) -> list[Contribution]:
    at = _time(item.get("created_at"))
    counters = rules.wallet_counters(
        str(item.get("type")), str(item.get("operation")), int(item.get("coins", 0)), str(item.get("source"))
    )
    return [Contribution("", rules.local_day(at, timezone), counters)] if at and counters else []


def _order(item: dict[str, Any], timezone: str) -> list[Contribution]:
    order = parse_order_item(item)
    data = order.facts.data
    placed = (data.created_at if data else None) or order.paid_at or order.updated_at
    if data is None or data.total is None or placed is None:
        return []
    attributions = [a.model_dump(mode="json") for a in order.attributions]
    counters = rules.order_counters(str(data.total), attributions)
    return [Contribution("", rules.local_day(placed, timezone), counters)]


def _coupon(item: dict[str, Any], timezone: str) -> list[Contribution]:
    coupon = parse_coupon_item(item)
    out: list[Contribution] = []
    if coupon.shopify in ("none", "created"):  # coupon_created was sent for these
        counters = rules.coupon_counters("redeemed", coupon.reward_type)
        out.append(Contribution("", rules.local_day(coupon.created_at, timezone), counters))
    if coupon.used_at is not None:
        counters = rules.coupon_counters("used", coupon.reward_type)
        out.append(Contribution("", rules.local_day(coupon.used_at, timezone), counters))
    return out


def _tracked(item: dict[str, Any], timezone: str) -> list[Contribution]:
    if item.get("event_type") != EVENTS_TRACKED:
        return []
    at = _time(item.get("occurred_at"))
    payload = item.get("payload") or {}
    counters = rules.tracked_counters(str(e.get("type")) for e in payload.get("events") or [])
    return [Contribution("", rules.local_day(at, timezone), counters)] if at and counters else []


_SOURCES: dict[str, Callable[[dict[str, Any], str], list[Contribution]]] = {
    LEDGER_ENTITY: _ledger,
    ORDER_ENTITY: _order,
    COUPON_ENTITY: _coupon,
    DELIVERY_ENTITY: rules.attempt_contributions,
    "outbox": _tracked,
}


def source_contributions(item: dict[str, Any], timezone: str) -> list[Contribution]:
    """What one source item says, as the stream would have reported it."""
    reader = _SOURCES.get(str(item.get("entity")))
    return reader(item, timezone) if reader else []


def _view(job: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "job_id",
        "status",
        "from",
        "to",
        "timezone",
        "pages_scanned",
        "items_scanned",
        "days_written",
        "started_at",
        "updated_at",
        "finished_at",
    )
    return {k: job.get(k) for k in keys}


def start(
    c: Container,
    merchant_id: str,
    start_day: date,
    end_day: date,
    now: datetime,
    *,
    max_pages: int | None = None,
    page_items: int = PAGE_ITEMS,
) -> dict[str, Any]:
    """Create a job for the range and work on it for one slice."""
    tz = timezone_of(c, merchant_id)
    local_today = rules.today(now, tz)
    errors = []
    if end_day >= local_today:
        errors.append(FieldError("to", "A rebuild covers days that have ended: at most yesterday."))
    if end_day < start_day:
        errors.append(FieldError("to", "to must not be before from."))
    elif (end_day - start_day).days + 1 > rules.MAX_RANGE_DAYS:
        errors.append(FieldError("to", f"A rebuild spans at most {rules.MAX_RANGE_DAYS} days."))
    if errors:
        raise ValidationFailed("The rebuild range is not valid.", errors=errors)
    job = {
        "job_id": new_ulid(),
        "status": "running",
        "phase": "scan",
        "from": start_day.isoformat(),
        "to": end_day.isoformat(),
        "timezone": tz,
        "cursor": None,
        "pages_scanned": 0,
        "items_scanned": 0,
        "days_written": 0,
        "version": 1,
        "started_at": isoformat(now),
        "updated_at": isoformat(now),
        "expires_at": int((now + JOB_RETENTION).timestamp()),
    }
    RollupStore(c.table).put_job(merchant_id, job, None)
    return resume(c, merchant_id, str(job["job_id"]), now, max_pages=max_pages, page_items=page_items)


def get(c: Container, merchant_id: str, job_id: str) -> dict[str, Any]:
    job = RollupStore(c.table).get_job(merchant_id, job_id)
    if job is None:
        raise NotFound("No rebuild job with this id.")
    return _view(job)


def resume(
    c: Container,
    merchant_id: str,
    job_id: str,
    now: datetime,
    *,
    max_pages: int | None = None,
    page_items: int = PAGE_ITEMS,
) -> dict[str, Any]:
    """Work on the job for up to SLICE_SECONDS (or ``max_pages`` pages) and report where it is."""
    rollups = RollupStore(c.table)
    store = RebuildStore(c.table)
    job = rollups.get_job(merchant_id, job_id)
    if job is None:
        raise NotFound("No rebuild job with this id.")
    job = without_keys(job)
    first, last = date.fromisoformat(str(job["from"])), date.fromisoformat(str(job["to"]))
    tz = str(job["timezone"])
    deadline = time.monotonic() + SLICE_SECONDS
    pages = 0
    while job["phase"] == "scan" and time.monotonic() < deadline and (max_pages is None or pages < max_pages):
        items, cursor, scanned = store.scan_page(merchant_id, job.get("cursor"), page_items)
        staged: dict[str, dict[str, Number]] = {}
        for item in items:
            for contribution in source_contributions(item, tz):
                if first <= contribution.day <= last:
                    rules.add(staged.setdefault(contribution.day.isoformat(), {}), contribution.counters)
        version = int(job["version"])
        page = int(job["pages_scanned"]) + 1
        job.update(
            cursor=cursor,
            pages_scanned=page,
            items_scanned=int(job["items_scanned"]) + scanned,
            phase="scan" if cursor else "write",
            version=version + 1,
            updated_at=isoformat(now),
        )
        store.commit_page(merchant_id, job, page, staged, version)
        pages += 1
    if job["phase"] == "write" and (max_pages is None or pages < max_pages or job["cursor"] is None):
        staged_days = store.staged(merchant_id, job_id)
        written = 0
        day = first
        while day <= last:
            counters = dict(staged_days.get(day.isoformat(), {}))
            kept = store.day(merchant_id, day)
            for name, value in kept.items():
                if name.startswith(rules.STREAM_ONLY_PREFIXES):
                    counters[name] = value
            rollups.replace_day(merchant_id, day, counters, now)
            written += 1
            day += timedelta(days=1)
        version = int(job["version"])
        job.update(
            status="done",
            phase="done",
            days_written=written,
            version=version + 1,
            updated_at=isoformat(now),
            finished_at=isoformat(now),
        )
        rollups.put_job(merchant_id, job, version)
    return _view(job)
