"""Referrals ride on the order's own unit of work (docs/design.md "Second wave").

:mod:`pollen.services.orders` calls this module at one point: :func:`want` names the buyer's
referral state, the order's referral codes and the invite look-ups for the order's one read, and
:func:`plan` decides — after the order's own coins are planned — whether this order links, completes,
rejects or claws back a referral. Coins for the buyer (the friend) join the order's own wallet
change; everything else (the referrer's wallet, the referral, counters, coupons, events) is staged in
the same commit. When a referral is touched one more read fetches the referrer's side: an order that
completes a referral costs 3 DynamoDB calls, any other order nothing extra.

Exactly once: the referral, the friend state, both wallets and the rewarded-window counter are all
version- or condition-guarded in that one commit; a race retries the whole order decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from pollen.domain.coupons import Coupon, CouponStatus
from pollen.domain.customers import CustomerData, CustomerRecord
from pollen.domain.orders import Attribution, OrderData, OrderRecord, eligible_amount, refunded_amount
from pollen.domain.program import Program
from pollen.domain.referrals import (
    OPEN,
    FriendState,
    IssuedReward,
    Party,
    Reason,
    Referral,
    ReferralStatus,
    StoredReferralSettings,
    contact_digest,
    fingerprint,
    normalize_referral_code,
    screen,
    window_key,
)
from pollen.domain.wallet import LedgerEntry, Source, TxnType, Wallet
from pollen.events.envelope import OutboxEvent
from pollen.ids import new_ulid
from pollen.services.contacts import customer_fields
from pollen.services.container import Container
from pollen.services.merchants import merchant_config
from pollen.services.referral_rewards import (
    REFERRAL_COMPLETED,
    REFERRAL_REJECTED,
    REFERRAL_SIGNED_UP,
    add_coupons,
    grant,
    referral_event,
)
from pollen.services.tier_qualification import Stage, stage_referral_completed
from pollen.services.tier_qualification import want as want_tier
from pollen.storage.referrals import settings_of

if TYPE_CHECKING:
    from pollen.services.unit_of_work import UnitOfWork


def _codes(data: OrderData | None) -> list[str]:
    if data is None:
        return []
    return sorted({code for raw in data.discount_codes if (code := normalize_referral_code(raw))})


def _contacts(email: str | None, phone: str | None) -> list[str]:
    found = []
    if email:
        found.append(contact_digest("email", email))
    if phone and any(ch.isdigit() for ch in phone):
        found.append(contact_digest("phone", phone))
    return found


def want(
    uow: UnitOfWork, customer_id: str | None, *, codes: Sequence[str] = (), invites: Sequence[str] = ()
) -> None:
    """Name what the order's own read also fetches (no extra round trip): the buyer's referral state,
    the order's referral codes and its contact's invites (:func:`order_codes`, :func:`order_invites`)."""
    referrals = uow.referrals
    if customer_id:
        referrals.want_friend(customer_id)
        referrals.want_referrer(customer_id)
    for code in codes:
        referrals.want_code(code)
    for digest in invites:
        referrals.want_invite(digest)


ReferralPlan = tuple[OrderRecord, Wallet, list[LedgerEntry], Callable[[], None]]
"""The order (with any attribution), the buyer's wallet and entries, and what stages the referrer's
wallet and tier state (called once the buyer's own are staged, so the buyer's keep the first labels)."""


@dataclass
class _Writes:
    referral: tuple[Referral, Referral | None] | None = None  # (after, before)
    friend: tuple[FriendState, int] | None = None  # (after, expected version)
    referrer_wallet: tuple[CustomerRecord, Wallet, list[LedgerEntry]] | None = None
    referrer_add: dict[str, dict[str, int | Decimal]] = field(default_factory=dict)  # customer → counters
    fingerprints: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    window: tuple[str, str, int, int | None] | None = None  # referrer, window, limit, ttl
    coupons: list[Coupon] = field(default_factory=list)
    cancel_coupons: list[Coupon] = field(default_factory=list)  # cancelled (saved at the version read)
    events: list[OutboxEvent] = field(default_factory=list)
    tiers: tuple[Stage, CustomerRecord] | None = None  # the referrer's tier totals (referrals metric)

    def add(self, customer_id: str, **counters: int | Decimal) -> None:
        bucket = self.referrer_add.setdefault(customer_id, {})
        for name, amount in counters.items():
            bucket[name] = bucket.get(name, 0) + amount


def _nothing() -> None:
    """Nothing more to stage."""


def order_codes(data: OrderData | None) -> list[str]:
    """The referral codes an order names (what :func:`want` reads and :func:`plan` looks up)."""
    return _codes(data)


def order_invites(data: OrderData | None, hint: CustomerData | None) -> list[str]:
    """The invite digests of the order's contact (what :func:`want` reads)."""
    contact = hint if hint is not None and (hint.email or hint.phone) else data
    return _contacts(contact.email, contact.phone) if contact is not None else []


