"""The catalogue of events Pollen delivers to external tools, with their typed payloads.

Every deliverable event is one :class:`_Entry` in ``_ENTRIES``: its stable name, the name merchants see
(the default metric name in Klaviyo/Omnisend), the payload model (whose field descriptions are the
``fields`` listed by ``GET /v1/admin/event-types``), the filters it supports and a sample payload for
test events. Adding a referral, tier or review-request event is one more entry. Events not in the
catalogue (``order_updated``, ``program_updated``...) are internal and never delivered.

Payload models accept fields they do not know (``extra="allow"``): an emitter that adds a field
must not make its events undeliverable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from pydantic import ConfigDict, Field

from pollen.clock import isoformat
from pollen.domain.customers import Customer, contact_fields
from pollen.domain.event_filters import EventFilters as EventFilters  # noqa: PLC0414 - re-exported (moved)
from pollen.domain.event_filters import EventTypes, filters_allow
from pollen.domain.rewards import RewardType
from pollen.domain.values import value
from pollen.domain.wallet import Operation, TxnType
from pollen.events.deliverable import DISPLAY_NAMES
from pollen.events.envelope import OutboxEvent
from pollen.ids import new_ulid
from pollen.model import BaseModel


class EventSpec(BaseModel):
    """What a merchant (and ``GET /v1/admin/event-types``) sees of one deliverable event."""

    model_config = ConfigDict(frozen=True)

    name: str
    display_name: str
    description: str
    filters: tuple[str, ...]
    fields: dict[str, str]


# ---- payloads ----------------------------------------------------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class EventCustomer(_Payload):
    """Who the event is about: enough for Klaviyo/Omnisend to find the profile without another read."""

    customer_id: str
    email: str | None = None
    phone: str | None = Field(default=None, description="As stored; E.164 (+16135551111) when given so.")
    first_name: str | None = None
    last_name: str | None = None


_CUSTOMER = "The customer: customer_id, email, phone, first_name, last_name."


class WalletTransactionPayload(_Payload):
    transaction_id: str = Field(description="The ledger entry's id.")
    transaction_type: TxnType = Field(description="reward | redeem | refund | expire | adjust | reversal.")
    operation: Operation = Field(description="credit (coins added) or debit (coins taken).")
    coins: int = Field(ge=0, description="Coins moved, always positive.")
    balance_after: int = Field(description="The wallet's balance after this entry.")
    source: str = Field(description="order | trigger | admin | redemption | expiry | referral.")
    reference: str = Field(description="What caused it: an order id, trigger id, coupon code...")
    expires_on: date | None = Field(description="When the credited coins expire (credits only).")
    note: str | None = Field(description="A note, e.g. the trigger's name or the adjustment reason.")
    pending: int = Field(description="Coins awaiting confirmation (orders not yet confirmed).")
    customer: EventCustomer = Field(description=_CUSTOMER)


class CouponCreatedPayload(_Payload):
    code: str = Field(description="The coupon code to give the customer.")
    reward_id: str = Field(description="The reward the coins were spent on.")
    reward_type: RewardType = Field(description="fixed_amount | percentage | free_shipping | dynamic.")
    value: Decimal | None = Field(
        description="Amount or percent off, as a decimal string; null for shipping."
    )
    currency: str | None = Field(description="ISO 4217 currency of an amount.")
    coins: int = Field(description="Coins spent on the coupon.")
    min_order: Decimal | None = Field(description="Minimum order subtotal, as a decimal string, if any.")
    expires_at: datetime = Field(description="When the coupon stops working.")
    channel: str = Field(description="Where the coupon was created (online, pos...).")
    customer: EventCustomer = Field(description=_CUSTOMER)


class CouponUsedPayload(_Payload):
    code: str = Field(description="The coupon code used.")
    reward_id: str = Field(description="The reward the coupon came from.")
    reward_type: RewardType = Field(description="fixed_amount | percentage | free_shipping | dynamic.")
    order_id: str = Field(description="The order the coupon was used on.")
    discount_amount: Decimal | None = Field(description="Discount applied, as a decimal string.")
    currency: str | None = Field(description="ISO 4217 currency of the discount.")
    channel: str = Field(description="Where the coupon was created (online, pos...).")
    used_at: datetime = Field(description="When the order used it.")
    customer: EventCustomer = Field(description=_CUSTOMER)


class CoinsExpiringPayload(_Payload):
    coins: int = Field(description="Coins that expire on expires_on.")
    expires_on: date = Field(description="The day they expire.")
    days_left: int = Field(description="Days from the announcement to expires_on.")
    balance: int = Field(description="The wallet's balance now.")
    customer: EventCustomer = Field(description=_CUSTOMER)


class ProfileUpdatedPayload(_Payload):
    window_start: datetime = Field(description="The debounce window this update closes.")
    balance: int | None = Field(default=None, description="Coins spendable now (read when sent).")
    pending: int | None = Field(default=None, description="Coins awaiting confirmation.")
    lifetime_earned: int | None = Field(default=None, description="Coins earned since joining.")
    next_expiry_coins: int | None = Field(default=None, description="Coins that expire next.")
    next_expiry_date: date | None = Field(default=None, description="When they expire.")
    customer: EventCustomer = Field(description=_CUSTOMER)


class CustomerCreatedPayload(_Payload):
    customer: EventCustomer = Field(description=_CUSTOMER)
    source: str = Field(description="Where the customer came from: shopify | api.")


class TierChangedPayload(_Payload):
    from_: str | None = Field(alias="from", description="The tier held before (null: none).")
    from_name: str | None = Field(description="Its name.")
    to: str | None = Field(description="The tier held now (null: none).")
    to_name: str | None = Field(description="Its name.")
    direction: Literal["up", "down"] = Field(description="up (reached) or down (lost after retention).")
    tier: str | None = Field(description="The tier the event is about: reached (up) or lost (down).")
    entry_coins: int = Field(description="Entry reward coins credited with this change (0: none).")
    entry_coupon: str | None = Field(
        default=None, description="The entry reward's coupon code issued with this change (null: none)."
    )
    expires_on: date | None = Field(description="When the tier now held is lost if nothing new happens.")
    customer: EventCustomer = Field(description=_CUSTOMER)


class TierExpiringPayload(_Payload):
    tier: str = Field(description="The tier about to be lost.")
    tier_name: str = Field(description="Its name.")
    expires_on: date = Field(description="The day the downgrade happens unless the customer qualifies again.")
    days_left: int = Field(description="Days from the warning to expires_on.")
    to: str | None = Field(description="The tier the customer would fall to (null: none).")
    metric: str | None = Field(description="spend | orders | coins_earned | referrals.")
    current: Decimal = Field(description="The metric's total in the window now, as a decimal string.")
    needed: Decimal = Field(description="How much more keeps the tier, as a decimal string.")
    customer: EventCustomer = Field(description=_CUSTOMER)


class ReferralFriend(_Payload):
    customer_id: str | None = None
    email: str | None = Field(default=None, description="Masked (a***@example.com).")
    phone: str | None = Field(default=None, description="Masked (***11).")
    name: str | None = None


class ReferralPayload(_Payload):
    referral_id: str = Field(description="The referral's id.")
    status: str = Field(description="invited | signed_up | completed | rejected | reversed.")
    channel: str = Field(description="invite (email/mobile) or code.")
    code: str | None = Field(description="The referrer's referral code.")
    role: str | None = Field(
        description="referral_completed: whose reward this event announces (referrer | friend)."
    )
    reason: str | None = Field(
        description="referral_rejected: the reason code (self_referral, not_new_customer...)."
    )
    referrer_customer_id: str = Field(description="Who referred.")
    friend: ReferralFriend = Field(description="The friend (contact masked).")
    order_id: str | None = Field(description="The friend's qualifying order, once there is one.")
    rewards: list[dict[str, Any]] = Field(description="Rewards issued (coins or coupon code), per side.")
    customer: EventCustomer = Field(
        description="Who the event is about (the friend for invitations and reminders)."
    )


# ---- filters -------------------------------------------------------------------------------------


def filters_match(filters: EventFilters, event: OutboxEvent) -> bool:
    """True when every filter set allows the event (matched on the raw payload: no parsing)."""
    spec = event_spec(event.event_type)
    return filters_allow(filters, spec.filters if spec else None, event.payload)


# ---- the catalogue -------------------------------------------------------------------------------


def _wallet_sample(customer: Customer, now: datetime) -> dict[str, Any]:
    return {
        "transaction_id": new_ulid(),
        "transaction_type": "reward",
        "operation": "credit",
        "coins": 120,
        "balance_after": 420,
        "source": "order",
        "reference": "TEST-1001",
        "expires_on": (now.date() + timedelta(days=365)).isoformat(),
        "note": "Test event",
        "pending": 0,
        "customer": contact_fields(customer),
    }


def _coupon_created_sample(customer: Customer, now: datetime) -> dict[str, Any]:
    return {
        "code": "TEST-5OFF-0000",
        "reward_id": "test-reward",
        "reward_type": "fixed_amount",
        "value": "5.00",
        "currency": "USD",
        "coins": 500,
        "min_order": None,
        "expires_at": isoformat(now + timedelta(days=30)),
        "channel": "online",
        "customer": contact_fields(customer),
    }


def _coupon_used_sample(customer: Customer, now: datetime) -> dict[str, Any]:
    return {
        "code": "TEST-5OFF-0000",
        "reward_id": "test-reward",
        "reward_type": "fixed_amount",
        "order_id": "TEST-1002",
        "discount_amount": "5.00",
        "currency": "USD",
        "channel": "online",
        "used_at": isoformat(now),
        "customer": contact_fields(customer),
    }


def _coins_expiring_sample(customer: Customer, now: datetime) -> dict[str, Any]:
    return {
        "coins": 150,
        "expires_on": (now.date() + timedelta(days=7)).isoformat(),
        "days_left": 7,
        "balance": 420,
        "customer": contact_fields(customer),
    }


def _profile_updated_sample(customer: Customer, now: datetime) -> dict[str, Any]:
    return {
        "window_start": isoformat(now),
        "balance": 420,
        "pending": 0,
        "lifetime_earned": 1500,
        "next_expiry_coins": 120,
        "next_expiry_date": (now.date() + timedelta(days=30)).isoformat(),
        "customer": contact_fields(customer),
    }


def _customer_created_sample(customer: Customer, now: datetime) -> dict[str, Any]:
    return {"customer": contact_fields(customer), "source": customer.source}


def _referral_sample(
    status: str, role: str | None = None, reason: str | None = None
) -> Callable[[Customer, datetime], dict[str, Any]]:
    def sample(customer: Customer, now: datetime) -> dict[str, Any]:
        return {
            "referral_id": new_ulid(),
            "status": status,
            "channel": "invite",
            "code": "ANNA-7KQ3X9PM",
            "role": role,
            "reason": reason,
            "referrer_customer_id": "test-referrer",
            "friend": {"customer_id": None, "email": "s***@example.com", "phone": None, "name": "Sam"},
            "order_id": "TEST-1003" if status == "completed" else None,
            "rewards": [{"side": role, "type": "coins", "coins": 500}] if role else [],
            "customer": contact_fields(customer),
        }

    return sample


@value
class _Entry:
    name: str
    description: str
    payload: type[_Payload]
    sample: Callable[[Customer, datetime], dict[str, Any]]
    filters: tuple[str, ...] = ()

    def spec(self) -> EventSpec:
        fields = {
            info.alias or name: info.description or "" for name, info in self.payload.model_fields.items()
        }
        return EventSpec(
            name=self.name,
            display_name=DISPLAY_NAMES[self.name],
            description=self.description,
            filters=self.filters,
            fields=fields,
        )


_ENTRIES: tuple[_Entry, ...] = (
    _Entry(
        name="wallet_transaction",
        description=(
            "Every change to a customer's coins: rewarded, redeemed, refunded, expired, adjusted or "
            "reversed. Sent as 'Wallet Coins Rewarded', 'Wallet Coins Redeemed'... by transaction type."
        ),
        payload=WalletTransactionPayload,
        sample=_wallet_sample,
        filters=("transaction_types", "operations"),
    ),
    _Entry(
        name="coupon_created",
        description="A customer spent coins on a reward and received a coupon code.",
        payload=CouponCreatedPayload,
        sample=_coupon_created_sample,
    ),
    _Entry(
        name="coupon_used",
        description="An order used a coupon a customer got for their coins.",
        payload=CouponUsedPayload,
        sample=_coupon_used_sample,
    ),
    _Entry(
        name="coins_expiring",
        description="Some of a customer's coins expire soon (sent the program's reminder lead ahead).",
        payload=CoinsExpiringPayload,
        sample=_coins_expiring_sample,
    ),
    _Entry(
        name="customer_created",
        description="Pollen saw a customer for the first time (from the store platform or the API).",
        payload=CustomerCreatedPayload,
        sample=_customer_created_sample,
    ),
    _Entry(
        name="profile_updated",
        description=(
            "A customer's loyalty profile changed (balance, pending, next expiry...): at most one per "
            "customer per PROFILE_SYNC_MINUTES (5), sent at the end of that window with the values "
            "then, so a tool's profile properties follow the wallet without one event per change."
        ),
        payload=ProfileUpdatedPayload,
        sample=_profile_updated_sample,
    ),
)


def _tier_changed_sample(customer: Customer, now: datetime) -> dict[str, Any]:
    return {
        "from": None,
        "from_name": None,
        "to": "silver",
        "to_name": "Silver",
        "direction": "up",
        "tier": "silver",
        "entry_coins": 50,
        "expires_on": None,
        "customer": contact_fields(customer),
    }


def _tier_expiring_sample(customer: Customer, now: datetime) -> dict[str, Any]:
    return {
        "tier": "silver",
        "tier_name": "Silver",
        "expires_on": (now.date() + timedelta(days=7)).isoformat(),
        "days_left": 7,
        "to": None,
        "metric": "spend",
        "current": "20.00",
        "needed": "80.00",
        "customer": contact_fields(customer),
    }


_ENTRIES += (
    _Entry(
        name="tier_changed",
        description="A customer reached a higher VIP tier, or lost one after its retention period.",
        payload=TierChangedPayload,
        sample=_tier_changed_sample,
        filters=("directions", "tiers"),
    ),
    _Entry(
        name="tier_expiring",
        description="A customer's VIP tier will be lost soon (sent the program's warning lead ahead).",
        payload=TierExpiringPayload,
        sample=_tier_expiring_sample,
        filters=("tiers",),
    ),
    _Entry(
        name="referral_invited",
        description="A customer invited a friend by email or phone; sent about the friend (their "
        "email/phone), with the referrer, the share URL and the friend's reward, to invite them.",
        payload=ReferralPayload,
        sample=_referral_sample("invited"),
    ),
    _Entry(
        name="referral_signed_up",
        description="An invited friend became a customer (sent about the referrer).",
        payload=ReferralPayload,
        sample=_referral_sample("signed_up"),
    ),
    _Entry(
        name="referral_completed",
        description="A friend's first qualifying order completed a referral; one event per side "
        "(role referrer | friend), each with that side's reward.",
        payload=ReferralPayload,
        sample=_referral_sample("completed", role="referrer"),
        filters=("referral_roles",),
    ),
    _Entry(
        name="referral_rejected",
        description="A referral was refused by a fraud guard or rule; the reason code says which.",
        payload=ReferralPayload,
        sample=_referral_sample("rejected", reason="self_referral"),
        filters=("referral_reasons",),
    ),
    _Entry(
        name="referral_incomplete",
        description="A reminder to an invited friend who has not ordered yet (after_days apart, up to "
        "max_reminders).",
        payload=ReferralPayload,
        sample=_referral_sample("invited"),
    ),
)


class ReviewProductPayload(_Payload):
    product_id: str | None = Field(default=None, description="The store's product id.")
    variant_id: str | None = Field(default=None, description="The variant bought.")
    title: str | None = Field(default=None, description="The product's title, when the store sent it.")
    variant_title: str | None = Field(default=None, description="The variant's title (e.g. Navy / M).")
    quantity: int = Field(description="Units bought.")
    image_url: str | None = Field(default=None, description="The product's image, when known.")
    url: str | None = Field(default=None, description="The product's page, when known.")


class ReviewRequestPayload(_Payload):
    order_id: str = Field(description="The order to review.")
    basis: Literal["fulfilled", "paid"] = Field(description="Counted from fulfilment or payment.")
    days: int = Field(description="Days after fulfilment (or payment) it was due.")
    products: list[ReviewProductPayload] = Field(description="What the customer bought (first 50 lines).")
    customer: EventCustomer = Field(description=_CUSTOMER)


def _review_request_sample(customer: Customer, now: datetime) -> dict[str, Any]:
    return {
        "order_id": "TEST-1001",
        "basis": "fulfilled",
        "days": 7,
        "products": [
            {
                "product_id": "632910392",
                "variant_id": "808950810",
                "title": "Merino Crew Sweater",
                "variant_title": "Navy / M",
                "quantity": 2,
                "image_url": None,
                "url": None,
            }
        ],
        "customer": contact_fields(customer),
    }


_ENTRIES += (
    _Entry(
        name="review_request",
        description="Ask a customer to review what they bought: sent the program's reviews.days after "
        "the order was fulfilled (or paid), once per order, not for orders cancelled or refunded in "
        "full meanwhile; lists the order's products.",
        payload=ReviewRequestPayload,
        sample=_review_request_sample,
    ),
)

_BY_NAME: dict[str, _Entry] = {entry.name: entry for entry in _ENTRIES}


DELIVERABLE: EventTypes = {entry.name: entry.filters for entry in _ENTRIES}


@cache
def _specs() -> dict[str, EventSpec]:
    """The specs, built on first use: reading each payload's fields builds its model, which the
    routing and delivery functions never need at cold start (docs/design.md, "Cold start")."""
    return {entry.name: entry.spec() for entry in _ENTRIES}


def catalogue() -> list[EventSpec]:
    return list(_specs().values())


def event_spec(name: str) -> EventSpec | None:
    """The deliverable event called ``name``; None for internal events, which are never delivered."""
    return _specs().get(name)


def _entry(name: str) -> _Entry:
    entry = _BY_NAME.get(name)
    if entry is None:
        raise ValueError(f"{name!r} is not a deliverable event")
    return entry


def parse_payload(event: OutboxEvent) -> BaseModel:
    """The event's typed payload; ValueError when it is not deliverable or its payload is invalid."""
    return _entry(event.event_type).payload.model_validate(event.payload)


def sample_event(name: str, merchant_id: str, customer: Customer, now: datetime) -> OutboxEvent:
    """A realistic event of kind ``name`` about ``customer`` (for test events); a fresh id each time."""
    entry = _entry(name)
    payload = entry.sample(customer, now)
    entry.payload.model_validate(payload)  # a sample is always a valid payload
    return OutboxEvent(
        event_type=name,
        merchant_id=merchant_id,
        customer_id=customer.customer_id,
        occurred_at=now,
        payload=payload,
    )
