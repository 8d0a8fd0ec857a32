"""What the API shows of a coupon and of a redemption, what it asks to redeem, and the customer's
coupon list: the read side, so the redemption API's init does not load the write path (:mod:`.redeem`,
the Shopify saga, the unit of work) before its first redemption."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pollen.domain.coupons import Channel, Coupon, CouponStatus
from pollen.domain.values import value
from pollen.domain.wallet import LedgerEntry, Wallet
from pollen.model import BaseModel
from pollen.services.container import Container
from pollen.storage.coupons import customer_coupons
from pollen.storage.pagination import Page


@value
class RedeemRequest:
    reward_id: str
    coins: int | None
    cart_total: Decimal | None
    channel: Channel


class CouponView(BaseModel):
    code: str
    type: str
    reward_id: str
    value: str | None
    max_discount: str | None
    currency: str
    min_order: str | None
    coins: int
    channel: str
    status: CouponStatus
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    order_id: str | None
    discount_amount: str | None
    cancelled_at: datetime | None
    shopify_status: str

    @classmethod
    def of(cls, coupon: Coupon, now: datetime) -> CouponView:
        def text(d: Decimal | None) -> str | None:
            return str(d) if d is not None else None

        return cls(
            code=coupon.code,
            type=coupon.reward_type.value,
            reward_id=coupon.reward_id,
            value=text(coupon.value),
            max_discount=text(coupon.max_discount),
            currency=coupon.currency,
            min_order=text(coupon.min_order),
            coins=coupon.coins,
            channel=coupon.channel,
            status=coupon.status(now),
            created_at=coupon.created_at,
            expires_at=coupon.expires_at,
            used_at=coupon.used_at,
            order_id=coupon.order_id,
            discount_amount=text(coupon.discount_amount),
            cancelled_at=coupon.cancelled_at,
            shopify_status=coupon.shopify,
        )


class Redeemed(BaseModel):
    """What a redemption (or a cancellation) answers, and what a replay answers again."""

    customer_id: str
    coupon: CouponView
    transaction: LedgerEntry
    balance: int


def answer(coupon: Coupon, wallet: Wallet, entry: LedgerEntry, now: datetime) -> Redeemed:
    return Redeemed(
        customer_id=coupon.customer_id,
        coupon=CouponView.of(coupon, now),
        transaction=entry,
        balance=wallet.balance,
    )


def list_coupons(
    c: Container,
    merchant_id: str,
    customer_id: str,
    *,
    status: CouponStatus | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> Page[CouponView]:
    """Newest first (one Query on GSI1). A status filter is applied to the page read, since
    ``expired`` depends on the clock; a page may hold fewer than ``limit`` then."""
    page = customer_coupons(c.table, merchant_id, customer_id, limit=limit, cursor=cursor)
    views = [CouponView.of(coupon, now) for coupon in page.items]
    if status is not None:
        views = [v for v in views if v.status == status]
    return Page(views, page.next_cursor)
