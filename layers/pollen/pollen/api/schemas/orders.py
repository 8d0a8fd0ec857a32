"""Request and response bodies of the orders API (custom platforms) and the Shopify webhook."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain.customers import CustomerId
from pollen.domain.orders import Attribution, CouponMisuse, ExternalId, OrderData, RefundLine
from pollen.domain.strict import Switch
from pollen.model import BaseModel

IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Name = Annotated[str, StringConstraints(max_length=100)]


class OrderCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    last_name: Name | None = None


class CreateOrderRequest(OrderData):
    """An order as a custom platform reports it. ``paid`` saves a separate call when it already is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: CustomerId | None = None
    paid: Switch = False
    customer: OrderCustomer | None = None


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refund_id: ExternalId
    lines: list[RefundLine] = Field(min_length=1, max_length=250)


class OrderView(BaseModel):
    order_id: str
    customer_id: str | None
    status: str
    coins_earned: int
    coins_credited: int
    coins_pending: int
    shortfall: int = Field(description="Coins a clawback could not take back because they were spent.")
    attributions: list[Attribution] = Field(
        default_factory=list, description="Why Pollen drove this order (a coupon it issued, a referral)."
    )
    coupon_misuse: list[CouponMisuse] = Field(
        default_factory=list,
        description="Pollen coupons on this order that belong to another customer: not counted as used.",
    )

    @classmethod
    def of(cls, view: dict[str, Any]) -> OrderView:
        return cls.model_validate(view)


class WebhookAck(BaseModel):
    model_config = ConfigDict(extra="allow")

    topic: str


class AdminOrderView(OrderView):
    """What the merchant sees of an order, including what a clawback could not take back."""

    currency: str | None
    total: str | None
    discount_codes: list[str]
    paid: bool
    cancelled: bool
    confirmed: bool
    confirm_on: date | None
    refunds: list[str]
    updated_at: datetime | None