def order_lookups(
    c: Container, merchant_id: str, data: OrderData | None, hint: CustomerData | None
) -> tuple[list[str], list[str]]:
    """The referral codes and invite digests the order's one read includes: none while the merchant's
    referral program is off, since :func:`plan` starts no referral then (a held one still completes,
    from the friend state): two items fewer to read for every order of a store without referrals."""
    if not settings_of(merchant_config(c, merchant_id)).enabled:
        return [], []
    return order_codes(data), order_invites(data, hint)


def _subtotal(data: OrderData) -> Decimal:
    return sum((line.net for line in data.lines if not line.gift_card), Decimal(0))


def _qualifies(order: OrderRecord, settings: StoredReferralSettings) -> bool:
    facts = order.facts
    if facts.data is None or facts.cancelled or not facts.paid:
        return False
    if settings.qualifying.completes_on == "confirmed" and not facts.confirmed:
        return False
    return _subtotal(facts.data) >= settings.qualifying.min_order_subtotal


def _undone(order: OrderRecord, program: Program) -> bool:
    """Cancelled, or refunded down to nothing that earns."""
    facts = order.facts
    if facts.cancelled:
        return True
    if facts.data is None or not facts.refunds:
        return False
    eligible = eligible_amount(facts.data, program.earning)
    return eligible > 0 and refunded_amount(facts, program.earning) >= eligible


