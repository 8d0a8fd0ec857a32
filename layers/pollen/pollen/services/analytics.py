"""Analytics use cases: fold stream records into rollups, report ranges, track client events, rebuild.

Reads: a summary or series is one Query over the merchant's rollup partition (the previous period,
the range, any later day and the running total are contiguous), so its cost is one item per day
whatever the order volume. Writes: see :mod:`pollen.storage.analytics`.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pollen.domain import analytics as rules
from pollen.domain.analytics import Contribution, DayRange, Granularity, Number, Totals
from pollen.domain.errors import FieldError, NotFound, ValidationFailed
from pollen.domain.values import value
from pollen.events.envelope import OutboxEvent
from pollen.ids import new_ulid
from pollen.observability import logger
from pollen.services.container import Container
from pollen.storage.analytics import ApplyResult, RollupStore, TrackedStore
from pollen.storage.errors import ConditionFailed

if TYPE_CHECKING:  # read from the merchant's config, whose store loads it on first use
    from pollen.domain.program import Program

EVENTS_TRACKED = "events_tracked"
TRACKED_RETENTION = timedelta(days=400)  # the tracked batches are the source a rebuild reads them from
TRACK_CAP_PER_CUSTOMER_PER_DAY = 100
MAX_TRACK_BATCH = 50


def program_or_none(c: Container, merchant_id: str) -> Program | None:
    config = c.config.get(merchant_id)
    return config.program if config is not None else None


def timezone_of(c: Container, merchant_id: str) -> str:
    program = program_or_none(c, merchant_id)
    return program.timezone if program is not None else "UTC"


# ---- the aggregator -------------------------------------------------------------------------------


@value
class StreamFact:
    """One stream record, read: an outbox event or a delivery log image."""

    record_id: str
    merchant_id: str
    event: OutboxEvent | None = None
    delivery: Mapping[str, Any] | None = None


def order_image_event(item: Mapping[str, Any]) -> OutboxEvent | None:
    """An order item's stream image as the ``order_updated`` fact analytics counts (None: nothing to
    count). Every write of the order shows the whole order; the first with data counts it (identity
    ``order:{id}``), so the order item needs no outbox event of its own. That first write names its
    own version in ``data_since``: only its image is a fact (marked ``first_data_at``), later ones
    are skipped unwritten. An order whose data came before ``data_since`` was kept (0) sends every
    image, and its marker counts the first."""
    from pollen.storage.order_images import parse_order_image  # noqa: PLC0415 - the aggregator's path

    order = parse_order_image(dict(item))
    data = order.facts.data
    if data is None or data.total is None or order.updated_at is None:
        return None
    since = order.first_data_version
    first = since == order.version
    if since and not first:
        return None  # counted by the image that first had data
    return OutboxEvent(
        event_id=f"{order.order_id}.v{order.version}",
        event_type="order_updated",
        merchant_id=str(item["merchant_id"]),
        customer_id=order.customer_id,
        occurred_at=order.updated_at,
        payload={
            "order_id": order.order_id,
            "currency": data.currency,
            "total": str(data.total),
            "created_at": data.created_at.isoformat() if data.created_at else None,
            "attributions": order.attributions,
            **({rules.FIRST_DATA_AT: order.updated_at.isoformat()} if first else {}),
        },
    )


def contribution_of(fact: StreamFact, timezone: str) -> Contribution | None:
    if fact.event is not None:
        e = fact.event
        return rules.event_contribution(e.event_id, e.event_type, e.occurred_at, e.payload, timezone)
    if fact.delivery is not None:
        return rules.delivery_contribution(fact.delivery, timezone)
    return None


def aggregate(
    c: Container, facts: Sequence[StreamFact], now: datetime
) -> tuple[dict[str, ApplyResult], set[str]]:
    """Fold a stream batch: per merchant, one transaction (one write per day touched). Returns the
    results by merchant and the record ids of merchants whose write failed (to be retried)."""
    store = RollupStore(c.table)
    by_merchant: dict[str, list[StreamFact]] = defaultdict(list)
    for fact in facts:
        by_merchant[fact.merchant_id].append(fact)
    results: dict[str, ApplyResult] = {}
    failed: set[str] = set()
    for merchant_id, merchant_facts in by_merchant.items():
        try:
            tz = timezone_of(c, merchant_id)
            contributions = [x for f in merchant_facts if (x := contribution_of(f, tz)) is not None]
            results[merchant_id] = store.apply(merchant_id, contributions, now)
        except Exception:  # any failure: this merchant's records are retried, the others kept
            logger.exception("rollup write failed", extra={"merchant_id": merchant_id})
            failed.update(f.record_id for f in merchant_facts)
    return results, failed


# ---- reports --------------------------------------------------------------------------------------


@value
class RangeQuery:
    """What the caller asked for: a preset or custom range, moved by ``offset`` of its own lengths."""

    name: str = "30d"
    start: date | None = None
    end: date | None = None
    offset: int = 0


@value
class Window:
    program: Program
    current: DayRange
    previous: DayRange
    days: dict[date, dict[str, Number]]
    total: int

    def totals(self, window: DayRange) -> Totals:
        return rules.totals(self.days, window, self.total)


def _program(c: Container, merchant_id: str) -> Program:
    program = program_or_none(c, merchant_id)
    if program is None:
        raise NotFound("This merchant has no program yet.")
    return program


def resolve(c: Container, merchant_id: str, q: RangeQuery, now: datetime) -> Window:
    program = _program(c, merchant_id)
    local_today = rules.today(now, program.timezone)
    try:
        current = rules.resolve_range(q.name, q.start, q.end, q.offset, local_today)
    except rules.RangeError as exc:
        raise ValidationFailed(str(exc), errors=[FieldError(exc.field, str(exc), location="query")]) from exc
    previous = current.previous()
    days, total = RollupStore(c.table).read_from(merchant_id, previous.start)
    return Window(program, current, previous, days, total)


def _range_view(window: DayRange, timezone: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "days": window.days,
    }
    if timezone is not None:
        view["timezone"] = timezone
    return view


def _value(totals: Totals, name: str, coin_value: Decimal) -> Number:
    return totals.value(name, coin_value)


def summary(c: Container, merchant_id: str, q: RangeQuery, now: datetime) -> dict[str, Any]:
    w = resolve(c, merchant_id, q, now)
    coin_value = w.program.coin_value
    cur, prev = w.totals(w.current), w.totals(w.previous)
    metrics = []
    for m in rules.METRICS:
        a, b = _value(cur, m.name, coin_value), _value(prev, m.name, coin_value)
        metrics.append(
            {
                "name": m.name,
                "label": m.label,
                "group": m.group,
                "unit": m.unit,
                "current": rules.render(m.name, a),
                "previous": rules.render(m.name, b),
                "delta": rules.render(m.name, Decimal(a) - Decimal(b)),
                "delta_percent": rules.delta_percent(a, b),
            }
        )
    return {
        "range": _range_view(w.current, w.program.timezone),
        "previous_range": _range_view(w.previous),
        "currency": w.program.currency,
        "coin_value": str(coin_value),
        "metrics": metrics,
        "breakdowns": _breakdowns(cur, prev),
    }


_SOURCE_LABELS = {
    "widget": "Rewards widget",
    "app": "App",
    "email": "Email",
    "referral": "Referral",
    "pos": "POS",
    "api": "API",
    "other": "Other",
}
_CREDIT_LABELS = {
    "order": "Orders",
    "trigger": "Triggers",
    "referral": "Referrals",
    "adjustment": "Adjustments",
    "tier": "Tiers",
    "other": "Other",
}
_REWARD_LABELS = {
    "fixed_amount": "Fixed amount",
    "percentage": "Percentage",
    "free_shipping": "Free shipping",
    "dynamic": "Dynamic",
    "other": "Other",
}


def _row(key: str, label: str, current: Any, previous: Any, **details: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"key": key, "label": label, "current": current, "previous": previous}
    if details:
        row["details"] = details
    return row


def _breakdowns(cur: Totals, prev: Totals) -> dict[str, list[dict[str, Any]]]:
    names = list(cur.counters) + list(prev.counters)
    revenue = [
        _row(
            s,
            _SOURCE_LABELS[s],
            rules.money(cur.get(f"attributed_revenue:{s}")),
            rules.money(prev.get(f"attributed_revenue:{s}")),
            orders={
                "current": int(cur.get(f"attributed_orders:{s}")),
                "previous": int(prev.get(f"attributed_orders:{s}")),
            },
        )
        for s in rules.SOURCES
        if s != "other" or cur.get("attributed_revenue:other") or prev.get("attributed_revenue:other")
    ]
    credited = [
        _row(t, _CREDIT_LABELS[t], int(cur.get(f"coins_credited:{t}")), int(prev.get(f"coins_credited:{t}")))
        for t in rules.CREDIT_TYPES
        if t != "other" or cur.get("coins_credited:other") or prev.get("coins_credited:other")
    ]
    coupons = []
    for rt in rules.REWARD_TYPES:
        redeemed = (int(cur.get(f"coupons_redeemed:{rt}")), int(prev.get(f"coupons_redeemed:{rt}")))
        used = (int(cur.get(f"coupons_used:{rt}")), int(prev.get(f"coupons_used:{rt}")))
        coupons.append(
            _row(
                rt,
                _REWARD_LABELS[rt],
                redeemed[0],
                redeemed[1],
                redeemed={"current": redeemed[0], "previous": redeemed[1]},
                used={"current": used[0], "previous": used[1]},
                use_rate={
                    "current": rules.money(
                        rules.Totals({"coupons_used": used[0], "coupons_redeemed": redeemed[0]}).value(
                            "coupon_use_rate", Decimal(0)
                        )
                    ),
                    "previous": rules.money(
                        rules.Totals({"coupons_used": used[1], "coupons_redeemed": redeemed[1]}).value(
                            "coupon_use_rate", Decimal(0)
                        )
                    ),
                },
            )
        )

    def comm(prefix: str) -> list[dict[str, Any]]:
        rows = []
        for key in rules.breakdown_keys(names, prefix):
            details = {
                metric: {
                    "current": int(cur.get(f"{prefix}:{key}:{metric}")),
                    "previous": int(prev.get(f"{prefix}:{key}:{metric}")),
                }
                for metric in rules.COMM_METRICS
            }
            rows.append(_row(key, key, details["sent"]["current"], details["sent"]["previous"], **details))
        return rows

    return {
        "attributed_revenue_by_source": revenue,
        "coins_credited_by_type": credited,
        "coupons_by_reward_type": coupons,
        "communications_by_integration": comm("comm_integration"),
        "communications_by_event_type": comm("comm_event"),
    }


def parse_metrics(value: str | None) -> list[str]:
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    if not names:
        return [m.name for m in rules.METRICS]
    unknown = [n for n in names if n not in rules.METRIC_BY_NAME]
    if unknown:
        message = f"Unknown metrics: {', '.join(unknown)}. Known: {', '.join(rules.METRIC_BY_NAME)}."
        raise ValidationFailed(message, errors=[FieldError("metrics", message, location="query")])
    return list(dict.fromkeys(names))


def series(
    c: Container,
    merchant_id: str,
    names: list[str],
    q: RangeQuery,
    *,
    granularity: Granularity,
    now: datetime,
) -> dict[str, Any]:
    w = resolve(c, merchant_id, q, now)
    points = []
    for bucket in rules.buckets(w.current, granularity):
        t = w.totals(bucket)
        points.append(
            {
                "start": bucket.start.isoformat(),
                "values": {n: rules.render(n, t.value(n, w.program.coin_value)) for n in names},
            }
        )
    return {
        "granularity": granularity,
        "range": _range_view(w.current, w.program.timezone),
        "metrics": names,
        "points": points,
    }


def export_csv(c: Container, merchant_id: str, q: RangeQuery, now: datetime) -> str:
    w = resolve(c, merchant_id, q, now)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [m.name for m in rules.METRICS]
    writer.writerow(["date", *names])
    for day in w.current.dates():
        t = w.totals(DayRange(day, day))
        writer.writerow(
            [day.isoformat(), *(rules.render(n, t.value(n, w.program.coin_value)) for n in names)]
        )
    return out.getvalue()


# ---- tracking -------------------------------------------------------------------------------------


@value
class TrackInput:
    id: str
    type: str
    customer_id: str | None = None
    channel: str | None = None
    occurred_at: datetime | None = None


@value
class TrackOutcome:
    accepted: int
    duplicates: int
    capped: int


def track(c: Container, merchant_id: str, events: Sequence[TrackInput], now: datetime) -> TrackOutcome:
    """Record what widgets and apps saw: each client id once, at most the cap per customer per day.
    One BatchGetItem and one TransactWriteItems (retried only when a concurrent batch raced)."""
    store = TrackedStore(c.table)
    day = rules.today(now, timezone_of(c, merchant_id)).isoformat()
    unique: dict[str, TrackInput] = {}
    for e in events:
        unique.setdefault(e.id, e)
    in_batch_duplicates = len(events) - len(unique)
    for _ in range(5):
        anonymous = [e.id for e in unique.values() if e.customer_id is None]
        customers = sorted({e.customer_id for e in unique.values() if e.customer_id is not None})
        seen = store.seen(merchant_id, day, anonymous, customers)
        accepted: list[TrackInput] = []
        duplicates = in_batch_duplicates
        capped = 0
        by_customer: dict[str, list[str]] = defaultdict(list)
        for e in unique.values():
            if e.customer_id is None:
                if e.id in seen.anonymous_seen:
                    duplicates += 1
                    continue
            else:
                known = seen.customer_ids.get(e.customer_id, set())
                if e.id in known:
                    duplicates += 1
                    continue
                if len(known) + len(by_customer[e.customer_id]) >= TRACK_CAP_PER_CUSTOMER_PER_DAY:
                    capped += 1
                    continue
                by_customer[e.customer_id].append(e.id)
            accepted.append(e)
        if not accepted:
            return TrackOutcome(0, duplicates, capped)
        event = OutboxEvent(
            event_id=new_ulid(),
            event_type=EVENTS_TRACKED,
            merchant_id=merchant_id,
            occurred_at=now,
            payload={
                "events": [
                    {
                        "id": e.id,
                        "type": e.type,
                        "customer_id": e.customer_id,
                        "channel": e.channel,
                        "occurred_at": e.occurred_at.isoformat() if e.occurred_at else None,
                    }
                    for e in accepted
                ]
            },
        )
        item = event.to_item()
        item["expires_at"] = int((now + TRACKED_RETENTION).timestamp())
        known_counts = {cid: len(seen.customer_ids.get(cid, set())) for cid in by_customer}
        try:
            store.record(
                merchant_id,
                day=day,
                anonymous=[e.id for e in accepted if e.customer_id is None],
                by_customer={k: v for k, v in by_customer.items() if v},
                known=known_counts,
                outbox_item=item,
                now=now,
            )
        except ConditionFailed:
            continue  # a concurrent batch recorded some of these ids: read again
        return TrackOutcome(len(accepted), duplicates, capped)
    raise ConditionFailed(["tracked"], {})
