"""Coupons: what a redemption issues, and its life (issued → used | cancelled; expired by date)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field

from pollen.domain.errors import Conflict
from pollen.domain.rewards import RewardType
from pollen.model import BaseModel

# 32 symbols without the look-alikes 0/O and 1/I: 5 bits each, 12 of them = 60 bits from `secrets`.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
CODE_PATTERN = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")

Channel = Literal["widget", "app", "email", "api"]
ShopifyState = Literal["none", "pending", "created", "failed"]


def new_coupon_code() -> str:
    """``XXXX-XXXX-XXXX``: unguessable (60 bits), easy to read aloud and type at checkout."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[0:4]}-{raw[4:8]}-{raw[8:12]}"


def normalize_code(code: str) -> str | None:
    """A discount code as Pollen would have issued it, or None when it cannot be a Pollen code."""
    candidate = code.strip().upper()
    return candidate if CODE_PATTERN.match(candidate) else None


class CouponStatus(StrEnum):
    ISSUED = "issued"
    USED = "used"
    EXPIRED = "expired"  # never stored: an issued coupon past its expiry reads as expired
    CANCELLED = "cancelled"


class Coupon(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    customer_id: str
    reward_id: str
    reward_type: RewardType
    value: Decimal | None = Field(
        default=None, description="Amount off, or the percentage (percentage rewards)."
    )
    max_discount: Decimal | None = None
    currency: str
    coins: int = Field(ge=0)  # 0: a referral reward, bought with no coins
    min_order: Decimal | None = None
    channel: Channel = "api"
    stored_status: CouponStatus = CouponStatus.ISSUED
    created_at: datetime
    expires_at: datetime
    transaction_id: str  # the redeem ledger entry
    lots: dict[str, int] = Field(default_factory=dict)  # expiry lots the coins came from (restored on refund)
    used_at: datetime | None = None
    order_id: str | None = None
    discount_amount: Decimal | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    contact: dict[str, Any] = Field(
        default_factory=dict,
        description="The customer's email/phone/name when issued, for events sent later.",
    )
    shopify: ShopifyState = "none"
    shopify_discount_id: str | None = None
    version: int = 1

    def status(self, now: datetime) -> CouponStatus:
        if self.stored_status == CouponStatus.ISSUED and self.expires_at <= now:
            return CouponStatus.EXPIRED
        return self.stored_status


class CouponNotCancellable(Conflict):
    title = "Coupon cannot be cancelled"
    slug = "coupon-not-cancellable"
