"""The scheduled job's pass over coupons left pending by a request that died or gave up."""

from __future__ import annotations

from datetime import datetime, timedelta

from pollen.domain.coupons import Coupon, CouponStatus
from pollen.domain.errors import UpstreamRejected, UpstreamUnavailable
from pollen.domain.merchants import ShopifyConnection
from pollen.observability import logger
from pollen.services.container import Container
from pollen.services.merchants import merchant_config
from pollen.services.redemption.shopify_saga import admin, compensate, connected, settle_shopify

PENDING_GRACE = timedelta(minutes=2)  # leave a request that is still running to settle its own coupon


def settle_pending(c: Container, merchant_id: str, code: str, created_at: datetime, now: datetime) -> str:
    """``created``, ``cancelled`` (coins back), ``unknown`` (Shopify still silent), ``waiting`` (too
    young) or ``stale`` (settled meanwhile: the marker goes)."""
    if now - created_at < PENDING_GRACE:
        return "waiting"
    coupon = c.units.begin(merchant_id).coupons.fetch(code)
    if coupon is None or coupon.shopify != "pending":
        uow = c.units.begin(merchant_id)
        uow.coupons.clear_pending(code)
        uow.commit(now=now)
        return "stale"
    connection = connected(merchant_config(c, merchant_id))
    if connection is None:  # Shopify was disconnected meanwhile: no code can be usable there
        compensate(c, merchant_id, coupon, now=now, reason="shopify_disconnected")
        return "cancelled"
    if coupon.stored_status == CouponStatus.CANCELLED:  # cancelled while pending: no discount may live
        return _take_down(c, merchant_id, coupon, connection, now)
    return _settle_again(c, merchant_id, coupon, connection, now)


def _settle_again(
    c: Container, merchant_id: str, coupon: Coupon, connection: ShopifyConnection, now: datetime
) -> str:
    try:
        settled = settle_shopify(c, merchant_id, coupon, connection, now=now, fresh=False)
    except UpstreamRejected:
        return "cancelled"
    except Exception as exc:  # unavailable, or something about this merchant's connection: next run
        if not isinstance(exc, UpstreamUnavailable):
            logger.exception("pending coupon could not be settled", extra={"code_suffix": coupon.code[-4:]})
        after = c.units.begin(merchant_id).coupons.fetch(coupon.code)
        return "cancelled" if after and after.stored_status == CouponStatus.CANCELLED else "unknown"
    return "created" if settled.shopify == "created" else "cancelled"


def _take_down(
    c: Container, merchant_id: str, coupon: Coupon, connection: ShopifyConnection, now: datetime
) -> str:
    from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - lazy: see admin

    shop = admin(connection)
    try:
        if (found := shop.find_discount(coupon.code)) is not None:
            shop.delete_discount(found)
    except ShopifyFailure:
        return "unknown"
    uow = c.units.begin(merchant_id)
    uow.coupons.save(coupon.discount_taken_down())
    uow.coupons.clear_pending(coupon.code)
    uow.commit(now=now)
    return "cancelled"
