"""Analytics rules: what each outbox event adds to a merchant's day, and how days become a report.

Pure functions only. The aggregator turns each stream record into at most one :class:`Contribution`:
an identity (what makes it count once), the merchant's local day it belongs to and the counters it
adds. Counters are flat names (``orders``, ``coins_credited:order``, ``comm_event:coupon_used:sent``)
summed per day; the report reads a range of days and derives totals, rates and deltas from them.
An event type this module does not know contributes nothing, so new emitters never break it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pollen.domain.values import value as value_class
from pollen.ids import ulid_ms

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

Number = int | Decimal
Counters = dict[str, Number]

MAX_RANGE_DAYS = 366
ORDER_MARKER_DAYS = 400  # an order counts once while it can still change (refunds come months later)
EVENT_MARKER_DAYS = 8  # stream records are kept 24 h; a marker outlives any redelivery or replay
# An order image that is its order's first with data names when (``first_data_at``): that one record
# counts the order, so its dedupe need only outlive redelivery, like an event's.
FIRST_DATA_AT = "first_data_at"

# Tracked (client-reported) event types, fixed: anything else is refused by POST /v1/events/track.
TRACKED_TYPES: tuple[str, ...] = (
    "widget_opened",
    "widget_clicked",
    "widget_closed",
    "rewards_viewed",
    "referral_link_copied",
    "referral_shared",
    "signup_prompt_shown",
    "signup_prompt_clicked",
    "app_opened",
)
# Attribution sources an order's revenue is split by (from the coupon's channel or the referral).
SOURCES: tuple[str, ...] = ("widget", "app", "email", "referral", "pos", "api", "other")
CREDIT_TYPES: tuple[str, ...] = ("order", "trigger", "referral", "adjustment", "tier", "other")
REWARD_TYPES: tuple[str, ...] = ("fixed_amount", "percentage", "free_shipping", "dynamic")
COMM_METRICS: tuple[str, ...] = ("sent", "delivered", "failed", "dead_lettered")

_CREDIT_TYPE_OF_SOURCE = {
    "order": "order",
    "trigger": "trigger",
    "referral": "referral",
    "admin": "adjustment",
    "tier": "tier",
}
_CHANNEL_SOURCE = {"widget": "widget", "app": "app", "email": "email", "pos": "pos", "api": "api"}


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - first use only

    return ZoneInfo(name)


def local_day(moment: datetime, timezone: str) -> date:
    """The merchant's calendar day of ``moment`` (naive datetimes are UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone(timezone)).date()


def today(now: datetime, timezone: str) -> date:
    return local_day(now, timezone)


@value_class
class Contribution:
    """What one fact adds to one day, counted once per ``identity``.

    ``at`` is a time that only this identity's fact can have (read from the identity itself, or the
    one stream record that carries the fact): the aggregator remembers the identity among that
    minute's, in one small item a whole batch shares. None: the fact may reach the stream in
    several records of different times, so it is remembered by a marker of its own."""

    identity: str
    day: date
    counters: Counters
    keep_days: int = EVENT_MARKER_DAYS
    at: datetime | None = None


def ulid_time(text: str) -> datetime | None:
    """When the ULID ``text`` was made (None: not a ULID)."""
    ms = ulid_ms(text)
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return Decimal(0)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def attribution_source(attributions: Iterable[Mapping[str, Any]]) -> str | None:
    """Where an attributed order came from: a referral, else the channel of the first Pollen coupon
    (widget, app, email, pos, api); None when nothing attributes it to Pollen."""
    items = [a for a in attributions if isinstance(a, Mapping)]
    if any(a.get("source") == "referral" for a in items):
        return "referral"
    for a in items:
        if a.get("source") == "redemption":
            return _CHANNEL_SOURCE.get(str(a.get("channel") or ""), "other")
    return "other" if items else None


def order_counters(total: Any, attributions: Iterable[Mapping[str, Any]]) -> Counters:
    revenue = _decimal(total)
    counters: Counters = {"orders": 1, "revenue": revenue}
    source = attribution_source(attributions)
    if source is not None:
        counters.update(
            {
                "attributed_orders": 1,
                "attributed_revenue": revenue,
                f"attributed_orders:{source}": 1,
                f"attributed_revenue:{source}": revenue,
            }
        )
    return counters


