"""The coupon's discount in Shopify: create it, confirm it in Pollen, or undo the redemption."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pollen.domain.coupons import Coupon, CouponStatus
from pollen.domain.customers import CustomerRecord
from pollen.domain.errors import NotFound, UpstreamRejected, UpstreamUnavailable
from pollen.domain.merchants import ShopifyConnection
from pollen.domain.wallet import Source
from pollen.model import BaseModel
from pollen.observability import logger
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from pollen.services.program import get_program
from pollen.services.redemption.events import COUPON_CREATED, coupon_payload
from pollen.services.unit_of_work import UnitOfWork, run
from pollen.storage.errors import ConditionFailed
from pollen.storage.merchant_config import MerchantConfig

if TYPE_CHECKING:
    from pollen.integrations.shopify.discounts import ShopifyAdmin


def connected(config: MerchantConfig) -> ShopifyConnection | None:
    """The merchant's Shopify connection when coupons must exist there too."""
    shopify = config.shopify
    return shopify if shopify is not None and shopify.admin_access_token else None


def admin(connection: ShopifyConnection) -> ShopifyAdmin:
    from pollen.services.shopify_admin import admin_for  # noqa: PLC0415 - httpx only for Shopify merchants

    return admin_for(connection)


def settle_shopify(
    c: Container,
    merchant_id: str,
    coupon: Coupon,
    connection: ShopifyConnection,
    *,
    now: datetime,
    idempotency: Idempotency | None = None,
    fresh: bool = True,
) -> Coupon:
    """Create the pending coupon's discount in Shopify and record the outcome (see the package doc).

    ``fresh`` is False when an earlier attempt may have reached Shopify (a replayed request, the
    scheduled job): then Shopify is asked for the code first, and an unknown answer changes nothing."""
    from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - lazy: see admin
    from pollen.services.shopify_admin import discount_spec  # noqa: PLC0415

    shop = admin(connection)
    if not fresh:
        try:
            existing = shop.find_discount(coupon.code)
        except ShopifyFailure as unknown:
            raise UpstreamUnavailable(
                "Shopify did not answer; the redemption is still being settled. Retry later."
            ) from unknown
        if existing is not None:
            return confirm_shopify(c, merchant_id, coupon, existing, shop, now=now)
    try:
        discount_id: str | None = shop.create_discount(discount_spec(coupon, connection))
    except ShopifyFailure as failure:
        if not (failure.maybe_applied or failure.code_taken):
            compensate(
                c, merchant_id, coupon, now=now, reason=f"shopify_{failure.kind}", idempotency=idempotency
            )
            raise_for(failure)
        try:  # did it land? (a timeout, a 5xx, or our own earlier attempt holding the code)
            discount_id = shop.find_discount(coupon.code)
        except ShopifyFailure as unknown:
            logger.warning(
                "shopify discount state unknown; coupon stays pending",
                extra={"code_suffix": coupon.code[-4:], "kind": unknown.kind},
            )
            raise UpstreamUnavailable(
                "Shopify did not confirm the coupon; the redemption will be settled shortly. Retry the "
                "request with the same Idempotency-Key to see the outcome."
            ) from unknown
        if discount_id is None:
            compensate(
                c, merchant_id, coupon, now=now, reason=f"shopify_{failure.kind}", idempotency=idempotency
            )
            raise_for(failure)
    assert discount_id is not None
    return confirm_shopify(c, merchant_id, coupon, discount_id, shop, now=now)


def raise_for(failure: Exception) -> None:
    kind = getattr(failure, "kind", "unexpected")
    if kind in {"rejected", "unauthorized", "unexpected"}:
        raise UpstreamRejected(
            "Shopify refused the discount code; no coins were taken. Check the Shopify connection."
        ) from failure
    raise UpstreamUnavailable(
        "Shopify could not create the discount code; no coins were taken. Try again."
    ) from failure


def confirm_shopify(
    c: Container, merchant_id: str, coupon: Coupon, discount_id: str, shop: ShopifyAdmin, *, now: datetime
) -> Coupon:
    """Mark the coupon created in Shopify and announce it (one write when nothing raced it); if it
    was settled otherwise meanwhile (cancelled by the job or the customer), take the discount down."""
    from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - lazy: see admin

    current: Coupon | None = coupon
    for _ in range(5):
        if current is None or not current.awaiting_shopify:
            break
        after = current.confirm_shopify(discount_id)
        uow = c.units.begin(merchant_id)
        uow.coupons.save(after)
        uow.coupons.clear_pending(current.code)
        uow.emit(COUPON_CREATED, coupon_payload(after, None), customer_id=after.customer_id, now=now)
        try:
            uow.commit(now=now)
            return after
        except ConditionFailed:
            current = c.units.begin(merchant_id).coupons.fetch(coupon.code)
    if current is not None and current.stored_status == CouponStatus.CANCELLED:
        try:
            shop.delete_discount(discount_id)
        except ShopifyFailure:
            logger.error("cancelled coupon still has a Shopify discount", extra={"discount_id": discount_id})
    if current is None:
        raise NotFound("No coupon with this code.")
    return current


class _Done(BaseModel):
    pass


class _AlreadySettled(Exception):
    pass


def compensate(
    c: Container,
    merchant_id: str,
    coupon: Coupon,
    *,
    now: datetime,
    reason: str,
    idempotency: Idempotency | None = None,
) -> None:
    """Undo a redemption Shopify did not honour: coins back to their lots, coupon cancelled,
    receipt removed (the same Idempotency-Key may try again). A no-op once it is settled."""
    program = get_program(c, merchant_id)

    def use_case(uow: UnitOfWork) -> tuple[int, _Done]:
        uow.customers.want(coupon.customer_id)
        current = uow.coupons.get(coupon.code)  # one read: the coupon and its customer
        record = uow.customers.require(coupon.customer_id)
        if current is None or not current.awaiting_shopify:
            raise _AlreadySettled()
        if current.lots:  # a referral reward's coupon took no coins: none to give back
            wallet, entry = record.wallet.restore(
                current.lots, source=Source.REDEMPTION, reference=current.code, now=now, note=reason
            )
            uow.customers.save(CustomerRecord(record.customer, wallet), [entry], program)
        uow.coupons.save(current.fail_shopify(now=now, reason=reason))
        uow.coupons.clear_pending(current.code)
        if idempotency:
            uow.release_receipt(idempotency)
        return 200, _Done()

    try:
        run(c.units, merchant_id, use_case, _Done, now=now)
    except _AlreadySettled:
        return