def plan(  # noqa: PLR0911, PLR0912, PLR0915, PLR0917 - one decision, read top to bottom
    uow: UnitOfWork,
    c: Container,
    order: OrderRecord,
    buyer: CustomerRecord,
    wallet: Wallet,
    entries: list[LedgerEntry],
    program: Program,
    now: datetime,
    *,
    codes: list[str],
    invites: list[str],
) -> ReferralPlan:
    """Decide what ``order`` does to referrals (see the module doc). ``wallet``/``entries`` are the
    buyer's after the order's own coins; the result extends them. ``codes`` and ``invites`` are the
    referral codes and invite digests :func:`want` named (:func:`order_codes`, :func:`order_invites`)."""
    merchant_id = uow.merchant_id
    referrals = uow.referrals
    config = merchant_config(c, merchant_id)
    settings = settings_of(config)
    shopify = bool(config.shopify and config.shopify.admin_access_token)
    buyer_id = buyer.customer.customer_id
    data = order.facts.data
    if data is None:
        return order, wallet, entries, _nothing
    referrals.want_friend(buyer_id)  # read already, unless the buyer was found by email: read now
    referrals.want_referrer(buyer_id)
    friend = referrals.friend(buyer_id)
    w = _Writes()
    new_friend = friend
    if friend.first_order_id is None:
        new_friend = replace(new_friend, first_order_id=order.order_id)
    is_new = friend.first_order_id in (None, order.order_id)

    # The buyer's own referral profile remembers where they ship and shop from (fraud checks).
    own = referrals.stored_referrer(buyer_id)
    if own is not None:
        addresses = own.addresses | _prints(data.shipping_address)
        devices = own.devices | _prints(data.device_id)
        if addresses != own.addresses or devices != own.devices:
            w.fingerprints[buyer_id] = (addresses, devices)

    # Which referral does this order touch? (most orders: none, and nothing more is read)
    referrer_id: str | None = None
    referral_id: str | None = None
    code: str | None = None
    held = friend.referral_id is not None and friend.referrer_id is not None
    if held and (
        friend.status in {s.value for s in OPEN}
        or (friend.status == ReferralStatus.COMPLETED.value and friend.order_id == order.order_id)
    ):
        referrer_id, referral_id = friend.referrer_id, friend.referral_id
    named = [found for c_ in codes if (found := referrals.code_owner(c_)) is not None]
    if named and order.order_id not in friend.handled_orders and settings.enabled:
        owner, code = named[0].customer_id, named[0].code
        if not held or owner != friend.referrer_id:  # a new code referral, or one to refuse
            referrer_id, referral_id = owner, None
    elif not held and settings.enabled:
        holds = [hold for digest in invites if (hold := referrals.invite(digest)) is not None]
        if holds:
            referrer_id, referral_id = holds[0].referrer_id, holds[0].referral_id

    if referrer_id is None:
        if new_friend != friend:
            w.friend = (new_friend, friend.version)
        return _finish(uow, order, wallet, entries, w, program, now)

    # The referrer's side: one more read.
    uow.customers.want(referrer_id)
    referrals.want_referrer(referrer_id)
    if referral_id:
        referrals.want_referral(referrer_id, referral_id)
    limit = settings.limits.max_rewarded
    window = window_key(limit, now) if limit else None
    if window:
        referrals.want_window(referrer_id, window)
    want_tier(uow, c, referrer_id)  # the referrer's tier totals: same read
    referrer = uow.customers.get(referrer_id)
    profile = referrals.referrer(referrer_id)
    before = referrals.referral(referrer_id, referral_id) if referral_id else None
    if referrer is None or (referral_id and before is None):
        if new_friend != friend:
            w.friend = (new_friend, friend.version)
        return _finish(uow, order, wallet, entries, w, program, now)
    referral = before
    buyer_contact = customer_fields(buyer.customer)

    # Clawback: the qualifying order undone before the rewards confirm.
    if (
        before is not None
        and before.status == ReferralStatus.COMPLETED
        and before.order_id == order.order_id
        and _undone(order, program)
        and (before.confirm_on is None or now < before.confirm_on)
    ):
        for (
            reward
        ) in before.rewards:  # only the clawback of a discount reward reads its coupons (a fourth call)
            if reward.coupon_code:
                uow.coupons.want(reward.coupon_code)
        wallet, entries = _claw_back(uow, before, referrer, wallet, entries, w, now)
        _referrer_tiers(c, uow, referrer, w, -1, program=program, now=now)
        new_friend = replace(new_friend, status=ReferralStatus.REVERSED.value)
        if new_friend != friend:
            w.friend = (new_friend, friend.version)
        return _finish(uow, order, wallet, entries, w, program, now)
    if not settings.enabled or (before is not None and before.status not in OPEN):
        if new_friend != friend:
            w.friend = (new_friend, friend.version)
        return _finish(uow, order, wallet, entries, w, program, now)

    # A code seen for the first time on this order (also the invite's referrer's own code).
    if before is None:
        referral = Referral(
            referral_id=new_ulid(),
            referrer_id=referrer_id,
            channel="code",
            status=ReferralStatus.SIGNED_UP,
            code=code,
            friend_customer_id=buyer_id,
            friend_email=buyer.customer.email or data.email,
            friend_phone=buyer.customer.phone or data.phone,
            friend_name=buyer.customer.first_name,
            order_id=order.order_id,
            currency=data.currency,
            created_at=now,
            updated_at=now,
            signed_up_at=now,
        )
        new_friend = replace(new_friend, handled_orders=(*friend.handled_orders, order.order_id))
    assert referral is not None
    held_by = friend.referrer_id if friend.referral_id else None
    reason = screen(
        settings.fraud,
        Party(
            customer_id=referrer_id,
            email=referrer.customer.email,
            phone=referrer.customer.phone,
            addresses=profile.addresses,
            devices=profile.devices,
        ),
        Party(
            customer_id=buyer_id,
            email=buyer.customer.email or data.email,
            phone=buyer.customer.phone or data.phone,
            addresses=frozenset(_prints(data.shipping_address)),
            devices=frozenset(_prints(data.device_id)),
        ),
        # a friend linked by this very order must be new to the store (an invited email may belong
        # to a shopper Pollen knew without it); one who signed up earlier was checked then
        friend_is_customer=(before is None or before.status == ReferralStatus.INVITED) and not is_new,
        referred_by=held_by if before is None else None,
    )
    if (
        reason is None
        and limit
        and window
        and _qualifies(order, settings)
        and referrals.window_count(referrer_id, window) >= limit.count
    ):
        reason = Reason.LIMIT_REACHED
    if reason is not None:
        rejected = referral.model_copy(
            update={
                "status": ReferralStatus.REJECTED,
                "reason": reason,
                "friend_customer_id": referral.friend_customer_id or buyer_id,
                "rejected_at": now,
                "updated_at": now,
                "next_reminder_on": None,
                "version": referral.version + 1,
            }
        )
        w.referral = (rejected, before)
        w.add(referrer_id, rejected=1)
        if before is not None and new_friend.referral_id in {None, before.referral_id}:
            # the friend stays with this (refused) referral: later orders read nothing more
            new_friend = replace(
                new_friend,
                referrer_id=referrer_id,
                referral_id=before.referral_id,
                status=ReferralStatus.REJECTED.value,
            )
        w.events.append(
            referral_event(
                REFERRAL_REJECTED, merchant_id, rejected, about=customer_fields(referrer.customer), now=now
            )
        )
        if new_friend != friend:
            w.friend = (new_friend, friend.version)
        return _finish(uow, order, wallet, entries, w, program, now)

    linked = referral
    events: list[OutboxEvent] = []
    if before is None or before.status == ReferralStatus.INVITED:  # signed up through this order
        linked = referral.model_copy(
            update={
                "status": ReferralStatus.SIGNED_UP,
                "friend_customer_id": buyer_id,
                "signed_up_at": referral.signed_up_at or now,
                "updated_at": now,
            }
        )
        w.add(referrer_id, signed_up=1)
        events.append(
            referral_event(
                REFERRAL_SIGNED_UP, merchant_id, linked, about=customer_fields(referrer.customer), now=now
            )
        )
        friend_reward = settings.friend_reward
        if friend_reward.issue_on == "signup" and not (
            linked.channel == "code" and friend_reward.reward_type
        ):
            at_signup = grant(
                friend_reward,
                "friend",
                buyer_id,
                wallet,
                linked,
                currency=program.currency,
                expiry_days=program.expiry.days,
                shopify=shopify,
                contact=buyer_contact,
                now=now,
            )
            wallet, entries = at_signup.wallet, [*entries, *at_signup.entries]
            w.coupons += at_signup.coupons
            linked = linked.model_copy(update={"rewards": [*linked.rewards, *at_signup.issued]})
    new_friend = replace(
        new_friend, referrer_id=referrer_id, referral_id=linked.referral_id, status=linked.status.value
    )
    if not _qualifies(order, settings):
        if linked.order_id is None and linked.channel == "code":
            linked = linked.model_copy(update={"order_id": order.order_id})
        w.referral = (linked.model_copy(update={"version": linked.version + 1}), before)
        w.events += events
        w.friend = (new_friend, friend.version)
        return _finish(uow, order, wallet, entries, w, program, now)

    # Completion: both rewards, in this transaction.
    issued: list[IssuedReward] = list(linked.rewards)
    referrer_wallet = referrer.wallet
    granted = grant(
        settings.referrer_reward,
        "referrer",
        referrer_id,
        referrer_wallet,
        linked,
        currency=program.currency,
        expiry_days=program.expiry.days,
        shopify=shopify,
        contact=customer_fields(referrer.customer),
        now=now,
    )
    referrer_entries = granted.entries
    referrer_wallet = granted.wallet
    w.coupons += granted.coupons
    issued += granted.issued
    if linked.issued("friend"):
        pass  # given when the friend signed up
    elif linked.channel == "code" and settings.friend_reward.reward_type is not None:
        # the code itself was the friend's discount at checkout (a Shopify discount, or the platform's)
        issued.append(
            IssuedReward(
                side="friend", type=settings.friend_reward.type, coupon_code=linked.code, issued_at=now
            )
        )
    else:
        mine = grant(
            settings.friend_reward,
            "friend",
            buyer_id,
            wallet,
            linked,
            currency=program.currency,
            expiry_days=program.expiry.days,
            shopify=shopify,
            contact=buyer_contact,
            now=now,
        )
        wallet, entries = mine.wallet, [*entries, *mine.entries]
        w.coupons += mine.coupons
        issued += mine.issued
    total = _subtotal(data)
    completed = linked.model_copy(
        update={
            "status": ReferralStatus.COMPLETED,
            "order_id": order.order_id,
            "order_total": total,
            "currency": data.currency,
            "rewards": issued,
            "completed_at": now,
            "updated_at": now,
            "next_reminder_on": None,
            "confirm_on": now + timedelta(days=settings.qualifying.confirm_days),
            "version": linked.version + 1,
        }
    )
    w.referral = (completed, before)
    new_friend = replace(new_friend, status=ReferralStatus.COMPLETED.value, order_id=order.order_id)
    w.friend = (new_friend, friend.version)
    if referrer_entries:
        w.referrer_wallet = (referrer, referrer_wallet, referrer_entries)
    coins = sum(e.coins for e in referrer_entries)
    _referrer_tiers(c, uow, referrer, w, 1, program=program, now=now)
    w.add(referrer_id, completed=1, coins_earned=coins, friends_revenue=total)
    if limit and window:
        ttl = int((now + timedelta(days=40)).timestamp()) if limit.per != "lifetime" else None
        w.window = (referrer_id, window, limit.count, ttl)
    events.append(
        referral_event(
            REFERRAL_COMPLETED,
            merchant_id,
            completed,
            about=customer_fields(referrer.customer),
            role="referrer",
            now=now,
        )
    )
    events.append(
        referral_event(
            REFERRAL_COMPLETED, merchant_id, completed, about=buyer_contact, role="friend", now=now
        )
    )
    w.events += events
    attribution = Attribution(
        source="referral",
        code=completed.code,
        referrer_customer_id=referrer_id,
        channel=completed.channel,
    )
    if not any(a.source == "referral" for a in order.attributions):
        order = order.model_copy(update={"attributions": [*order.attributions, attribution]})
    return _finish(uow, order, wallet, entries, w, program, now)


