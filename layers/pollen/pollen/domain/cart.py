"""Coins a cart would earn (``POST /v1/cart/coins``): for cart pages and, with one line, product pages.

Pure: the service loads the program, checks the currency and resolves any multiplier. A cart
knows no shipping, tax or gift cards, so basis ``total`` is computed like
``subtotal_after_discounts``; gift cards earn only if the merchant has not excluded them by
product id or tag.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain.customers import CustomerId
from pollen.domain.orders import Money
from pollen.domain.program import CurrencyCode, EarningBasis, EarningRule
from pollen.domain.strict import Count
from pollen.model import BaseModel

ProductId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Tag = Annotated[str, StringConstraints(max_length=255)]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class CartLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: ProductId
    variant_id: ProductId | None = None
    quantity: Count = Field(ge=1, le=10_000)
    unit_price: Money
    tags: list[Tag] = Field(default_factory=list, max_length=250)

    @property
    def gross(self) -> Decimal:
        return self.unit_price * self.quantity


class CartRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: CustomerId | None = None
    currency: CurrencyCode
    lines: list[CartLine] = Field(min_length=1, max_length=250)
    discount_total: Money = Decimal(0)  # cart-level discounts, shared by all lines


class ExclusionReason(StrEnum):
    EXCLUDED_PRODUCT = "excluded_product"
    EXCLUDED_TAG = "excluded_tag"


class CartLineCoins(BaseModel):
    model_config = ConfigDict(frozen=True)

    product_id: str
    variant_id: str | None
    quantity: int
    discount: Decimal  # this line's share of discount_total
    amount: Decimal  # what the line earns on under the basis; 0 when excluded
    coins: int
    excluded: bool
    reason: ExclusionReason | None


class CartRule(BaseModel):
    model_config = ConfigDict(frozen=True)

    coins_per_unit: Decimal
    unit_amount: Decimal
    basis: EarningBasis


class CartCoins(BaseModel):
    """``coins`` is earned on the summed amounts, so it may exceed the sum of the per-line coins
    (each line is floored on its own; per-line figures are meant for product pages)."""

    model_config = ConfigDict(frozen=True)

    currency: str
    eligible_amount: Decimal
    coins: int
    multiplier: Decimal
    lines: list[CartLineCoins]
    rule: CartRule


def _exclusion(line: CartLine, rule: EarningRule) -> ExclusionReason | None:
    if line.product_id in rule.excluded_product_ids:
        return ExclusionReason.EXCLUDED_PRODUCT
    if rule.excludes(None, line.tags):
        return ExclusionReason.EXCLUDED_TAG
    return None


def allocate_discount(grosses: list[Decimal], discount: Decimal, last: int) -> list[Decimal]:
    """Split ``discount`` pro rata to ``grosses``: each share rounded down to the cent, and line
    ``last`` takes its share plus the rounding remainder, so the shares sum exactly to the
    discount (capped at the total gross: a cart cannot be discounted below zero)."""
    total = sum(grosses, Decimal(0))
    if total <= 0 or discount <= 0:
        return [ZERO for _ in grosses]
    discount = min(discount, total)
    shares = [(discount * g / total).quantize(CENT, ROUND_DOWN) for g in grosses]
    shares[last] = discount - sum((s for i, s in enumerate(shares) if i != last), Decimal(0))
    return shares


def _floor(coins: int, multiplier: Decimal) -> int:
    return int((coins * multiplier).to_integral_value(ROUND_FLOOR))


def cart_coins(request: CartRequest, rule: EarningRule, *, multiplier: Decimal = Decimal(1)) -> CartCoins:
    """The coins ``request`` would earn under ``rule``, scaled by ``multiplier`` (e.g. a tier's)."""
    if not multiplier.is_finite() or multiplier < 0:
        raise ValueError("multiplier must be a finite, non-negative number")
    reasons = [_exclusion(line, rule) for line in request.lines]
    grosses = [line.gross for line in request.lines]
    # The rounding remainder goes to the last eligible line with a price, else the last priced line.
    priced = [i for i, g in enumerate(grosses) if g > 0] or [len(grosses) - 1]
    last = next((i for i in reversed(priced) if reasons[i] is None), priced[-1])
    discounts = allocate_discount(grosses, request.discount_total, last)

    lines: list[CartLineCoins] = []
    for line, gross, discount, reason in zip(request.lines, grosses, discounts, reasons, strict=True):
        if reason is not None:
            amount = ZERO
        elif rule.basis == EarningBasis.SUBTOTAL:
            amount = gross
        else:
            amount = max(ZERO, gross - discount)
        lines.append(
            CartLineCoins(
                product_id=line.product_id,
                variant_id=line.variant_id,
                quantity=line.quantity,
                discount=discount,
                amount=amount,
                coins=_floor(rule.coins_for(amount), multiplier),
                excluded=reason is not None,
                reason=reason,
            )
        )
    eligible = sum((line.amount for line in lines), ZERO)
    return CartCoins(
        currency=request.currency,
        eligible_amount=eligible,
        coins=_floor(rule.coins_for(eligible), multiplier),
        multiplier=multiplier,
        lines=lines,
        rule=CartRule(coins_per_unit=rule.coins_per_unit, unit_amount=rule.unit_amount, basis=rule.basis),
    )
