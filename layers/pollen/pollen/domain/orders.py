"""Orders and the coins they earn.

An order's effect on a wallet is a function of the *set* of facts Pollen has received about it
(its data, paid, cancelled, confirmed, refunds by id), never of their order. Each webhook merges
its fact into the state and the wallet moves by the difference between the new target and what
the order already applied — so a fact delivered twice changes nothing, and create/paid/refund/
cancel in any order end in the same wallet.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain.errors import FieldError, ValidationFailed
from pollen.domain.identifiers import Identifier
from pollen.domain.program import EarningBasis, EarningRule, Limits
from pollen.domain.tiers import OrderTier
from pollen.model import BaseModel

Money = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4)]
MAX_QUANTITY = 1_000_000  # absolute; the program's ``limits.max_quantity`` is usually lower
ExternalId = Identifier  # one grammar for ids: pollen.domain.identifiers


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_id: ExternalId
    product_id: str | None = None
    variant_id: str | None = None
    quantity: int = Field(ge=0, le=MAX_QUANTITY)
    unit_price: Money
    discount: Money = Decimal(0)  # all discounts allocated to this line, order-level ones included
    tags: list[str] = Field(default_factory=list)
    gift_card: bool = False

    @property
    def net(self) -> Decimal:
        return max(Decimal(0), self.unit_price * self.quantity - self.discount)

    @property
    def gross(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderData(BaseModel):
    """What the store platform says about an order (Shopify payloads and the orders API map here)."""

    model_config = ConfigDict(frozen=True)

    order_id: ExternalId
    customer_id: ExternalId | None = None
    email: str | None = None
    phone: str | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    lines: list[OrderLine] = Field(default_factory=list)
    total: Money | None = None  # everything paid: merchandise, shipping, tax, tips
    discount_codes: list[str] = Field(default_factory=list)
    discount_amounts: dict[str, Money] = Field(
        default_factory=dict, description="Amount each discount code took off the order, by code."
    )
    created_at: datetime | None = None
    shipping_address: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="One line: street, city, postal code, country (referral fraud checks)."
    )
    device_id: Annotated[str, StringConstraints(max_length=128)] | None = Field(
        default=None, description="The shopper's browser/device id, when the storefront sends one."
    )


class RefundLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_id: ExternalId
    quantity: int = Field(ge=0, le=MAX_QUANTITY)
    subtotal: Money  # merchandise refunded for this line, after its discounts


class Refund(BaseModel):
    model_config = ConfigDict(frozen=True)

    refund_id: ExternalId
    lines: list[RefundLine]


class OrderFacts(BaseModel):
    """Everything received about an order. Merging is commutative, associative and idempotent."""

    model_config = ConfigDict(frozen=True)

    data: OrderData | None = None
    paid: bool = False
    cancelled: bool = False
    confirmed: bool = False  # paid and past the program's pending period
    refunds: dict[str, Refund] = Field(default_factory=dict)

    def merge(self, other: OrderFacts) -> OrderFacts:
        return OrderFacts(
            data=_later(self.data, other.data),
            paid=self.paid or other.paid,
            cancelled=self.cancelled or other.cancelled,
            confirmed=self.confirmed or other.confirmed,
            refunds={**self.refunds, **other.refunds},
        )


def _later(a: OrderData | None, b: OrderData | None) -> OrderData | None:
    """Order data from any topic describes the same order; prefer the fuller one, deterministically."""
    if a is None or b is None:
        return a or b
    return max(a, b, key=lambda d: (len(d.lines), d.customer_id is not None, d.model_dump_json()))


class Attribution(BaseModel):
    """Why Pollen can claim an order: a coupon it issued was used on it (later: a referral)."""

    model_config = ConfigDict(frozen=True)

    source: Literal["redemption", "referral"]
    channel: str | None = None
    code: str | None = None
    reward_id: str | None = None
    discount_amount: Money | None = None
    referrer_customer_id: str | None = Field(  # only referral attributions name one; others keep their shape
        default=None, exclude_if=lambda v: v is None, description="Referrals: who referred the buyer."
    )


class CouponMisuse(BaseModel):
    """A Pollen coupon on an order that is not its owner's: recorded, not counted as the owner's use
    (the coupon stays issued to its owner)."""

    model_config = ConfigDict(frozen=True)

    code: str
    owner_customer_id: str
    buyer_customer_id: str | None = None
    reason: Literal["another_customer", "another_email"]


class Target(BaseModel):
    model_config = ConfigDict(frozen=True)

    earned: int  # coins the order earns after refunds (0 when cancelled or unknown)
    credited: int  # of which confirmed into the balance
    pending: int  # of which still pending


def eligible_amount(data: OrderData, rule: EarningRule) -> Decimal:
    """The amount coins are earned on: merchandise only (no gift cards, no excluded products)."""
    lines = [
        line for line in data.lines if not line.gift_card and not rule.excludes(line.product_id, line.tags)
    ]
    if rule.basis == EarningBasis.SUBTOTAL:
        return sum((line.gross for line in lines), Decimal(0))
    merchandise = sum((line.net for line in lines), Decimal(0))
    if rule.basis == EarningBasis.TOTAL and data.total is not None:
        excluded = sum((line.net for line in data.lines if line not in lines), Decimal(0))
        return max(Decimal(0), data.total - excluded)
    return merchandise


def refunded_amount(facts: OrderFacts, rule: EarningRule) -> Decimal:
    """Refunded merchandise of eligible lines (refunds of gift cards or excluded lines earn nothing back).

    Refunds report amounts after discounts; on the ``subtotal`` basis (earned before discounts) the
    refunded share of the line is taken at its pre-discount price, so a full refund earns nothing."""
    if facts.data is None:
        return Decimal(0)
    eligible = {
        line.line_id: line
        for line in facts.data.lines
        if not line.gift_card and not rule.excludes(line.product_id, line.tags)
    }
    total = Decimal(0)
    for refund in facts.refunds.values():
        for rl in refund.lines:
            line = eligible.get(rl.line_id)
            if line is None:
                continue
            if rule.basis == EarningBasis.SUBTOTAL:
                total += line.gross * rl.subtotal / line.net if line.net else line.unit_price * rl.quantity
            else:
                total += rl.subtotal
    return total


def target(facts: OrderFacts, rule: EarningRule) -> Target:
    if facts.data is None or facts.cancelled:
        return Target(earned=0, credited=0, pending=0)
    base = eligible_amount(facts.data, rule)
    earned = rule.coins_for(max(Decimal(0), base - refunded_amount(facts, rule)))
    if facts.paid and facts.confirmed:
        return Target(earned=earned, credited=earned, pending=0)
    return Target(earned=earned, credited=0, pending=earned)


def check_limits(data: OrderData, limits: Limits, rule: EarningRule) -> None:
    """422 (nothing written) when a line or the coins the order would earn exceed the program's limits."""
    errors = []
    for index, line in enumerate(data.lines):
        if line.quantity > limits.max_quantity:
            message = f"At most {limits.max_quantity} units per line (the program's limits.max_quantity)."
            errors.append(FieldError(f"lines.{index}.quantity", message, "limit_exceeded"))
        if line.unit_price > limits.max_unit_price:
            message = f"At most {limits.max_unit_price} per unit (the program's limits.max_unit_price)."
            errors.append(FieldError(f"lines.{index}.unit_price", message, "limit_exceeded"))
    if not errors and rule.coins_for(eligible_amount(data, rule)) > limits.max_coins_per_order:
        message = f"An order earns at most {limits.max_coins_per_order} coins (limits.max_coins_per_order)."
        errors.append(FieldError("lines", message, "limit_exceeded"))
    if errors:
        raise ValidationFailed("The order exceeds the program's limits; see `errors`.", errors=errors)


