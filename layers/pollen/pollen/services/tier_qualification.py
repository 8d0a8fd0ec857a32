"""VIP tier qualification riding on the facts' own transactions.

* :func:`on_order` is called by the order use case (one insertion point in ``services/orders.py``):
  it fixes the order's multiplier when the order is paid, credits or takes back the tier bonus
  (``source: tier``), moves the customer's window totals by what the order now counts for (refunds
  and cancellations take back), and upgrades at once with the entry reward (``source: tier``) — all
  staged into the order's unit of work. Its one extra read (the tier state, named by :func:`want`)
  joins the order's one read, so an order that upgrades a tier still costs 2 DynamoDB calls.
* :func:`stage_referral_completed` is the hook for the referrals use case: call it in the unit of
  work that completes a referral, with the referrer's tier state wanted in the same read.
* :func:`settle_tier` is what the daily job and the re-evaluation job do for one customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from pollen.domain.coupons import Coupon, new_coupon_code
from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.orders import OrderRecord, eligible_amount, refunded_amount
from pollen.domain.program import Program
from pollen.domain.rewards import DynamicReward, FixedAmountReward, PercentageReward
from pollen.domain.tiers import (
    Decision,
    Metric,
    OrderTier,
    TierProgram,
    TierState,
    Totals,
    bonus,
    demote_if_due,
    evaluate,
    expires_on,
    month_of,
    multiplier,
)
from pollen.domain.wallet import LedgerEntry, Source, TxnType, Wallet
from pollen.events.envelope import OutboxEvent
from pollen.observability import logger
from pollen.services.contacts import customer_fields
from pollen.services.container import Container
from pollen.services.tier_config import tier_program as tier_program  # noqa: PLC0414 - re-exported
from pollen.storage.rewards import rewards_of
from pollen.storage.tiers import tier_program_of

if TYPE_CHECKING:
    from pollen.services.unit_of_work import UnitOfWork

TIER_CHANGED = "tier_changed"
TIER_EXPIRING = "tier_expiring"

Stage = Callable[["UnitOfWork", Customer], None]


def want(uow: UnitOfWork, c: Container, customer_id: str | None) -> None:
    """Name what a fact's one read must add for tiers: the customer's tier state (nothing when tiers
    are off)."""
    if customer_id is not None and tier_program(c, uow.merchant_id) is not None:
        uow.tier_states.want(customer_id)


# ---- events --------------------------------------------------------------------------------------


def tier_changed_event(
    merchant_id: str,
    decision: Decision,
    program: TierProgram,
    customer: Customer,
    now: datetime,
    *,
    coupon: Coupon | None = None,
) -> OutboxEvent:
    change = decision.change
    assert change is not None
    tier = change.to_tier if change.direction == "up" else change.from_tier
    tier_id = tier.tier_id if tier else (change.from_id if change.direction == "down" else None)
    return OutboxEvent(
        event_type=TIER_CHANGED,
        merchant_id=merchant_id,
        customer_id=customer.customer_id,
        occurred_at=now,
        payload={
            "from": change.from_tier.tier_id if change.from_tier else change.from_id,
            "from_name": change.from_tier.name if change.from_tier else None,
            "to": change.to_tier.tier_id if change.to_tier else None,
            "to_name": change.to_tier.name if change.to_tier else None,
            "direction": change.direction.value,
            "tier": tier_id,
            "entry_coins": decision.entry_coins,
            "entry_coupon": coupon.code if coupon else None,
            "expires_on": _iso(expires_on(decision.state, program)),
            "customer": customer_fields(customer),
        },
    )


def tier_expiring_event(
    merchant_id: str, state: TierState, program: TierProgram, customer: Customer, now: datetime
) -> OutboxEvent:
    expiry = state.warned_for
    assert expiry is not None
    held = program.index(state.tier_id)
    metric = program.metric
    value = state.value(metric, program.window, now.date()) if metric else Decimal(0)
    to = program.tiers[program.qualified(value)] if program.qualified(value) >= 0 else None
    tier = program.tiers[held]
    return OutboxEvent(
        event_type=TIER_EXPIRING,
        merchant_id=merchant_id,
        customer_id=customer.customer_id,
        occurred_at=now,
        payload={
            "tier": tier.tier_id,
            "tier_name": tier.name,
            "expires_on": expiry.isoformat(),
            "days_left": (expiry - now.date()).days,
            "to": to.tier_id if to else None,
            "metric": metric.value if metric else None,
            "current": str(value),
            "needed": str(max(Decimal(0), tier.threshold.value - value)),
            "customer": customer_fields(customer),
        },
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# ---- applying a decision ---------------------------------------------------------------------------


def _entry_credit(
    wallet: Wallet, decision: Decision, program: Program, now: datetime
) -> tuple[Wallet, list[LedgerEntry]]:
    if not decision.entry_coins or decision.change is None or decision.change.to_tier is None:
        return wallet, []
    tier = decision.change.to_tier
    wallet, entry = wallet.credit(
        decision.entry_coins,
        type=TxnType.REWARD,
        source=Source.TIER,
        reference=tier.tier_id,
        now=now,
        expiry_days=program.expiry.days,
        note=f"{tier.name} entry reward",
    )
    return wallet, [entry]


def _stager(
    before: TierState,
    decision: Decision,
    tiers: TierProgram,
    now: datetime,
    *,
    force: bool = False,
    coupon: Coupon | None = None,
) -> Stage | None:
    """Stage the state (when it changed, or ``force``) with the member line and counters, the
    decision's events and the entry reward's ``coupon``."""
    after = decision.state
    if after == before and decision.change is None and decision.warning is None and not force:
        return None

    def stage(uow: UnitOfWork, customer: Customer) -> None:
        written = uow.tier_states.save(after, before=before, program=tiers, today=now.date())
        if coupon is not None:
            _stage_coupon(uow, coupon, customer, now)
        if decision.change is not None:
            uow.emit_event(tier_changed_event(uow.merchant_id, decision, tiers, customer, now, coupon=coupon))
        if decision.warning is not None:
            uow.emit_event(tier_expiring_event(uow.merchant_id, written, tiers, customer, now))

    return stage


def _entry_coupon(
    c: Container, merchant_id: str, decision: Decision, program: Program, now: datetime
) -> Coupon | None:
    """The coupon an entry reward's ``reward_id`` issues: the reward's terms, costing no coins; with
    Shopify connected it is ``pending`` until the hourly job creates its discount there (the
    redemption saga's ``settle_pending``), so the fact's own request never waits on Shopify. A
    reward deleted or disabled since the program was saved issues nothing (logged)."""
    change = decision.change
    if decision.entry_reward_id is None or change is None or change.to_tier is None:
        return None
    config = c.config.get(merchant_id)
    reward = rewards_of(config).get(decision.entry_reward_id) if config else None
    if reward is None or not reward.settings.enabled or isinstance(reward.settings, DynamicReward):
        logger.warning(
            "tier entry reward unavailable; no coupon issued",
            extra={"tier": change.to_tier.tier_id, "reward_id": decision.entry_reward_id},
        )
        return None
    terms = reward.settings
    value = terms.amount if isinstance(terms, FixedAmountReward) else None
    value = terms.percentage if isinstance(terms, PercentageReward) else value
    connected = bool(config and config.shopify and config.shopify.admin_access_token)
    return Coupon(
        code=new_coupon_code(),  # a fresh one per attempt: a collision retries with another
        customer_id=decision.state.customer_id,
        reward_id=reward.reward_id,
        reward_type=terms.type,
        value=value,
        max_discount=terms.max_discount if isinstance(terms, PercentageReward) else None,
        currency=program.currency,
        coins=0,
        min_order=terms.min_order_subtotal,
        channel="api",
        created_at=now,
        expires_at=now + timedelta(days=terms.validity_days),
        transaction_id=f"tier:{change.to_tier.tier_id}",
        shopify="pending" if connected else "none",
    )


def _stage_coupon(uow: UnitOfWork, coupon: Coupon, customer: Customer, now: datetime) -> None:
    """A new code (its code must be free) and either ``coupon_created`` now or, for Shopify, the
    pending marker the hourly job settles (``coupon_created`` once Shopify has the discount)."""
    coupon = coupon.model_copy(update={"contact": customer_fields(customer)})
    uow.coupons.add(coupon)
    if coupon.shopify == "pending":
        uow.coupons.mark_pending(coupon, now)
    else:
        from pollen.services.redemption import COUPON_CREATED, coupon_event  # noqa: PLC0415 - catalogue on use

        uow.emit_event(coupon_event(COUPON_CREATED, uow.merchant_id, coupon, None, now))


def _nothing(uow: UnitOfWork, customer: Customer) -> None:
    """Nothing to stage."""


def order_counts(order: OrderRecord, program: Program) -> Totals:
    """What a paid order counts for in every metric now (nothing once cancelled or fully refunded)."""
    facts = order.facts
    if not facts.paid or facts.cancelled or facts.data is None:
        return {}
    rule = program.earning
    spend = max(Decimal(0), eligible_amount(facts.data, rule) - refunded_amount(facts, rule))
    fully_refunded = bool(facts.refunds) and spend == 0
    return {
        Metric.SPEND: spend,
        Metric.ORDERS: Decimal(0 if fully_refunded else 1),
        Metric.COINS_EARNED: Decimal(order.applied_credited + order.applied_pending),
    }


def _deltas(now_counts: Totals, counted: Totals) -> Totals:
    return {m: now_counts.get(m, Decimal(0)) - counted.get(m, Decimal(0)) for m in Metric}


def _bonus(
    order: OrderRecord, current: OrderTier, wallet: Wallet, program: Program, now: datetime
) -> tuple[OrderTier, Wallet, list[LedgerEntry], int]:
    """Move the tier bonus (``source: tier``) to what the order's applied coins now call for.
    Returns the order's tier record, the wallet, the entries and the order's new shortfall."""
    entries: list[LedgerEntry] = []
    shortfall = order.shortfall
    goal_credited = bonus(order.applied_credited, current.multiplier)
    goal_pending = bonus(order.applied_pending, current.multiplier)
    delta = goal_credited - current.bonus_credited
    if delta > 0:
        wallet, entry = wallet.credit(
            delta,
            type=TxnType.REWARD,
            source=Source.TIER,
            reference=order.order_id,
            now=now,
            expiry_days=program.expiry.days,
            note=f"tier bonus x{current.multiplier.normalize()}",
        )
        entries.append(entry)
    elif delta < 0:
        take = min(-delta, wallet.balance)
        shortfall += -delta - take  # like the order's own clawback: never below zero
        if take:
            wallet, entry = wallet.debit(
                take,
                type=TxnType.REVERSAL,
                source=Source.TIER,
                reference=order.order_id,
                now=now,
                note="tier bonus taken back",
            )
            entries.append(entry)
    if goal_pending != current.bonus_pending:
        wallet = wallet.with_pending(goal_pending - current.bonus_pending)
    current = current.model_copy(update={"bonus_credited": goal_credited, "bonus_pending": goal_pending})
    return current, wallet, entries, shortfall


def on_order(
    c: Container,
    uow: UnitOfWork,
    order: OrderRecord,
    wallet: Wallet,
    entries: list[LedgerEntry],
    *,
    program: Program,
    now: datetime,
) -> tuple[OrderRecord, Wallet, list[LedgerEntry], Stage]:
    """The tier side of one order fact. ``order`` has its coins applied, ``wallet`` and ``entries``
    are after them; returns all three with the tier's part added, and what to stage."""
    tiers = tier_program(c, uow.merchant_id)
    if tiers is None or order.customer_id is None:
        return order, wallet, entries, _nothing
    before = uow.tier_states.state(order.customer_id)
    current = order.tier or OrderTier()
    if order.facts.paid and current.month is None and order.paid_at is not None:
        # the multiplier of the tier held when the order is paid (before this order's own upgrade)
        current = current.model_copy(
            update={"multiplier": multiplier(before, tiers), "month": month_of(order.paid_at.date())}
        )
    current, wallet, extra, shortfall = _bonus(order, current, wallet, program, now)
    state = before
    if current.month is not None:
        counts = order_counts(order, program)
        paid_day = order.paid_at.date() if order.paid_at else now.date()
        state = state.add(_deltas(counts, current.counted), paid_day, now.date())
        current = current.model_copy(update={"counted": counts})
    stage: Stage = _nothing
    if state != before:
        decision = evaluate(state, tiers, now)
        wallet, reward = _entry_credit(wallet, decision, program, now)
        extra.extend(reward)
        coupon = _entry_coupon(c, uow.merchant_id, decision, program, now)
        stage = _stager(before, decision, tiers, now, coupon=coupon) or _nothing
    order = order.model_copy(update={"tier": current, "shortfall": shortfall})
    return order, wallet, [*entries, *extra], stage


# ---- hooks for other facts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FactOutcome:
    """A fact's tier side: the wallet after any entry reward, its ledger entries, what to stage."""

    wallet: Wallet
    entries: list[LedgerEntry] = field(default_factory=list)
    stage: Stage | None = None


def on_fact(
    c: Container,
    uow: UnitOfWork,
    customer_id: str,
    deltas: Totals,
    wallet: Wallet,
    *,
    program: Program,
    now: datetime,
) -> FactOutcome:
    """Count ``deltas`` (e.g. ``{Metric.REFERRALS: 1}``) for the customer today and upgrade if they now
    reach a higher tier. Name the state with :func:`want` before the fact's read; stage the outcome in
    its unit of work."""
    tiers = tier_program(c, uow.merchant_id)
    if tiers is None:
        return FactOutcome(wallet)
    before = uow.tier_states.state(customer_id)
    state = before.add(deltas, now.date(), now.date())
    if state == before:
        return FactOutcome(wallet)
    decision = evaluate(state, tiers, now)
    wallet, entries = _entry_credit(wallet, decision, program, now)
    coupon = _entry_coupon(c, uow.merchant_id, decision, program, now)
    return FactOutcome(wallet, entries, _stager(before, decision, tiers, now, coupon=coupon))


def stage_referral_completed(
    c: Container,
    uow: UnitOfWork,
    referrer_id: str,
    wallet: Wallet,
    *,
    program: Program,
    now: datetime,
    completed: int = 1,
    coins: int = 0,
) -> FactOutcome:
    """The referrals hook: one more completed referral for ``referrer_id`` (the ``referrals`` metric;
    ``completed=-1`` when one is reversed), and the referral ``coins`` they earned (or lost) for
    ``coins_earned``. Its writes are kept apart from the referee's own tier writes in the commit
    (``tier-2``...), so both can share the order's unit of work."""
    return on_fact(
        c,
        uow,
        referrer_id,
        {Metric.REFERRALS: Decimal(completed), Metric.COINS_EARNED: Decimal(coins)},
        wallet,
        program=program,
        now=now,
    )


# ---- the daily job and the re-evaluation job -----------------------------------------------------------


def settle_tier(c: Container, merchant_id: str, customer_id: str, now: datetime, program: Program) -> str:
    """Re-read the customer and their tier state; apply a due downgrade, warning or (after a program
    change) upgrade; rewrite a stale due-index entry. Returns what happened. 2 calls when it writes."""
    config = c.config.get(merchant_id)
    tiers = (tier_program_of(config) if config else None) or TierProgram(version=1, updated_at=now)
    uow = c.units.begin(merchant_id)
    uow.customers.want(customer_id)
    uow.tier_states.want(customer_id)
    standing = uow.tier_states.standing(customer_id)
    record = uow.customers.get(customer_id)
    if record is None or standing is None:
        return "gone"
    before = standing.state
    decision = demote_if_due(before, tiers, now)
    stale = bool(standing.indexed_on) and standing.indexed_on <= now.date().isoformat()
    coupon = _entry_coupon(c, merchant_id, decision, program, now)
    stage = _stager(before, decision, tiers, now, force=stale, coupon=coupon)
    if stage is None:
        return "unchanged"  # the index was behind the table
    wallet, entries = _entry_credit(record.wallet, decision, program, now)
    if entries:
        uow.customers.save(CustomerRecord(record.customer, wallet), entries, program)
    stage(uow, record.customer)
    uow.commit()
    if decision.change is not None:
        return f"tier_{decision.change.direction.value}"
    return "warned" if decision.warning else "reindexed"