def _referrer_tiers(
    c: Container,
    uow: UnitOfWork,
    referrer: CustomerRecord,
    w: _Writes,
    completed: int,
    *,
    program: Program,
    now: datetime,
) -> None:
    """Count a completed (``1``) or reversed (``-1``) referral, and the referral coins the referrer
    kept, in the referrer's tier totals; an upgrade (and its entry reward) joins this commit."""
    before, wallet, moved = w.referrer_wallet or (referrer, referrer.wallet, [])
    coins = sum(e.signed for e in moved if e.source == Source.REFERRAL)
    outcome = stage_referral_completed(
        c,
        uow,
        referrer.customer.customer_id,
        wallet,
        program=program,
        now=now,
        completed=completed,
        coins=coins,
    )
    if outcome.entries:
        w.referrer_wallet = (before, outcome.wallet, [*moved, *outcome.entries])
    if outcome.stage is not None:
        w.tiers = (outcome.stage, referrer)


def _prints(value: str | None) -> set[str]:
    return {fingerprint(value)} if value and value.strip() else set()


def _claw_back(  # noqa: PLR0917
    uow: UnitOfWork,
    referral: Referral,
    referrer: CustomerRecord,
    wallet: Wallet,
    entries: list[LedgerEntry],
    w: _Writes,
    now: datetime,
) -> tuple[Wallet, list[LedgerEntry]]:
    """Take back what the referral gave: coins down to zero (the rest is the reward's shortfall),
    coupons cancelled while unused."""
    referrer_wallet, referrer_entries = referrer.wallet, list[LedgerEntry]()
    rewards = []
    taken_from_referrer = 0
    for issued in referral.rewards:
        reward = issued
        if reward.coins:
            target_wallet = referrer_wallet if reward.side == "referrer" else wallet
            take = min(reward.coins, target_wallet.balance)
            if take:
                target_wallet, entry = target_wallet.debit(
                    take,
                    type=TxnType.REVERSAL,
                    source=Source.REFERRAL,
                    reference=referral.referral_id,
                    now=now,
                    note="referral order undone",
                )
                if reward.side == "referrer":
                    referrer_wallet, referrer_entries = target_wallet, [*referrer_entries, entry]
                    taken_from_referrer += take
                else:
                    wallet, entries = target_wallet, [*entries, entry]
            reward = reward.model_copy(update={"reversed_coins": take, "shortfall": reward.coins - take})
        elif reward.coupon_code:
            coupon = uow.coupons.get(reward.coupon_code)
            if coupon is not None and coupon.stored_status == CouponStatus.ISSUED:
                w.cancel_coupons.append(
                    coupon.model_copy(
                        update={
                            "stored_status": CouponStatus.CANCELLED,
                            "cancelled_at": now,
                            "cancel_reason": "referral_reversed",
                            "version": coupon.version + 1,
                        }
                    )
                )
        rewards.append(reward)
    reversed_ = referral.model_copy(
        update={
            "status": ReferralStatus.REVERSED,
            "rewards": rewards,
            "reversed_at": now,
            "updated_at": now,
            "version": referral.version + 1,
        }
    )
    w.referral = (reversed_, referral)
    if referrer_entries:
        w.referrer_wallet = (referrer, referrer_wallet, referrer_entries)
    w.add(
        referral.referrer_id,
        reversed=1,
        coins_earned=-taken_from_referrer,
        friends_revenue=-(referral.order_total or Decimal(0)),
    )
    return wallet, entries


