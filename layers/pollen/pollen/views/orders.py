"""What the APIs show of an order."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from pollen.domain.orders import Attribution, CouponMisuse
from pollen.model import BaseModel


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
    def of(cls, view: OrderView | dict[str, Any]) -> OrderView:
        return cls.model_validate(view.model_dump() if isinstance(view, OrderView) else view)


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
