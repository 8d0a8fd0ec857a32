"""Bodies of the rewards, redemption and coupons API (the reward views are in :mod:`pollen.views.rewards`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field

from pollen.domain.coupons import Channel
from pollen.domain.rewards import DynamicReward, RewardId
from pollen.domain.strict import Count, DecimalInput
from pollen.model import BaseModel
from pollen.services.redemption import CouponView
from pollen.services.rewards import Offer

CartTotal = Annotated[DecimalInput, Field(ge=0, max_digits=14, decimal_places=2)]


class AllowedCoinsView(BaseModel):
    min: int
    max: int
    step: int


class OfferView(BaseModel):
    reward_id: str
    type: str
    name: str
    description: str | None
    coins: int | None = Field(description="What a fixed reward costs (None for dynamic rewards).")
    value: str | None = Field(
        description="Amount off, or the percentage; None for free shipping and dynamic."
    )
    max_discount: str | None
    min_order_subtotal: str | None
    validity_days: int
    coin_value: str | None = Field(description="Dynamic rewards: what one coin takes off.")
    eligible: bool
    reason: str | None = Field(
        description="Why not: disabled, insufficient_coins, below_minimum_order or cart_too_small."
    )
    allowed_coins: AllowedCoinsView | None

    @classmethod
    def of(cls, offer: Offer, coin_value: Decimal) -> OfferView:
        s = offer.reward.settings
        data = s.model_dump(mode="json")
        value = data.get("amount") or data.get("percentage")
        allowed = offer.allowed_coins
        return cls(
            reward_id=offer.reward.reward_id,
            type=s.type.value,
            name=s.name,
            description=s.description,
            coins=data.get("coins"),
            value=value,
            max_discount=data.get("max_discount"),
            min_order_subtotal=data.get("min_order_subtotal"),
            validity_days=s.validity_days,
            coin_value=str(coin_value) if isinstance(s, DynamicReward) else None,
            eligible=offer.eligible,
            reason=offer.reason,
            allowed_coins=AllowedCoinsView(min=allowed.min, max=allowed.max, step=allowed.step)
            if allowed
            else None,
        )


class OfferList(BaseModel):
    items: list[OfferView]


class RedeemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward_id: RewardId
    coins: Count | None = Field(
        default=None, ge=1, le=10_000_000, description="Dynamic rewards: coins to apply."
    )
    cart_total: CartTotal | None = Field(
        default=None, description="The cart's subtotal, for minimums and caps."
    )
    channel: Channel = "api"


class CouponPage(BaseModel):
    items: list[CouponView]
    next_cursor: str | None