def _finish(  # noqa: PLR0917
    uow: UnitOfWork,
    order: OrderRecord,
    wallet: Wallet,
    entries: list[LedgerEntry],
    w: _Writes,
    program: Program,
    now: datetime,
) -> ReferralPlan:
    referrals = uow.referrals
    if w.friend is not None:
        referrals.save_friend(w.friend[0], expected_version=w.friend[1])
    if w.referral is not None:
        referrals.save(w.referral[0], before=w.referral[1])
    for customer_id in sorted(set(w.referrer_add) | set(w.fingerprints)):
        prints = w.fingerprints.get(customer_id)
        referrals.count(
            customer_id,
            w.referrer_add.get(customer_id, {}),
            addresses=prints[0] if prints else None,
            devices=prints[1] if prints else None,
        )
    if w.window is not None:
        referrer_id, window, limit, ttl = w.window
        referrals.count_window(referrer_id, window, limit=limit, expires_at=ttl)
    add_coupons(uow, w.coupons, now)
    for cancelled in w.cancel_coupons:
        uow.coupons.save(cancelled)
    for event in w.events:
        uow.emit_event(event)

    def then() -> None:
        if w.referrer_wallet is not None:
            before, after, moved = w.referrer_wallet
            uow.customers.save(CustomerRecord(before.customer, after), moved, program)
        if w.tiers is not None:
            w.tiers[0](uow, w.tiers[1].customer)

    return order, wallet, entries, then
