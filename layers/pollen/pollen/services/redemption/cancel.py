"""Cancelling an unused coupon: its coins back to the lots they came from (Shopify first)."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.coupons import Coupon
from pollen.domain.customers import CustomerRecord
from pollen.domain.errors import NotFound
from pollen.domain.program import Program
from pollen.domain.wallet import Source
from pollen.services.container import Container
from pollen.services.merchants import merchant_config
from pollen.services.program import get_program
from pollen.services.redemption.events import COUPON_CANCELLED, CouponCancelledPayload, coupon_payload
from pollen.services.redemption.shopify_saga import admin, connected, raise_for
from pollen.services.redemption.views import Redeemed, answer
from pollen.services.unit_of_work import UnitOfWork, run


def _theirs(coupon: Coupon | None, customer_id: str) -> Coupon:
    if coupon is None or coupon.customer_id != customer_id:
        raise NotFound("No coupon with this code for this customer.")
    return coupon


def give_back(
    uow: UnitOfWork, customer_id: str, code: str, program: Program, *, now: datetime
) -> tuple[int, Redeemed]:
    """Load the customer and the coupon (one read), cancel the coupon, restore its coins, and say so."""
    uow.coupons.want(code)
    record = uow.customers.require(customer_id)
    current = _theirs(uow.coupons.get(code), customer_id)
    after = current.cancel(now=now)
    wallet, entry = record.wallet.restore(
        current.lots, source=Source.REDEMPTION, reference=current.code, now=now, note="coupon cancelled"
    )
    uow.customers.save(CustomerRecord(record.customer, wallet), [entry], program)
    uow.coupons.save(after)  # a pending coupon keeps its marker: the job makes sure no discount outlives it
    payload = coupon_payload(after, record, CouponCancelledPayload)
    uow.emit(COUPON_CANCELLED, payload, customer_id=customer_id, now=now)
    return 200, answer(after, wallet, entry, now)


def cancel_coupon(c: Container, merchant_id: str, customer_id: str, code: str, *, now: datetime) -> Redeemed:
    """Cancel an unused coupon and give its coins back (ledger ``refund``); Shopify first, see above."""
    program = get_program(c, merchant_id)
    shopify = connected(merchant_config(c, merchant_id))
    if shopify:  # the discount must be dead in Shopify before the coins come back: read it first
        coupon = _theirs(c.units.begin(merchant_id).coupons.fetch(code), customer_id)
        coupon.cancel(now=now)  # refused here (409) when it is not cancellable: Shopify stays as is
        if coupon.shopify == "created" and coupon.shopify_discount_id:
            from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - lazy

            try:
                admin(shopify).deactivate_discount(coupon.shopify_discount_id)
            except ShopifyFailure as failure:
                raise_for(failure)

    _, result = run(
        c.units,
        merchant_id,
        lambda uow: give_back(uow, customer_id, code, program, now=now),
        Redeemed,
        now=now,
    )
    return result