def wallet_counters(txn_type: str, operation: str, coins: int, source: str) -> Counters:
    """A ledger entry: its coins by kind, and ``coins_net`` (the change to the store's liability)."""
    if coins <= 0:
        return {}
    counters: Counters = {"coins_net": coins if operation == "credit" else -coins}
    if operation == "credit":
        if txn_type == "refund":
            counters["coins_refunded"] = coins  # a cancelled coupon gave its coins back
        else:
            kind = _CREDIT_TYPE_OF_SOURCE.get(source, "other")
            counters["coins_credited"] = coins
            counters[f"coins_credited:{kind}"] = coins
    else:
        name = {
            "redeem": "coins_redeemed",
            "expire": "coins_expired",
            "reversal": "coins_reversed",
        }.get(txn_type, "coins_deducted")
        counters[name] = coins
    return counters


def coupon_counters(kind: Literal["redeemed", "used"], reward_type: Any) -> Counters:
    rt = str(reward_type) if reward_type in REWARD_TYPES else "other"
    return {f"coupons_{kind}": 1, f"coupons_{kind}:{rt}": 1}


def tracked_counters(types: Iterable[str]) -> Counters:
    counters: dict[str, int] = {}

    def add(name: str) -> None:
        counters[name] = counters.get(name, 0) + 1

    for kind in types:
        if kind not in TRACKED_TYPES:
            continue
        add(f"tracked:{kind}")
    return dict(counters)


def comm_counters(event_type: str, integration_id: str, outcome: str, dead: bool) -> Counters:
    """One delivery attempt (``outcome`` delivered | retry | permanent) and whether it dead-lettered."""
    counters: Counters = {}
    names = ["sent"]
    if outcome == "delivered":
        names.append("delivered")
    elif outcome in ("retry", "permanent"):
        names.append("failed")
    if dead:
        names.append("dead_lettered")
    for name in names:
        counters[f"events_{name}"] = 1
        counters[f"comm_integration:{integration_id}:{name}"] = 1
        counters[f"comm_event:{event_type}:{name}"] = 1
    return counters


# ---- from outbox events ---------------------------------------------------------------------------

_SIMPLE_EVENTS: dict[str, Counters] = {
    "customer_created": {"sign_ups": 1},
    "referral_invited": {"referral_invitations": 1},
    "referral_shared": {"referral_shares:server": 1},
    "referral_signed_up": {"referral_signups": 1},
    "referral_completed": {"referral_completions": 1},
    "referral_rejected": {"referral_rejections": 1},
    "referral_incomplete": {"referral_incompletes": 1},
}


def event_contribution(
    event_id: str, event_type: str, occurred_at: datetime, payload: Mapping[str, Any], timezone: str
) -> Contribution | None:
    """What an outbox event adds; None for events analytics does not count (config changes, unknown)."""
    day = local_day(occurred_at, timezone)
    counters: Counters
    if event_type == "order_updated":
        if payload.get("total") is None or not payload.get("order_id"):
            return None  # no order data yet (e.g. paid before created): counted when it arrives
        placed = _parse_time(payload.get("created_at")) or occurred_at
        counters = order_counters(payload.get("total"), payload.get("attributions") or [])
        first = _parse_time(payload.get(FIRST_DATA_AT))
        return Contribution(
            f"order:{payload['order_id']}",
            local_day(placed, timezone),
            counters,
            EVENT_MARKER_DAYS if first else ORDER_MARKER_DAYS,
            first,
        )
    if event_type == "wallet_transaction":
        counters = wallet_counters(
            str(payload.get("transaction_type")),
            str(payload.get("operation")),
            _int(payload.get("coins")),
            str(payload.get("source")),
        )
    elif event_type == "coupon_created":
        counters = coupon_counters("redeemed", payload.get("reward_type"))
    elif event_type == "coupon_used":
        counters = coupon_counters("used", payload.get("reward_type"))
    elif event_type == "events_tracked":
        counters = tracked_counters(
            str(e.get("type")) for e in payload.get("events") or [] if isinstance(e, Mapping)
        )
    elif event_type == "tier_changed":
        direction = str(payload.get("direction") or "")
        counters = {"tier_changes": 1}
        if direction in ("up", "upgrade"):
            counters["tier_upgrades"] = 1
        elif direction in ("down", "downgrade"):
            counters["tier_downgrades"] = 1
    else:
        counters = dict(_SIMPLE_EVENTS.get(event_type, {}))
    if not counters:
        return None
    return Contribution(f"event:{event_id}", day, counters, at=ulid_time(event_id))


