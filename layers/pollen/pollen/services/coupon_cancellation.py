"""A Pollen coupon used on an order that is then cancelled: its coins come back, the coupon is cancelled.

Shopify does not give a discount code its use back when the order that used it is cancelled (the
code's ``usageLimit`` of 1 stays spent, as does ``appliesOncePerCustomer``), so returning the coupon
to ``issued`` would show the customer a code Shopify refuses. The honest outcome is the one a
customer cancelling an unused coupon gets: a ``refund`` ledger entry that puts the coins back into
the lots they came from (so they expire when they would have), and the coupon ``cancelled`` with
``cancel_reason: order_cancelled`` and a ``coupon_cancelled`` event. No Shopify call is needed: the
spent code can no longer be used there. Refunds (even full ones) leave the coupon used: the order
went ahead and the discount was given.

Runs in the order's own unit of work (:func:`pollen.services.orders.record_order_fact` calls
:func:`on_order` once, next to the tier and referral steps): the coupon is guarded by its version
and its status, so replays and racing deliveries cancel it exactly once. A Shopify
``orders/cancelled`` payload names its discount codes, so the coupons are already in the order's
one read (the webhook stays at two calls); only the orders API's ``POST /v1/orders/{id}/cancel``
(no payload) of an order that used a Pollen coupon reads them with one more.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pollen.domain.coupons import Coupon, CouponStatus
from pollen.domain.customers import CustomerRecord
from pollen.domain.orders import OrderRecord
from pollen.domain.wallet import LedgerEntry, Source, Wallet

if TYPE_CHECKING:
    from pollen.services.unit_of_work import UnitOfWork

CANCEL_REASON = "order_cancelled"


def _cancelled(coupon: Coupon, now: datetime, *, bump: bool) -> Coupon:
    return coupon.model_copy(
        update={
            "stored_status": CouponStatus.CANCELLED,
            "cancelled_at": now,
            "cancel_reason": CANCEL_REASON,
            "version": coupon.version + (1 if bump else 0),
        }
    )


def on_order(
    uow: UnitOfWork,
    order: OrderRecord,
    customer: CustomerRecord,
    *,
    wallet: Wallet,
    entries: list[LedgerEntry],
    uses: list[Coupon],
    now: datetime,
) -> tuple[Wallet, list[LedgerEntry], list[Coupon]]:
    """When ``order`` is cancelled: every Pollen coupon it used (this customer's) is cancelled and
    its coins restored into ``wallet``. Coupons used for the first time by this same write are
    changed in ``uses``; coupons used earlier are staged here. Returns the new wallet, entries, uses."""
    if not order.facts.cancelled:
        return wallet, entries, uses
    owner = customer.customer.customer_id
    codes = {a.code for a in order.attributions if a.source == "redemption" and a.code}
    if not codes:
        return wallet, entries, uses
    using_now = {used.code for used in uses}
    earlier = sorted(codes - using_now)
    for code in earlier:  # the orders API's cancel carries no discount codes: one more read for them
        uow.coupons.want(code)
    out: list[Coupon] = []
    for used in uses:
        if used.customer_id != owner:
            out.append(used)
            continue
        wallet, entries = _restore(wallet, entries, used, now)
        out.append(_cancelled(used, now, bump=False))
        _announce(uow, out[-1], customer, now)
    for code in earlier:
        coupon = uow.coupons.get(code)
        if (
            coupon is None
            or coupon.stored_status != CouponStatus.USED
            or coupon.order_id != order.order_id
            or coupon.customer_id != owner
        ):
            continue  # not used by this order (already cancelled, someone else's, or gone)
        wallet, entries = _restore(wallet, entries, coupon, now)
        after = _cancelled(coupon, now, bump=True)
        uow.coupons.save(after)  # a version race: the use case is read and decided again
        _announce(uow, after, customer, now)
    return wallet, entries, out


def _restore(
    wallet: Wallet, entries: list[LedgerEntry], coupon: Coupon, now: datetime
) -> tuple[Wallet, list[LedgerEntry]]:
    if not coupon.lots:  # a referral reward's coupon took no coins: none to give back
        return wallet, entries
    wallet, entry = wallet.restore(
        coupon.lots, source=Source.REDEMPTION, reference=coupon.code, now=now, note="order cancelled"
    )
    return wallet, [*entries, entry]


def _announce(uow: UnitOfWork, coupon: Coupon, customer: CustomerRecord, now: datetime) -> None:
    from pollen.services.redemption import COUPON_CANCELLED, coupon_event  # noqa: PLC0415 - the catalogue on use

    event = coupon_event(
        COUPON_CANCELLED,
        uow.merchant_id,
        coupon,
        customer,
        now,
        order_id=coupon.order_id,
        reason=CANCEL_REASON,
    )
    uow.emit_event(event)
