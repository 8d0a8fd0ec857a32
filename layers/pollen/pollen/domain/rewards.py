"""The rewards catalogue and what a redemption costs and is worth (pure rules, no storage).

Four kinds of reward: a fixed amount off, a percentage off (optionally capped), free shipping —
each for a fixed number of coins — and *dynamic* redemption, where the customer picks how many
coins to apply against the cart at the program's coin value, within the reward's bounds.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from pollen.domain.errors import Conflict, FieldError, ValidationFailed
from pollen.domain.reward_types import RewardType as RewardType  # noqa: PLC0414 - re-exported
from pollen.domain.strict import Count, DecimalInput, Switch
from pollen.domain.values import value
from pollen.domain.wallet import InsufficientCoins
from pollen.model import BaseModel

RewardId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Amount = Annotated[DecimalInput, Field(gt=0, max_digits=14, decimal_places=2)]
MinOrder = Annotated[DecimalInput, Field(ge=0, max_digits=14, decimal_places=2)]
Coins = Annotated[Count, Field(ge=1, le=10_000_000)]
CENT = Decimal("0.01")


class _RewardBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    min_order_subtotal: MinOrder | None = Field(
        default=None, description="The coupon applies only to orders with at least this subtotal."
    )
    validity_days: Count = Field(default=30, ge=1, le=365, description="Days the coupon stays usable.")
    enabled: Switch = True


class FixedAmountReward(_RewardBase):
    type: Literal[RewardType.FIXED_AMOUNT]
    coins: Coins
    amount: Amount = Field(description="Amount off the order, in the program's currency.")


class PercentageReward(_RewardBase):
    type: Literal[RewardType.PERCENTAGE]
    coins: Coins
    percentage: Annotated[DecimalInput, Field(gt=0, le=100, decimal_places=2)]
    max_discount: Amount | None = Field(default=None, description="Caps the amount taken off (optional).")


class FreeShippingReward(_RewardBase):
    type: Literal[RewardType.FREE_SHIPPING]
    coins: Coins


class DynamicReward(_RewardBase):
    """Coins are worth the program's ``coin_value`` each; the customer picks min + k * step coins."""

    type: Literal[RewardType.DYNAMIC]
    min_coins: Coins
    max_coins: Coins
    step: Coins = 1
    max_cart_percent: Annotated[DecimalInput, Field(gt=0, le=100, decimal_places=2)] = Field(
        default=Decimal(100), description="At most this share of the cart may be paid with coins."
    )

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.max_coins < self.min_coins:
            raise ValueError("max_coins must be at least min_coins")
        return self


RewardSettings = Annotated[
    FixedAmountReward | PercentageReward | FreeShippingReward | DynamicReward, Field(discriminator="type")
]
FixedReward = FixedAmountReward | PercentageReward | FreeShippingReward


class Reward(BaseModel):
    """A catalogue entry as stored: its id and settings."""

    model_config = ConfigDict(frozen=True)

    reward_id: RewardId
    settings: RewardSettings
    created_at: datetime
    updated_at: datetime

    @property
    def type(self) -> RewardType:
        return self.settings.type


class RewardDisabled(Conflict):
    title = "Reward disabled"
    slug = "reward-disabled"


class BelowMinimumOrder(ValidationFailed):
    title = "Below the reward's minimum order"
    slug = "below-minimum-order"


class CoinsOutOfRange(ValidationFailed):
    title = "Coins out of range"
    slug = "coins-out-of-range"


@value
class AllowedCoins:
    min: int
    max: int
    step: int


@value
class Quote:
    """What a redemption costs and gives: ``value`` is an amount (or a percentage), None for shipping."""

    coins: int
    type: RewardType
    value: Decimal | None
    max_discount: Decimal | None
    min_order: Decimal | None


def _floor_to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_FLOOR)


def allowed_coins(
    reward: DynamicReward, *, coin_value: Decimal, balance: int, cart_total: Decimal | None
) -> AllowedCoins | None:
    """The coins this customer may apply now (None when not even ``min_coins`` fits).

    The top is the least of the reward's maximum, the balance and — given a cart — the share of it
    coins may pay for, rounded down to a step above ``min_coins``."""
    top = min(reward.max_coins, balance)
    if cart_total is not None:
        top = min(
            top, int((cart_total * reward.max_cart_percent / 100 / coin_value).to_integral_value(ROUND_FLOOR))
        )
    if top < reward.min_coins:
        return None
    top = reward.min_coins + (top - reward.min_coins) // reward.step * reward.step
    return AllowedCoins(min=reward.min_coins, max=top, step=reward.step)