def delivery_contribution(image: Mapping[str, Any], timezone: str) -> Contribution | None:
    """A delivery log item after one attempt: the attempt it just logged (test sends are left out)."""
    attempts = image.get("attempts") or []
    if image.get("test") or not attempts:
        return None
    last = attempts[-1]
    outcome = str(last.get("outcome"))
    if outcome == "skipped":
        return None
    at = _parse_time(last.get("at"))
    if at is None:
        return None
    number = _int(last.get("attempt"))
    dead = image.get("status") == "dead"
    counters = comm_counters(str(image.get("event_type")), str(image.get("integration_id")), outcome, dead)
    delivery_id = str(image.get("delivery_id"))
    return Contribution(
        f"delivery:{delivery_id}:{number}",
        local_day(at, timezone),
        counters,
        at=ulid_time(delivery_id.split(".", 1)[0]),  # its event's id: the same for every attempt
    )


def attempt_contributions(image: Mapping[str, Any], timezone: str) -> list[Contribution]:
    """Every attempt of a delivery log item, as the stream saw them one by one (for rebuilds)."""
    attempts = list(image.get("attempts") or [])
    out: list[Contribution] = []
    for i in range(len(attempts)):
        last = i == len(attempts) - 1
        view = {**image, "attempts": attempts[: i + 1], "status": image.get("status") if last else "retrying"}
        contribution = delivery_contribution(view, timezone)
        if contribution is not None:
            out.append(contribution)
    return out


def add(into: dict[str, Number], counters: Mapping[str, Number]) -> None:
    for name, value in counters.items():
        into[name] = into.get(name, 0) + value


# ---- ranges ---------------------------------------------------------------------------------------

RangeName = Literal["today", "7d", "30d", "60d", "90d", "custom"]
_PRESET_DAYS = {"today": 1, "7d": 7, "30d": 30, "60d": 60, "90d": 90}


