"""The Shopify Admin client for a merchant's connection (imported only when a merchant uses Shopify)."""

from __future__ import annotations

from functools import lru_cache

import httpx

from pollen.domain.coupons import Coupon
from pollen.domain.merchants import ShopifyConnection
from pollen.domain.rewards import RewardType
from pollen.integrations.shopify.discounts import (
    DiscountKind,
    DiscountSpec,
    ShopifyAdmin,
    customer_gid,
    shopify_client,
)

KINDS = {
    RewardType.FIXED_AMOUNT: DiscountKind.FIXED_AMOUNT,
    RewardType.DYNAMIC: DiscountKind.FIXED_AMOUNT,  # coins priced into an amount off
    RewardType.PERCENTAGE: DiscountKind.PERCENTAGE,
    RewardType.FREE_SHIPPING: DiscountKind.FREE_SHIPPING,
}


@lru_cache(maxsize=1)
def http_client() -> httpx.Client:
    """One pooled client per warm container (10 s timeout); tests swap the transport."""
    return shopify_client()


def admin_for(connection: ShopifyConnection) -> ShopifyAdmin:
    return ShopifyAdmin(http_client(), connection)


def discount_spec(coupon: Coupon, connection: ShopifyConnection) -> DiscountSpec:
    """The coupon as a Shopify discount code: one use, this customer, the validity window."""
    kind = KINDS[coupon.reward_type]
    return DiscountSpec(
        code=coupon.code,
        title=f"Pollen {coupon.reward_type.value.replace('_', ' ')} {coupon.code}",
        kind=kind,
        amount=coupon.value if kind == DiscountKind.FIXED_AMOUNT else None,
        percentage=coupon.value if kind == DiscountKind.PERCENTAGE else None,
        min_subtotal=coupon.min_order,
        customer_gid=customer_gid(coupon.customer_id),
        starts_at=coupon.created_at,
        ends_at=coupon.expires_at,
    )