def quote(
    reward: Reward,
    *,
    coin_value: Decimal,
    balance: int,
    coins: int | None,
    cart_total: Decimal | None,
) -> Quote:
    """Price a redemption, or raise naming the rule it breaks (the API maps each to 409/422)."""
    settings = reward.settings
    if not settings.enabled:
        raise RewardDisabled(f"The reward '{reward.reward_id}' is disabled.")
    minimum = settings.min_order_subtotal
    if minimum is not None and cart_total is None:
        message = f"This reward needs an order of at least {minimum}: send 'cart_total' to redeem it."
        raise ValidationFailed(message, errors=[FieldError("cart_total", message, "missing")])
    if minimum is not None and cart_total is not None and cart_total < minimum:
        message = f"This reward needs an order of at least {minimum}; the cart is {cart_total}."
        raise BelowMinimumOrder(message, errors=[FieldError("cart_total", message, "below_minimum")])
    if isinstance(settings, DynamicReward):
        return _quote_dynamic(
            settings, coin_value=coin_value, balance=balance, coins=coins, cart_total=cart_total
        )
    if coins is not None and coins != settings.coins:
        message = f"This reward costs exactly {settings.coins} coins; leave 'coins' out or send that number."
        raise CoinsOutOfRange(message, errors=[FieldError("coins", message, "fixed_price")])
    if settings.coins > balance:
        raise InsufficientCoins(f"The wallet holds {balance} coins; this reward costs {settings.coins}.")
    value: Decimal | None = None
    max_discount: Decimal | None = None
    if isinstance(settings, FixedAmountReward):
        value = settings.amount
    elif isinstance(settings, PercentageReward):
        value, max_discount = settings.percentage, settings.max_discount
    return Quote(settings.coins, settings.type, value, max_discount, minimum)


def _quote_dynamic(
    reward: DynamicReward, *, coin_value: Decimal, balance: int, coins: int | None, cart_total: Decimal | None
) -> Quote:
    if coins is None:
        message = "Dynamic rewards need the number of coins to apply."
        raise ValidationFailed(message, errors=[FieldError("coins", message, "missing")])
    if reward.max_cart_percent < 100 and cart_total is None:
        message = "This reward is limited to a share of the cart: send 'cart_total'."
        raise ValidationFailed(message, errors=[FieldError("cart_total", message, "missing")])
    if coins > balance:
        raise InsufficientCoins(f"The wallet holds {balance} coins; {coins} were asked for.")
    allowed = allowed_coins(reward, coin_value=coin_value, balance=balance, cart_total=cart_total)
    in_steps = (coins - reward.min_coins) % reward.step == 0
    if allowed is None or not (allowed.min <= coins <= allowed.max) or not in_steps:
        bounds = (
            f"{allowed.min} to {allowed.max} in steps of {allowed.step}" if allowed else "none for this cart"
        )
        message = f"{coins} coins cannot be applied; allowed: {bounds}."
        raise CoinsOutOfRange(message, errors=[FieldError("coins", message, "out_of_range")])
    value = _floor_to_cent(coins * coin_value)
    return Quote(coins, RewardType.DYNAMIC, value, None, reward.min_order_subtotal)


def eligibility(
    reward: Reward, *, coin_value: Decimal, balance: int, cart_total: Decimal | None
) -> tuple[bool, str | None, AllowedCoins | None]:
    """Whether the customer can redeem ``reward`` now, why not, and (dynamic) which coins they may apply."""
    settings = reward.settings
    allowed = None
    if isinstance(settings, DynamicReward):
        allowed = allowed_coins(settings, coin_value=coin_value, balance=balance, cart_total=cart_total)
    if not settings.enabled:
        return False, "disabled", allowed
    minimum = settings.min_order_subtotal
    if minimum is not None and cart_total is not None and cart_total < minimum:
        return False, "below_minimum_order", allowed
    if isinstance(settings, DynamicReward):
        if allowed is None:
            return False, "insufficient_coins" if balance < settings.min_coins else "cart_too_small", None
        return True, None, allowed
    if settings.coins > balance:
        return False, "insufficient_coins", None
    return True, None, None