class RangeError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@value_class
class DayRange:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> DayRange:
        return DayRange(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def resolve_range(
    name: str, start: date | None, end: date | None, offset: int, local_today: date
) -> DayRange:
    """Whole days in the merchant's time zone; ``offset`` moves the window by its own length."""
    if name == "custom":
        if start is None or end is None:
            raise RangeError("from" if start is None else "to", "A custom range needs both from and to.")
        if end < start:
            raise RangeError("to", "to must not be before from.")
        window = DayRange(start, end)
    elif name in _PRESET_DAYS:
        if start is not None or end is not None:
            raise RangeError("range", "from and to are only for range=custom.")
        days = _PRESET_DAYS[name]
        window = DayRange(local_today - timedelta(days=days - 1), local_today)
    else:
        raise RangeError("range", "range must be today, 7d, 30d, 60d, 90d or custom.")
    if window.days > MAX_RANGE_DAYS:
        raise RangeError("to", f"A range spans at most {MAX_RANGE_DAYS} days.")
    shift = timedelta(days=window.days * offset)
    window = DayRange(window.start + shift, window.end + shift)
    if window.end > local_today:
        raise RangeError("offset" if offset else "to", "The range must not end in the future.")
    return window


# ---- the report -----------------------------------------------------------------------------------

Unit = Literal["count", "money", "coins", "percent"]
Group = Literal["orders", "coins", "coupons", "engagement", "communications", "liability"]


@value_class
class MetricDef:
    name: str
    label: str
    group: Group
    unit: Unit
    definition: str


METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "orders", "Orders", "orders", "count", "Orders placed in the store (counted once, on the day placed)."
    ),
    MetricDef("revenue", "Revenue", "orders", "money", "Total paid on those orders, as first reported."),
    MetricDef(
        "attributed_orders",
        "Pollen orders",
        "orders",
        "count",
        "Orders that used a Pollen coupon or a referral code.",
    ),
    MetricDef("attributed_revenue", "Pollen revenue", "orders", "money", "Revenue of the Pollen orders."),
    MetricDef(
        "attributed_aov",
        "Pollen average order value",
        "orders",
        "money",
        "Pollen revenue divided by Pollen orders.",
    ),
    MetricDef(
        "attributed_revenue_percent",
        "Pollen share of revenue",
        "orders",
        "percent",
        "Pollen revenue as a percentage of revenue.",
    ),
    MetricDef(
        "coins_credited",
        "Coins credited",
        "coins",
        "coins",
        "Coins added to wallets by orders, triggers, referrals, tiers and adjustments.",
    ),
    MetricDef("coins_redeemed", "Coins redeemed", "coins", "coins", "Coins spent on coupons."),
    MetricDef(
        "coins_refunded",
        "Coins returned",
        "coins",
        "coins",
        "Coins given back when a coupon was cancelled.",
    ),
    MetricDef("coins_expired", "Coins expired", "coins", "coins", "Coins that reached their expiry date."),
    MetricDef(
        "coins_reversed",
        "Coins reversed",
        "coins",
        "coins",
        "Coins taken back from cancelled or refunded orders.",
    ),
    MetricDef("coins_deducted", "Coins deducted", "coins", "coins", "Coins removed by manual adjustments."),
    MetricDef(
        "liability_coins",
        "Outstanding coins",
        "liability",
        "coins",
        "Sum of all wallet balances at the end of the period's last day.",
    ),
    MetricDef(
        "liability_value",
        "Points liability",
        "liability",
        "money",
        "Outstanding coins times the program's coin value.",
    ),
    MetricDef("coupons_redeemed", "Coupons redeemed", "coupons", "count", "Coupons created from coins."),
    MetricDef("coupons_used", "Coupons used", "coupons", "count", "Pollen coupons used on an order."),
    MetricDef(
        "coupon_use_rate",
        "Redemption-to-use rate",
        "coupons",
        "percent",
        "Coupons used as a percentage of coupons redeemed in the same period.",
    ),
    MetricDef("sign_ups", "Sign-ups", "engagement", "count", "Customers Pollen saw for the first time."),
    MetricDef("widget_opens", "Widget opens", "engagement", "count", "Rewards widget opened (tracked)."),
    MetricDef(
        "widget_clicks", "Widget clicks", "engagement", "count", "Clicks inside the rewards widget (tracked)."
    ),
    MetricDef(
        "referral_invitations",
        "Referral invitations",
        "engagement",
        "count",
        "Referral invitations sent.",
    ),
    MetricDef(
        "referral_shares",
        "Referral shares",
        "engagement",
        "count",
        "Referral links shared or copied.",
    ),
    MetricDef(
        "referral_signups",
        "Referral sign-ups",
        "engagement",
        "count",
        "Referred friends who signed up.",
    ),
    MetricDef(
        "referral_completions",
        "Referral completions",
        "engagement",
        "count",
        "Referrals completed (the friend's qualifying order).",
    ),
    MetricDef("tier_changes", "Tier changes", "engagement", "count", "Customers moving to another VIP tier."),
    MetricDef("tier_upgrades", "Tier upgrades", "engagement", "count", "Customers moving up a VIP tier."),
    MetricDef(
        "events_sent",
        "Events sent",
        "communications",
        "count",
        "Delivery attempts to Klaviyo, Omnisend and webhooks (retries included).",
    ),
    MetricDef(
        "events_delivered", "Events delivered", "communications", "count", "Attempts the receiver accepted."
    ),
    MetricDef(
        "events_failed",
        "Events failed",
        "communications",
        "count",
        "Attempts that failed (retried later or given up).",
    ),
    MetricDef(
        "events_dead_lettered",
        "Events dead-lettered",
        "communications",
        "count",
        "Deliveries moved to the dead-letter queue.",
    ),
)
METRIC_BY_NAME: dict[str, MetricDef] = {m.name: m for m in METRICS}

CENT = Decimal("0.01")

