"""Program settings: how customers earn coins, what a coin is worth, when coins expire."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from pollen.domain.errors import FieldError, ValidationFailed
from pollen.domain.reviews import ReviewRequests
from pollen.domain.strict import Count, DecimalInput
from pollen.model import BaseModel

Amount = Annotated[DecimalInput, Field(gt=0, max_digits=14, decimal_places=4)]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD", "INR", "EUR"])]


class EarningBasis(StrEnum):
    """The order amount coins are earned on."""

    SUBTOTAL_AFTER_DISCOUNTS = "subtotal_after_discounts"  # merchandise after discounts: no shipping/tax/tips
    SUBTOTAL = "subtotal"  # merchandise before discounts
    TOTAL = "total"  # everything the customer paid


class EarningRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    coins_per_unit: Amount = Field(description="Coins earned for every `unit_amount` spent.")
    unit_amount: Amount = Field(description="The amount of currency that earns `coins_per_unit` coins.")
    basis: EarningBasis = EarningBasis.SUBTOTAL_AFTER_DISCOUNTS
    excluded_product_ids: list[str] = Field(default_factory=list, description="Products that earn no coins.")
    excluded_tags: list[str] = Field(default_factory=list, description="Product tags that earn no coins.")
    pending_days: Count = Field(
        default=0, ge=0, le=365, description="Days after payment before coins are confirmed (0 = at once)."
    )

    def excludes(self, product_id: str | None, tags: list[str]) -> bool:
        if product_id is not None and product_id in self.excluded_product_ids:
            return True
        excluded = {t.strip().lower() for t in self.excluded_tags}
        return any(t.strip().lower() in excluded for t in tags)

    def coins_for(self, amount: Decimal) -> int:
        """Coins earned on ``amount``, rounded down to a whole coin; never negative."""
        if amount <= 0:
            return 0
        return int((amount * self.coins_per_unit / self.unit_amount).to_integral_value(ROUND_FLOOR))


class ExpiryRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    days: Count | None = Field(
        default=365, ge=1, le=3650, description="Days after crediting that coins expire; null = never."
    )
    reminder_days_before: Count = Field(
        default=7,
        ge=0,
        le=365,
        description="Days before expiry to send a `coins_expiring` reminder (0 = none).",
    )

    @model_validator(mode="after")
    def _reminder_inside_lifetime(self) -> Self:
        if self.days is not None and self.reminder_days_before >= self.days:
            raise ValueError("reminder_days_before must be less than days")
        return self


class Limits(BaseModel):
    """Hard bounds on what one call may say (beyond them: 422, nothing written). Safe defaults; a
    merchant with bigger orders raises them. Absolute ceilings keep every wallet readable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_quantity: int = Field(default=10_000, ge=1, le=1_000_000, description="Units on one order line.")
    max_unit_price: Amount = Field(
        default=Decimal(1_000_000), le=Decimal(10**9), description="Price of one unit, in `currency`."
    )
    max_coins_per_order: int = Field(
        default=1_000_000, ge=1, le=10**9, description="Coins one order may earn."
    )
    max_coins_per_call: int = Field(
        default=1_000_000,
        ge=1,
        le=10**9,
        description="Coins one adjustment or one trigger award may move.",
    )

    def check_coins(self, coins: int, field: str = "coins") -> None:
        """422 when one call would move more coins than ``max_coins_per_call``."""
        if abs(coins) > self.max_coins_per_call:
            message = f"At most {self.max_coins_per_call} coins per call (the program's limits)."
            raise ValidationFailed(message, errors=[FieldError(field, message, "limit_exceeded")])


class ProgramSettings(BaseModel):
    """What a merchant sets; the API reads and writes exactly this."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: CurrencyCode
    earning: EarningRule
    coin_value: Amount = Field(description='Value of one coin in `currency`, e.g. "0.25".')
    expiry: ExpiryRule = Field(default_factory=ExpiryRule)
    timezone: str = Field(
        default="UTC",
        description=(
            "IANA time zone of the store (e.g. America/New_York): analytics days start at its "
            "midnight. Coin expiry dates stay in UTC."
        ),
        examples=["UTC", "America/New_York", "Asia/Kolkata"],
    )
    limits: Limits = Field(default_factory=Limits)
    reviews: ReviewRequests = Field(
        default_factory=ReviewRequests,
        description="review_request events: days after fulfilment (or payment) (pollen.domain.reviews).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if not is_timezone(value):
            raise ValueError("must be an IANA time zone name, e.g. America/New_York")
        return value


def is_timezone(name: str) -> bool:
    """True for a time zone name this runtime knows (IANA database)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415 - rarely used

    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Program(ProgramSettings):
    """Stored settings with their version (optimistic concurrency) and last update time."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = Field(ge=1)
    updated_at: datetime


def default_settings(currency: str = "USD") -> ProgramSettings:
    """A sensible start: 1 coin per currency unit, 1 coin = 0.01, coins last a year."""
    return ProgramSettings(
        currency=currency,
        earning=EarningRule(coins_per_unit=Decimal(1), unit_amount=Decimal(1)),
        coin_value=Decimal("0.01"),
        expiry=ExpiryRule(days=365, reminder_days_before=7),
    )
