"""VIP tiers: the tier program, a customer's window totals and the rules that move them.

Pure: nothing here reads or writes storage. A customer's qualification lives in one bounded
:class:`TierState` (lifetime totals plus at most :data:`MONTHS_KEPT` monthly buckets per metric), so
deciding a tier never reads order history. Facts (a paid, refunded or cancelled order, coins earned, a
completed referral) add or take their delta; :func:`evaluate` upgrades at once (with the entry reward
once per tier per window) and starts the retention clock when totals fall below the held tier; the
daily job demotes with :func:`demote_if_due` after warning ``downgrade_warning_days`` before.

Rolling windows are counted by calendar month: a month's facts count while any day of that month is
inside the window (``rolling_days`` back from today), so a fact may count up to a month longer than
the window says, never shorter.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from pollen.domain.rewards import RewardId
from pollen.domain.values import value
from pollen.model import BaseModel

TierId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
MAX_ROLLING_DAYS = 730
MONTHS_KEPT = MAX_ROLLING_DAYS // 28 + 2  # enough monthly buckets for the longest window
LIFETIME = "lifetime"


class Metric(StrEnum):
    SPEND = "spend"  # merchandise after discounts, net of refunds, in the program's currency
    ORDERS = "orders"  # paid orders not cancelled or fully refunded
    COINS_EARNED = "coins_earned"  # coins earned from orders, triggers and referrals (not tier bonuses)
    REFERRALS = "referrals"  # completed referrals


class WindowKind(StrEnum):
    LIFETIME = "lifetime"
    CALENDAR_YEAR = "calendar_year"
    ROLLING_DAYS = "rolling_days"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class Threshold(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: Metric
    value: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)] = Field(
        description="Reach this much of the metric inside the window to hold the tier."
    )


class EntryReward(BaseModel):
    """Given once per tier per customer per window when the tier is reached: coins, or a coupon."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    coins: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Coins credited once when the tier is reached."
    )
    reward_id: RewardId | None = Field(
        default=None,
        description="Or a reward of the catalogue (not dynamic), issued once as a coupon costing no coins.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.coins is None) == (self.reward_id is None):
            raise ValueError("an entry reward is either coins or a reward_id (exactly one)")
        return self


class Benefits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    earn_multiplier: Annotated[Decimal, Field(ge=1, le=10, max_digits=6, decimal_places=2)] = Field(
        default=Decimal(1), description='Order coins are multiplied by this, e.g. "1.5".'
    )
    entry_reward: EntryReward | None = None
    perks: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20, description="Benefits shown to the customer, as text."
    )


class TierDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tier_id: TierId
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    threshold: Threshold
    benefits: Benefits = Field(default_factory=Benefits)