# Metrics summed from several counters: what the widget reports and what the server saw.
_DERIVED_COUNTS: dict[str, tuple[str, ...]] = {
    "widget_opens": ("tracked:widget_opened",),
    "widget_clicks": ("tracked:widget_clicked",),
    "referral_shares": ("tracked:referral_shared", "tracked:referral_link_copied", "referral_shares:server"),
}
# Metrics that are a ratio of two counters: numerator, denominator, scale.
_RATIOS: dict[str, tuple[str, str, int]] = {
    "attributed_aov": ("attributed_revenue", "attributed_orders", 1),
    "attributed_revenue_percent": ("attributed_revenue", "revenue", 100),
    "coupon_use_rate": ("coupons_used", "coupons_redeemed", 100),
}
# Counters only the stream knows (their outbox events are kept 7 days): a rebuild keeps them.
STREAM_ONLY_PREFIXES: tuple[str, ...] = (
    "sign_ups",
    "referral_invitations",
    "referral_shares:server",
    "referral_signups",
    "referral_completions",
    "referral_rejections",
    "referral_incompletes",
    "tier_",
)


def money(value: Number) -> str:
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def _ratio(num: Number, den: Number, scale: int = 1) -> Decimal:
    return (Decimal(num) * scale / Decimal(den)) if den else Decimal(0)


@dataclass
class Totals:
    """Summed counters of a set of days, plus the liability at the end of its last day."""

    counters: dict[str, Number] = field(default_factory=dict)
    liability: int = 0

    def get(self, name: str) -> Number:
        return self.counters.get(name, 0)

    def value(self, name: str, coin_value: Decimal) -> Number:
        """A metric's exact value (Decimal for money and percents, int for counts and coins)."""
        if name == "liability_coins":
            return self.liability
        if name == "liability_value":
            return Decimal(self.liability) * coin_value
        if name in _RATIOS:
            num, den, scale = _RATIOS[name]
            return _ratio(self.get(num), self.get(den), scale)
        if name in _DERIVED_COUNTS:
            return sum(int(self.get(part)) for part in _DERIVED_COUNTS[name])
        value = self.get(name)
        unit = METRIC_BY_NAME[name].unit if name in METRIC_BY_NAME else "count"
        return Decimal(value) if unit == "money" else int(value)


def render(name: str, value: Number) -> int | str:
    """JSON form: counts and coins as integers, money and percents as decimal strings."""
    unit = METRIC_BY_NAME[name].unit
    return money(value) if unit in ("money", "percent") else int(value)


def delta_percent(current: Number, previous: Number) -> str | None:
    if not previous:
        return None
    return money((Decimal(current) - Decimal(previous)) * 100 / Decimal(previous))


def liability_by_day(days: Mapping[date, Mapping[str, Number]], total: int, upto: date) -> dict[date, int]:
    """Outstanding coins at the end of each stored day ≤ ``upto``: the running total now minus every
    later day's net change. ``days`` must hold every stored day after the earliest one wanted."""
    out: dict[date, int] = {}
    running = total
    for day in sorted(days, reverse=True):
        if day <= upto:
            out[day] = running
        running -= int(days[day].get("coins_net", 0))
    return out


def liability_at(days: Mapping[date, Mapping[str, Number]], total: int, when: date) -> int:
    """Outstanding coins at the end of ``when``."""
    return total - sum(int(c.get("coins_net", 0)) for d, c in days.items() if d > when)


def totals(days: Mapping[date, Mapping[str, Number]], window: DayRange, total: int) -> Totals:
    summed: dict[str, Number] = {}
    for day, counters in days.items():
        if window.start <= day <= window.end:
            add(summed, counters)
    return Totals(summed, liability_at(days, total, window.end))


def breakdown_keys(counters: Iterable[str], prefix: str) -> list[str]:
    """The keys present under ``prefix:KEY[:...]`` counters."""
    keys = {name.split(":")[1] for name in counters if name.startswith(prefix + ":")}
    return sorted(keys)


Granularity = Literal["day", "week", "month"]


def bucket_start(day: date, granularity: Granularity) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if granularity == "month":
        return day.replace(day=1)
    return day


def buckets(window: DayRange, granularity: Granularity) -> list[DayRange]:
    """The window cut into calendar days, weeks or months (the first and last may be partial)."""
    out: list[DayRange] = []
    current: date | None = None
    for day in window.dates():
        start = bucket_start(day, granularity)
        if start != current:
            current = start
            out.append(DayRange(day, day))
        else:
            out[-1] = DayRange(out[-1].start, day)
    return out