class OrderRecord(BaseModel):
    """The order aggregate. ``applied_*`` is what this order has actually moved in its customer's wallet
    so far."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    facts: OrderFacts = Field(default_factory=OrderFacts)
    customer_id: str | None = None
    applied_credited: int = 0
    applied_pending: int = 0
    shortfall: int = Field(default=0, description="Coins a clawback could not take back (balance too low).")
    paid_at: datetime | None = None
    confirm_on: date | None = Field(default=None, description="When pending coins are due to be confirmed.")
    attributions: list[Attribution] = Field(default_factory=list)
    coupon_misuse: list[CouponMisuse] = Field(default_factory=list)
    tier: OrderTier | None = Field(default=None, description="What the order counts for in VIP tiers.")
    deliveries: list[str] = Field(
        default_factory=list,
        description="The last webhook deliveries applied to this order "
        "(digests: see storage.orders.delivery_digest).",
    )
    version: int = 0
    updated_at: datetime | None = None
    data_since: int | None = Field(
        default=None,
        description="The version whose write first gave the order data with a total (0: before this "
        "was kept). "
        'Analytics counts the order from that one stream image (docs/design.md "Cost per order").',
    )

    @property
    def email(self) -> str | None:
        return self.facts.data.email if self.facts.data else None

    @property
    def awaiting_confirmation(self) -> bool:
        return self.confirm_on is not None and not self.facts.confirmed and not self.facts.cancelled


def order_status(order: OrderRecord) -> str:
    """The order's status as the APIs show it."""
    facts = order.facts
    if facts.cancelled:
        return "cancelled"
    if facts.refunds:
        return "refunded" if order.applied_credited + order.applied_pending == 0 else "partially_refunded"
    if facts.paid:
        return "confirmed" if facts.confirmed else "paid"
    return "open" if facts.data else "unknown"


# What an order waits for, if anything (storage indexes it there, in GSI1: storage/orders.py).


def guest_email(record: OrderRecord) -> str | None:
    """A guest order (no customer yet) waits under its email for a customer with that verified email."""
    if record.customer_id is None and record.email:
        return record.email
    return None


def confirmation_due(record: OrderRecord) -> date | None:
    """A customer's paid order waits for the day its pending coins are due to be confirmed."""
    if record.customer_id is not None and record.awaiting_confirmation and record.confirm_on:
        return record.confirm_on
    return None