class Window(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: WindowKind = WindowKind.LIFETIME
    days: int | None = Field(default=None, ge=1, le=MAX_ROLLING_DAYS, description="rolling_days only.")

    @model_validator(mode="after")
    def _days_for_rolling(self) -> Self:
        if (self.kind == WindowKind.ROLLING_DAYS) != (self.days is not None):
            raise ValueError("days is required for rolling_days windows, and only for them")
        return self


class TierProgramSettings(BaseModel):
    """What a merchant sets: ordered tiers (lowest first), the window, retention and warnings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tiers: list[TierDefinition] = Field(default_factory=list, max_length=20)
    window: Window = Field(default_factory=Window)
    retention_days: int = Field(
        default=0, ge=0, le=3650, description="Days a reached tier is kept after totals fall below it."
    )
    downgrade_warning_days: int = Field(
        default=7, ge=0, le=365, description="Days before a downgrade to send `tier_expiring` (0 = none)."
    )

    @model_validator(mode="after")
    def _ordered_one_metric(self) -> Self:
        ids = [t.tier_id for t in self.tiers]
        if len(set(ids)) != len(ids):
            raise ValueError("tier_id must be unique")
        if len({t.threshold.metric for t in self.tiers}) > 1:
            raise ValueError("every tier must use the same threshold metric (one metric per program)")
        values = [t.threshold.value for t in self.tiers]
        if any(b <= a for a, b in pairwise(values)):
            raise ValueError("thresholds must strictly increase from the first tier to the last")
        if values and values[0] <= 0:
            raise ValueError("the first tier's threshold must be above 0")
        return self

    @property
    def metric(self) -> Metric | None:
        return self.tiers[0].threshold.metric if self.tiers else None

    def index(self, tier_id: str | None) -> int:
        """Position of ``tier_id`` (-1: no tier, or a tier the program no longer has)."""
        return next((i for i, t in enumerate(self.tiers) if t.tier_id == tier_id), -1)

    def tier(self, tier_id: str | None) -> TierDefinition | None:
        i = self.index(tier_id)
        return self.tiers[i] if i >= 0 else None

    def qualified(self, value: Decimal) -> int:
        """The highest tier ``value`` reaches (-1: none)."""
        return max((i for i, t in enumerate(self.tiers) if value >= t.threshold.value), default=-1)


class TierProgram(TierProgramSettings):
    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = Field(ge=1)
    updated_at: datetime


# ---- a customer's totals and tier ------------------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_bounds(month: str) -> tuple[date, date]:
    year, mon = int(month[:4]), int(month[5:7])
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


Totals = dict[Metric, Decimal]


class TierState(BaseModel):
    """One customer's qualification: bounded (4 lifetime totals, ≤ MONTHS_KEPT monthly buckets)."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    tier_id: str | None = None
    since: datetime | None = None
    below_since: date | None = Field(default=None, description="First day totals stopped qualifying.")
    warned_for: date | None = Field(default=None, description="The expires_on a warning was sent for.")
    lapses_on: date | None = Field(
        default=None, description="When totals stop reaching the held tier if nothing new happens."
    )
    lifetime: Totals = Field(default_factory=dict)
    months: dict[str, Totals] = Field(default_factory=dict)
    entry_rewards: dict[str, date] = Field(default_factory=dict, description="tier_id → day given.")
    program_version: int = 0
    version: int = 0

    def add(self, deltas: Totals, day: date, today: date) -> TierState:
        """Add (or, negative, take back) ``deltas`` counted on ``day``; old months are dropped."""
        deltas = {m: v for m, v in deltas.items() if v}
        if not deltas:
            return self
        lifetime = dict(self.lifetime)
        months = {k: dict(v) for k, v in self.months.items()}
        month = month_of(day)
        keep = _oldest_kept(today)
        for metric, delta in deltas.items():
            lifetime[metric] = max(Decimal(0), lifetime.get(metric, Decimal(0)) + delta)
            if month >= keep:
                bucket = months.setdefault(month, {})
                bucket[metric] = max(Decimal(0), bucket.get(metric, Decimal(0)) + delta)
        months = {k: v for k, v in months.items() if k >= keep and any(v.values())}
        return self.model_copy(update={"lifetime": lifetime, "months": months})

    def value(self, metric: Metric, window: Window, today: date) -> Decimal:
        """The metric's total inside the window as of ``today``."""
        if window.kind == WindowKind.LIFETIME:
            return self.lifetime.get(metric, Decimal(0))
        return sum(
            (b.get(metric, Decimal(0)) for m, b in self.months.items() if _in_window(m, window, today)),
            Decimal(0),
        )


def _oldest_kept(today: date) -> str:
    """The oldest month kept: MONTHS_KEPT months including this one."""
    months = today.year * 12 + today.month - 1 - (MONTHS_KEPT - 1)
    return f"{months // 12:04d}-{months % 12 + 1:02d}"


def _in_window(month: str, window: Window, today: date) -> bool:
    first, last = _month_bounds(month)
    if first > today:
        return False
    if window.kind == WindowKind.CALENDAR_YEAR:
        return first.year == today.year
    if window.kind == WindowKind.ROLLING_DAYS and window.days is not None:
        return last >= today - timedelta(days=window.days - 1)
    return True


def lapse_day(state: TierState, program: TierProgramSettings, today: date) -> date | None:
    """The first day the held tier's threshold is no longer met if nothing new happens (None: never)."""
    tier = program.tier(state.tier_id)
    metric = program.metric
    if tier is None or metric is None:
        return None
    needed = tier.threshold.value
    window = program.window
    if state.value(metric, window, today) < needed:
        return today
    if window.kind == WindowKind.LIFETIME:
        return None
    if window.kind == WindowKind.CALENDAR_YEAR:
        return date(today.year + 1, 1, 1)
    days = window.days or 1
    total = state.value(metric, window, today)
    for month in sorted(m for m in state.months if _in_window(m, window, today)):
        total -= state.months[month].get(metric, Decimal(0))
        if total < needed:
            return _month_bounds(month)[1] + timedelta(days=days)
    return today


def placed(state: TierState, program: TierProgramSettings, today: date) -> TierState:
    """``state`` with its retention clock set: when totals reach the held tier, the day they will stop
    (``lapses_on``); when they no longer do, the day they stopped (``below_since``, kept once set)."""
    tier = program.tier(state.tier_id)
    metric = program.metric
    if tier is None or metric is None:
        return state.model_copy(update={"below_since": None, "lapses_on": None})
    if state.value(metric, program.window, today) >= tier.threshold.value:
        return state.model_copy(update={"below_since": None, "lapses_on": lapse_day(state, program, today)})
    lapsed = state.lapses_on if state.lapses_on and state.lapses_on <= today else today
    return state.model_copy(update={"below_since": state.below_since or lapsed, "lapses_on": None})


def expires_on(state: TierState, program: TierProgramSettings) -> date | None:
    """When the held tier will be lost absent new facts: the lapse plus the retention period."""
    if program.tier(state.tier_id) is None:
        return None
    start = state.below_since or state.lapses_on
    return start + timedelta(days=program.retention_days) if start else None


def due_day(state: TierState, program: TierProgramSettings) -> date | None:
    """The next day the daily job must look at this customer: a warning or a downgrade."""
    expiry = expires_on(state, program)
    if expiry is None:
        return None
    warn = expiry - timedelta(days=program.downgrade_warning_days)
    if program.downgrade_warning_days and state.warned_for != expiry and warn < expiry:
        return warn
    return expiry


@value
class TierChange:
    from_tier: TierDefinition | None
    to_tier: TierDefinition | None
    direction: Direction
    from_id: str | None = None  # a tier the program no longer has (``from_tier`` is then None)


@value
class Decision:
    state: TierState
    change: TierChange | None = None
    entry_coins: int = 0  # entry reward to credit now (0: none)
    entry_reward_id: str | None = None  # or the reward to issue now as a coupon (None: none)
    warning: date | None = None  # a tier_expiring to send for this expires_on


def _entry_due(state: TierState, tier: TierDefinition, window: Window, today: date) -> bool:
    given = state.entry_rewards.get(tier.tier_id)
    if given is None:
        return True
    if window.kind == WindowKind.CALENDAR_YEAR:
        return given.year != today.year
    if window.kind == WindowKind.ROLLING_DAYS and window.days is not None:
        return given + timedelta(days=window.days) <= today
    return False  # lifetime: once ever


def _without_removed_tiers(state: TierState, program: TierProgramSettings) -> TierState:
    """``state`` without what refers to tiers the program no longer has: the tier held (lost, with its
    retention clock and warning) and the entry rewards given for them (a tier added again later is a
    new tier, whose entry reward is earned anew)."""
    rewards = {t: day for t, day in state.entry_rewards.items() if program.index(t) >= 0}
    if program.index(state.tier_id) >= 0 or state.tier_id is None:
        return (
            state if rewards == state.entry_rewards else state.model_copy(update={"entry_rewards": rewards})
        )
    return state.model_copy(
        update={
            "tier_id": None,
            "since": None,
            "below_since": None,
            "lapses_on": None,
            "warned_for": None,
            "entry_rewards": rewards,
        }
    )


def evaluate(state: TierState, program: TierProgram, now: datetime) -> Decision:
    """After a fact: upgrade at once to the highest tier the totals reach (entry reward once per tier
    per window); below the held tier, start the retention clock; back above it, stop it."""
    today = now.date()
    metric = program.metric
    state = state.model_copy(update={"program_version": program.version})
    gone = state.tier_id if state.tier_id is not None and program.index(state.tier_id) < 0 else None
    state = _without_removed_tiers(state, program)
    if metric is None:
        lost = TierChange(None, None, Direction.DOWN, from_id=gone) if gone else None
        return Decision(state, lost)
    value = state.value(metric, program.window, today)
    reached, held = program.qualified(value), program.index(state.tier_id)
    if reached > held:
        tier = program.tiers[reached]
        entry = tier.benefits.entry_reward
        due = entry is not None and _entry_due(state, tier, program.window, today)
        coins = (entry.coins or 0) if entry and due else 0
        reward_id = entry.reward_id if entry and due else None
        rewards = {**state.entry_rewards, tier.tier_id: today} if due else state.entry_rewards
        after = state.model_copy(
            update={"tier_id": tier.tier_id, "since": now, "warned_for": None, "entry_rewards": rewards}
        )
        after = placed(after.model_copy(update={"below_since": None}), program, today)
        change = TierChange(program.tier(state.tier_id), tier, Direction.UP, gone)
        return Decision(after, change, coins, entry_reward_id=reward_id)
    if gone:  # held a tier the program dropped, and reaches none of the others
        return Decision(placed(state, program, today), TierChange(None, None, Direction.DOWN, gone))
    if held < 0:
        return Decision(placed(state.model_copy(update={"warned_for": None}), program, today))
    return Decision(placed(state, program, today))


def demote_if_due(state: TierState, program: TierProgram, now: datetime) -> Decision:
    """The daily job's rule: a tier whose retention ended and whose totals no longer reach it falls to
    the tier they reach; ``downgrade_warning_days`` before that, a warning is due (once per date)."""
    today = now.date()
    decision = evaluate(state, program, now)
    if decision.change is not None:
        return decision  # totals reach higher (e.g. a program change lowered a threshold)
    state = decision.state
    expiry = expires_on(state, program)
    metric = program.metric
    if expiry is None or metric is None:
        return decision
    if expiry <= today:
        reached = program.qualified(state.value(metric, program.window, today))
        if reached < program.index(state.tier_id):
            to = program.tiers[reached] if reached >= 0 else None
            after = state.model_copy(
                update={
                    "tier_id": to.tier_id if to else None,
                    "since": now if to else None,
                    "below_since": None,
                    "warned_for": None,
                }
            )
            return Decision(
                placed(after, program, today), TierChange(program.tier(state.tier_id), to, Direction.DOWN)
            )
        return decision
    warn_from = expiry - timedelta(days=program.downgrade_warning_days)
    if program.downgrade_warning_days and warn_from <= today and state.warned_for != expiry:
        return Decision(state.model_copy(update={"warned_for": expiry}), warning=expiry)
    return decision


@value
class Progress:
    metric: Metric
    current: Decimal
    needed: Decimal
    percent: int


def progress(state: TierState, program: TierProgramSettings, today: date) -> tuple[int, Progress | None]:
    """The next tier's index (-1: at the top or no program) and the progress towards it."""
    metric = program.metric
    if metric is None:
        return -1, None
    current = state.value(metric, program.window, today)
    nxt = program.index(state.tier_id) + 1
    if nxt >= len(program.tiers):
        return -1, None
    needed = program.tiers[nxt].threshold.value
    percent = int(min(Decimal(100), current * 100 / needed).to_integral_value(ROUND_FLOOR))
    return nxt, Progress(metric, current, max(Decimal(0), needed - current), percent)


def multiplier(state: TierState | None, program: TierProgramSettings | None) -> Decimal:
    """The held tier's earn multiplier (1 without a tier)."""
    if state is None or program is None:
        return Decimal(1)
    tier = program.tier(state.tier_id)
    return tier.benefits.earn_multiplier if tier else Decimal(1)


def bonus(coins: int, factor: Decimal) -> int:
    """Extra coins a multiplier adds to ``coins``: floor(coins * factor) - coins, so that an order's
    coins plus its bonus equal the cart's floor(coins * factor) exactly."""
    if coins <= 0 or factor <= 1:
        return 0
    return int((coins * factor).to_integral_value(ROUND_FLOOR)) - coins


class OrderTier(BaseModel):
    """What one order has added to its customer's tier totals and bonus coins (kept on the order)."""

    model_config = ConfigDict(frozen=True)

    multiplier: Decimal = Decimal(1)  # the tier's earn_multiplier when the order was paid
    bonus_credited: int = 0
    bonus_pending: int = 0
    month: str | None = None  # the month its facts are counted in (the payment's)
    counted: Totals = Field(default_factory=dict)
