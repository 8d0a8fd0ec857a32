"""Coupons: what a redemption issues, and its life, as an aggregate with its own transitions.

The states (``stored_status`` and, for Shopify merchants, ``shopify``)::

    issued ──use──▶ used
      │ └─cancel──▶ cancelled                 (the customer: coins back)
      │   shopify: pending ──confirm──▶ created
      │                    └─fail─────▶ failed, cancelled (compensated: coins back)
      └ expired: never stored, an issued coupon past ``expires_at`` reads as expired

Every transition returns the next version (``version + 1``); storage writes it guarded by the
version that was read, so two writers never both move the same coupon."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field

from pollen.domain.errors import Conflict
from pollen.domain.rewards import Reward, RewardType, quote
from pollen.domain.values import value
from pollen.domain.wallet import LedgerEntry, Source, TxnType, Wallet
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

    @property
    def awaiting_shopify(self) -> bool:
        """Issued, its Shopify discount not confirmed yet: unusable until settled one way or the other."""
        return self.shopify == "pending" and self.stored_status == CouponStatus.ISSUED

    def _next(self, **changes: Any) -> Coupon:
        return self.model_copy(update={**changes, "version": self.version + 1})

    def cancel(self, *, now: datetime, reason: str = "cancelled") -> Coupon:
        """The customer gives the unused coupon back (its coins are restored by the caller)."""
        status = self.status(now)
        if status != CouponStatus.ISSUED:
            raise CouponNotCancellable(
                f"The coupon is {status.value}; only an unused, unexpired coupon can be cancelled."
            )
        return self._next(stored_status=CouponStatus.CANCELLED, cancelled_at=now, cancel_reason=reason)

    def confirm_shopify(self, discount_id: str) -> Coupon:
        """Shopify holds the discount: the coupon is usable."""
        if not self.awaiting_shopify:
            raise ValueError("only a coupon awaiting Shopify can be confirmed")
        return self._next(shopify="created", shopify_discount_id=discount_id)

    def fail_shopify(self, *, now: datetime, reason: str) -> Coupon:
        """Shopify surely has no discount: the redemption is undone (cancelled, coins restored)."""
        if not self.awaiting_shopify:
            raise ValueError("only a coupon awaiting Shopify can fail")
        return self._next(
            stored_status=CouponStatus.CANCELLED, cancelled_at=now, cancel_reason=reason, shopify="failed"
        )

    def discount_taken_down(self) -> Coupon:
        """A coupon cancelled while pending: its Shopify discount, if any, is gone now."""
        return self._next(shopify="failed")

    def use(self, *, order_id: str, discount_amount: Decimal | None, now: datetime) -> Coupon:
        """An order used the coupon (only an issued one can be; the caller checks whose it is)."""
        if self.stored_status != CouponStatus.ISSUED:
            raise ValueError("only an issued coupon can be used")
        return self._next(
            stored_status=CouponStatus.USED, used_at=now, order_id=order_id, discount_amount=discount_amount
        )


class CouponNotCancellable(Conflict):
    title = "Coupon cannot be cancelled"
    slug = "coupon-not-cancellable"


@value
class Redemption:
    """What spending coins on a reward decides: the debited wallet, its ledger entry, the coupon."""

    wallet: Wallet
    entry: LedgerEntry
    coupon: Coupon


def redeem_coins(
    wallet: Wallet,
    reward: Reward,
    *,
    coin_value: Decimal,
    currency: str,
    coins: int | None,
    cart_total: Decimal | None,
    channel: Channel,
    contact: dict[str, Any],
    via_shopify: bool,
    now: datetime,
) -> Redemption:
    """Price the reward, take the coins (soonest-expiring first) and issue a fresh coupon for them.

    A coupon a Shopify merchant gets is ``pending`` until Shopify holds its discount."""
    priced = quote(reward, coin_value=coin_value, balance=wallet.balance, coins=coins, cart_total=cart_total)
    code = new_coupon_code()  # a fresh one per attempt: a (60-bit) collision retries with another
    after, entry = wallet.debit(
        priced.coins,
        type=TxnType.REDEEM,
        source=Source.REDEMPTION,
        reference=code,
        now=now,
        note=reward.settings.name,
    )
    coupon = Coupon(
        code=code,
        customer_id=wallet.customer_id,
        reward_id=reward.reward_id,
        reward_type=priced.type,
        value=priced.value,
        max_discount=priced.max_discount,
        currency=currency,
        coins=priced.coins,
        min_order=priced.min_order,
        channel=channel,
        created_at=now,
        expires_at=now + timedelta(days=reward.settings.validity_days),
        transaction_id=entry.txn_id,
        lots=lots_taken(wallet, after),
        shopify="pending" if via_shopify else "none",
        contact=contact,
    )
    return Redemption(after, entry, coupon)


def lots_taken(before: Wallet, after: Wallet) -> dict[str, int]:
    """How many coins a debit took from each lot (restored there if the coupon is cancelled)."""
    return {lot: n - after.lots.get(lot, 0) for lot, n in before.lots.items() if n > after.lots.get(lot, 0)}
