"""Referrals: the program's settings, a referral's life and the fraud rules (pure, no storage).

A referral links a *referrer* (an existing customer) to a *friend*. Two ways in:

* **invite** (email/mobile): the referrer names the friend; the referral is ``invited``; when a
  customer with that email or phone appears it is ``signed_up``; the friend's first qualifying order
  ``completed`` it.
* **code**: every customer has a personal code; an order by a new customer carrying it completes a
  referral at once (``signed_up`` while the order is not yet paid).

Any step may end in ``rejected`` with a stable reason code. A completed referral whose qualifying
order is cancelled or fully refunded before its rewards confirm is ``reversed``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from pollen.domain.errors import Conflict
from pollen.domain.reward_types import RewardType
from pollen.domain.values import value
from pollen.model import BaseModel

Amount = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
MinOrder = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class ReferralRewardType(StrEnum):
    COINS = "coins"
    FIXED_AMOUNT = "fixed_amount"
    PERCENTAGE = "percentage"
    FREE_SHIPPING = "free_shipping"


class RewardSpec(BaseModel):
    """What one side gets: coins into the wallet, or a discount that becomes a coupon."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ReferralRewardType
    coins: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    value: Amount | None = Field(default=None, description="Amount off, or the percentage (percentage).")
    max_discount: Amount | None = None
    min_order_subtotal: MinOrder | None = None
    validity_days: int = Field(default=30, ge=1, le=365)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.type == ReferralRewardType.COINS:
            if self.coins is None or self.value is not None:
                raise ValueError("a coins reward takes `coins` (and no `value`)")
        elif self.coins is not None:
            raise ValueError("a discount reward takes no `coins`")
        if self.type in {ReferralRewardType.FIXED_AMOUNT, ReferralRewardType.PERCENTAGE}:
            if self.value is None:
                raise ValueError(f"a {self.type.value} reward needs `value`")
            if self.type == ReferralRewardType.PERCENTAGE and self.value > 100:
                raise ValueError("a percentage is at most 100")
        elif self.type == ReferralRewardType.FREE_SHIPPING and self.value is not None:
            raise ValueError("a free_shipping reward takes no `value`")
        return self

    @property
    def reward_type(self) -> RewardType | None:
        """The coupon type of a discount reward (None for coins)."""
        return None if self.type == ReferralRewardType.COINS else RewardType(self.type.value)


class FriendReward(RewardSpec):
    issue_on: Literal["signup", "completion"] = Field(
        default="completion",
        description="`signup`: issued when the invited friend becomes a customer (say, a coupon for the "
        "first order); `completion`: with the referrer's reward, on the qualifying order.",
    )


