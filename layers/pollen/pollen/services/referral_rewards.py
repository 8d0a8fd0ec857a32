"""What referrals give and announce: coin credits, coupons (through the redemption machinery) and the
``referral_*`` outbox events. Pure planning plus staging helpers shared by the order path, the
invitation and sign-up paths and the reminder job."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pollen.domain.coupons import Coupon, new_coupon_code
from pollen.domain.referrals import (
    IssuedReward,
    Referral,
    ReferralRewardType,
    ReferralSettings,
    RewardSpec,
    mask_email,
    mask_phone,
)
from pollen.domain.wallet import LedgerEntry, Source, TxnType, Wallet
from pollen.events.envelope import OutboxEvent

if TYPE_CHECKING:
    from pollen.services.unit_of_work import UnitOfWork

REFERRAL_INVITED = "referral_invited"
REFERRAL_SIGNED_UP = "referral_signed_up"
REFERRAL_COMPLETED = "referral_completed"
REFERRAL_REJECTED = "referral_rejected"
REFERRAL_INCOMPLETE = "referral_incomplete"
REFERRAL_REWARD_ID = "referral"

Side = Literal["referrer", "friend"]


@dataclass
class Granted:
    """One side's reward as planned: the new wallet (coins) or a coupon to stage."""

    wallet: Wallet
    entries: list[LedgerEntry] = field(default_factory=list)
    coupons: list[Coupon] = field(default_factory=list)
    issued: list[IssuedReward] = field(default_factory=list)


def grant(
    spec: RewardSpec,
    side: Side,
    customer_id: str,
    wallet: Wallet,
    referral: Referral,
    *,
    currency: str,
    expiry_days: int | None,
    shopify: bool,
    contact: dict[str, Any],
    now: datetime,
) -> Granted:
    """Coins are credited to ``wallet`` (ledger source ``referral``); a discount becomes a coupon for
    that customer (a Shopify discount code too when Shopify is connected, settled by the hourly job)."""
    if spec.type == ReferralRewardType.COINS:
        assert spec.coins is not None  # guaranteed by RewardSpec
        after, entry = wallet.credit(
            spec.coins,
            type=TxnType.REWARD,
            source=Source.REFERRAL,
            reference=referral.referral_id,
            now=now,
            expiry_days=expiry_days,
            note=f"referral ({side})",
        )
        issued = IssuedReward(
            side=side, type=spec.type, coins=spec.coins, transaction_id=entry.txn_id, issued_at=now
        )
        return Granted(after, [entry], [], [issued])
    reward_type = spec.reward_type
    assert reward_type is not None
    coupon = Coupon(
        code=new_coupon_code(),
        customer_id=customer_id,
        reward_id=REFERRAL_REWARD_ID,
        reward_type=reward_type,
        value=spec.value,
        max_discount=spec.max_discount,
        currency=currency,
        coins=0,
        min_order=spec.min_order_subtotal,
        channel="api",
        created_at=now,
        expires_at=now + timedelta(days=spec.validity_days),
        transaction_id=referral.referral_id,
        shopify="pending" if shopify else "none",
        contact=contact,
    )
    issued = IssuedReward(side=side, type=spec.type, coupon_code=coupon.code, issued_at=now)
    return Granted(wallet, [], [coupon], [issued])


def add_coupons(uow: UnitOfWork, coupons: list[Coupon], now: datetime) -> None:
    """New reward coupons through a unit of work: each with its event, or listed for the scheduled
    job while Shopify has not confirmed it (its event follows then)."""
    from pollen.services.redemption import COUPON_CREATED, coupon_event  # noqa: PLC0415 - the catalogue on use

    for coupon in coupons:
        uow.coupons.add(coupon)
        if coupon.shopify == "pending":
            uow.coupons.mark_pending(coupon, now)
        else:
            uow.emit_event(coupon_event(COUPON_CREATED, uow.merchant_id, coupon, None, now))


def _friend_view(referral: Referral) -> dict[str, Any]:
    return {
        "customer_id": referral.friend_customer_id,
        "email": mask_email(referral.friend_email),
        "phone": mask_phone(referral.friend_phone),
        "name": referral.friend_name,
    }


def _rewards(settings: ReferralSettings) -> dict[str, Any]:
    return {
        "referrer_reward": settings.referrer_reward.model_dump(mode="json", exclude_none=True),
        "friend_reward": settings.friend_reward.model_dump(mode="json", exclude_none=True),
    }


def referral_event(
    event_type: str,
    merchant_id: str,
    referral: Referral,
    *,
    about: dict[str, Any],
    now: datetime,
    role: Side | None = None,
    referrer: dict[str, Any] | None = None,
    settings: ReferralSettings | None = None,
    **extra: Any,
) -> OutboxEvent:
    """``about`` is the profile the event is about (Klaviyo/Omnisend find it by its email/phone)."""
    payload: dict[str, Any] = {
        "referral_id": referral.referral_id,
        "status": referral.status.value,
        "channel": referral.channel,
        "code": referral.code,
        "role": role,
        "reason": referral.reason.value if referral.reason else None,
        "referrer_customer_id": referral.referrer_id,
        "friend": _friend_view(referral),
        "order_id": referral.order_id,
        "rewards": [r.model_dump(mode="json") for r in referral.rewards if role is None or r.side == role],
        **(_rewards(settings) if settings else {}),
        **extra,
        "customer": about,
    }
    if referrer is not None:
        payload["referrer"] = referrer
    customer_id = about.get("customer_id") or None
    return OutboxEvent(
        event_type=event_type,
        merchant_id=merchant_id,
        customer_id=customer_id
        if isinstance(customer_id, str) and not customer_id.startswith("referral:")
        else None,
        occurred_at=now,
        payload=payload,
    )


def friend_contact(referral: Referral) -> dict[str, Any]:
    """The invited friend as an event's profile (no customer id yet: a stable stand-in)."""
    return {
        "customer_id": referral.friend_customer_id or f"referral:{referral.referral_id}",
        "email": referral.friend_email,
        "phone": referral.friend_phone,
        "first_name": referral.friend_name,
        "last_name": None,
    }