class Qualifying(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_order_subtotal: MinOrder = Decimal(0)
    completes_on: Literal["paid", "confirmed"] = "paid"
    confirm_days: int = Field(
        default=14,
        ge=0,
        le=365,
        description="Days after completion during which a cancelled or fully refunded qualifying "
        "order takes the rewards back (0: rewards are final at once).",
    )


class MaxRewarded(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(ge=1, le=1_000_000)
    per: Literal["day", "month", "lifetime"] = "lifetime"


class ReferralLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_rewarded: MaxRewarded | None = None


class Reminder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    after_days: int = Field(default=3, ge=1, le=365)
    max_reminders: int = Field(default=0, ge=0, le=10, description="0: no reminders.")


class FraudSettings(BaseModel):
    """Each guard can be switched off; a rejection always records its reason code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    self_referral: bool = True
    existing_customer: bool = True
    already_referred: bool = True
    same_address: bool = True
    same_device: bool = True


class ReferralSettings(BaseModel):
    """What a merchant sets for referrals (``PUT /v1/admin/referral-program``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    referrer_reward: RewardSpec = Field(
        default_factory=lambda: RewardSpec(type=ReferralRewardType.COINS, coins=500)
    )
    friend_reward: FriendReward = Field(
        default_factory=lambda: FriendReward(type=ReferralRewardType.COINS, coins=250)
    )
    qualifying: Qualifying = Field(default_factory=Qualifying)
    limits: ReferralLimits = Field(default_factory=ReferralLimits)
    reminder: Reminder = Field(default_factory=Reminder)
    fraud: FraudSettings = Field(default_factory=FraudSettings)
    share_base_url: Annotated[str, StringConstraints(max_length=500, pattern=r"^https://\S+$")] | None = (
        Field(
            default=None,
            description="Where a share link lands (`?ref=CODE` is appended). Default with Shopify: "
            "`https://{shop}/discount/{CODE}`, which applies the code in the shopper's cart.",
        )
    )
    shopify_segment_id: Annotated[str, StringConstraints(pattern=r"^gid://shopify/Segment/\d+$")] | None = (
        Field(
            default=None,
            description="A Shopify customer segment of customers without orders "
            "(`number_of_orders = 0`); referral codes created in Shopify are limited to it.",
        )
    )


class StoredReferralSettings(ReferralSettings):
    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = Field(ge=0)
    updated_at: datetime | None = None


# ---- referrals -----------------------------------------------------------------------------------


class ReferralStatus(StrEnum):
    INVITED = "invited"
    SIGNED_UP = "signed_up"
    COMPLETED = "completed"
    REJECTED = "rejected"
    REVERSED = "reversed"


OPEN = frozenset({ReferralStatus.INVITED, ReferralStatus.SIGNED_UP})


class Reason(StrEnum):
    """Stable reason codes the merchant sees; callers only ever see ``rejected``."""

    SELF_REFERRAL = "self_referral"
    NOT_NEW_CUSTOMER = "not_new_customer"
    ALREADY_REFERRED = "already_referred"
    SAME_ADDRESS = "same_address"
    SAME_DEVICE = "same_device"
    LIMIT_REACHED = "limit_reached"
    PROGRAM_DISABLED = "program_disabled"


class IssuedReward(BaseModel):
    """A reward given to one side: coins (their ledger entry) or a coupon code."""

    model_config = ConfigDict(frozen=True)

    side: Literal["referrer", "friend"]
    type: ReferralRewardType
    coins: int = 0
    coupon_code: str | None = None
    transaction_id: str | None = None
    reversed_coins: int = 0
    shortfall: int = 0
    issued_at: datetime


class Referral(BaseModel):
    model_config = ConfigDict(frozen=True)

    referral_id: str
    referrer_id: str
    channel: Literal["invite", "code"]
    status: ReferralStatus
    reason: Reason | None = None
    code: str | None = None
    friend_customer_id: str | None = None
    friend_email: str | None = None
    friend_phone: str | None = None
    friend_name: str | None = None
    order_id: str | None = None
    order_total: Decimal | None = None
    currency: str | None = None
    rewards: list[IssuedReward] = Field(default_factory=list)
    reminders_sent: int = 0
    next_reminder_on: str | None = None  # ISO day the next reminder is due (open referrals only)
    created_at: datetime
    updated_at: datetime
    signed_up_at: datetime | None = None
    completed_at: datetime | None = None
    rejected_at: datetime | None = None
    reversed_at: datetime | None = None
    confirm_on: datetime | None = None
    version: int = 0

    def issued(self, side: str) -> bool:
        return any(r.side == side for r in self.rewards)

    def with_reminder_schedule(self, reminder: Reminder, base: datetime) -> Referral:
        due = (
            (base + timedelta(days=reminder.after_days)).date().isoformat()
            if self.status in OPEN and self.reminders_sent < reminder.max_reminders
            else None
        )
        return self.model_copy(update={"next_reminder_on": due})


class ReferralDisabled(Conflict):
    title = "Referrals disabled"
    slug = "referrals-disabled"


# ---- codes and contacts --------------------------------------------------------------------------

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_RANDOM = 8  # 40 bits from `secrets`
CODE_PATTERN = re.compile(r"^[A-Z]{1,8}-[A-Z2-9]{8}$")


def new_referral_code(first_name: str | None) -> str:
    """``ANNA-7KQ3X9PM``: the referrer's name (A-Z, up to 8) for recognition, 40 random bits for safety."""
    ascii_name = unicodedata.normalize("NFKD", first_name or "").encode("ascii", "ignore").decode()
    prefix = re.sub(r"[^A-Z]", "", ascii_name.upper())[:8] or "FRIEND"
    return f"{prefix}-{''.join(secrets.choice(ALPHABET) for _ in range(CODE_RANDOM))}"


def normalize_referral_code(code: str) -> str | None:
    candidate = code.strip().upper()
    return candidate if CODE_PATTERN.match(candidate) else None


# Providers that ignore dots in the local part (and their alias domains).
_DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def normalize_email(email: str) -> str:
    """The mailbox an address reaches: lower case, ``+tag`` dropped, dots dropped where the provider
    ignores them (Gmail). ``Anna.B+shop@GoogleMail.com`` → ``annab@gmail.com``."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    local = local.split("+", 1)[0]
    domain = _DOTLESS.get(domain, domain)
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"


def phone_digits_only(phone: str) -> str:
    """Digits only; a leading country code and a national 0 trunk prefix compare by the last 10."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[-10:] if len(digits) > 10 else digits


def contact_digest(kind: Literal["email", "phone"], value: str) -> str:
    """A key-safe digest of a normalised contact (emails may hold ``#``; keys never hold contacts)."""
    normal = normalize_email(value) if kind == "email" else phone_digits_only(value)
    return hashlib.sha256(f"{kind}:{normal}".encode()).hexdigest()[:40]


def fingerprint(value: str) -> str:
    """A shipping address or device id, normalised and hashed (kept to compare, never shown)."""
    normal = " ".join(re.sub(r"[^\w]+", " ", value.lower()).split())
    return hashlib.sha256(normal.encode()).hexdigest()[:24]


def mask_email(email: str | None) -> str | None:
    if not email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"***{digits[-2:]}" if len(digits) >= 2 else "***"


# ---- fraud rules -----------------------------------------------------------------------------------


class Party(BaseModel):
    """What is known about one side for the fraud checks."""

    model_config = ConfigDict(frozen=True)

    customer_id: str | None = None
    email: str | None = None
    phone: str | None = None
    addresses: frozenset[str] = frozenset()  # fingerprints
    devices: frozenset[str] = frozenset()


def self_referral(referrer: Party, friend: Party) -> bool:
    if friend.customer_id is not None and friend.customer_id == referrer.customer_id:
        return True
    if referrer.email and friend.email and normalize_email(referrer.email) == normalize_email(friend.email):
        return True
    return bool(
        referrer.phone
        and friend.phone
        and phone_digits_only(referrer.phone)
        and phone_digits_only(referrer.phone) == phone_digits_only(friend.phone)
    )


def screen(
    fraud: FraudSettings,
    referrer: Party,
    friend: Party,
    *,
    friend_is_customer: bool,
    referred_by: str | None,
) -> Reason | None:
    """The first guard the pair trips, in a fixed order, or None. ``referred_by`` is the referrer who
    already holds this friend (first referrer wins; the same referrer again is not a rejection)."""
    if fraud.self_referral and self_referral(referrer, friend):
        return Reason.SELF_REFERRAL
    if fraud.already_referred and referred_by is not None and referred_by != referrer.customer_id:
        return Reason.ALREADY_REFERRED
    if fraud.existing_customer and friend_is_customer:
        return Reason.NOT_NEW_CUSTOMER
    if fraud.same_address and referrer.addresses & friend.addresses:
        return Reason.SAME_ADDRESS
    if fraud.same_device and referrer.devices & friend.devices:
        return Reason.SAME_DEVICE
    return None


def window_key(limit: MaxRewarded, now: datetime) -> str:
    """The counter ``max_rewarded`` counts in: ``lifetime``, ``day-2026-12-02`` or ``month-2026-12``."""
    if limit.per == "day":
        return f"day-{now.date().isoformat()}"
    if limit.per == "month":
        return f"month-{now.strftime('%Y-%m')}"
    return "lifetime"


# ---- the aggregates around a referral -------------------------------------------------------------------


@dataclass(frozen=True)
class ReferrerProfile:
    customer_id: str
    code: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    friends_revenue: Decimal = Decimal(0)
    shares: dict[str, int] = field(default_factory=dict)
    addresses: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    shopify_discount_id: str | None = None


@dataclass(frozen=True)
class FriendState:
    """A customer as a (possible) friend: their first order and the referral that holds them."""

    customer_id: str
    first_order_id: str | None = None
    referrer_id: str | None = None
    referral_id: str | None = None
    status: str | None = None
    order_id: str | None = None  # the order that completed the referral
    handled_orders: tuple[str, ...] = ()
    version: int = 0


@value
class InviteHold:
    """Who holds an invited email or phone (its digest): the first referrer to invite it."""

    referrer_id: str
    referral_id: str
