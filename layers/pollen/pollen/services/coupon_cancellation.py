"""A Pollen coupon used on an order that is then cancelled: its coins come back, the coupon is cancelled.

Shopify does not give a discount code its use back when the order that used it is cancelled (the
code's ``usageLimit`` of 1 stays spent, as does ``appliesOncePerCustomer``), so returning the coupon
to ``issued`` would show the customer a code Shopify refuses. The honest outcome is the one a
customer cancelling an unused coupon gets: a ``refund`` ledger entry that puts the coins back into
the lots they came from (so they expire when they would have), and the coupon ``cancelled`` with
``cancel_reason: order_cancelled`` and a ``coupon_cancelled`` event. No Shopify call is needed: the
spent code can no longer be used there. Refunds (even full ones) leave the coupon used: the order
went ahead and the discount was given.

Runs inside the order's own transaction (:func:`pollen.services.orders.record_order_fact` calls
:func:`on_order` once, next to the tier and referral steps): the coupon is guarded by its version
and its status, so replays and racing deliveries cancel it exactly once. A Shopify
``orders/cancelled`` payload names its discount codes, so the coupons are already in the order's
BatchGetItem (the webhook stays at two calls); only the orders API's ``POST /v1/orders/{id}/cancel``
(no payload) of an order that used a Pollen coupon reads them with one more BatchGetItem.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pollen.domain.coupons import Coupon, CouponStatus, normalize_code
from pollen.domain.customers import CustomerRecord
from pollen.domain.orders import OrderRecord
from pollen.domain.wallet import LedgerEntry, Source, Wallet
from pollen.services.container import Container
from pollen.services.coupon_usage import CouponUse
from pollen.storage.coupons import parse_coupon_item, put_coupon
from pollen.storage.keys import Key, coupon_key
from pollen.storage.transactions import Transaction

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
    c: Container,
    tx: Transaction,
    merchant_id: str,
    order: OrderRecord,
    customer: CustomerRecord,
    *,
    wallet: Wallet,
    entries: list[LedgerEntry],
    uses: list[CouponUse],
    found: dict[Key, dict[str, Any]],
    now: datetime,
) -> tuple[Wallet, list[LedgerEntry], list[CouponUse]]:
    """When ``order`` is cancelled: every Pollen coupon it used (this customer's) is cancelled and
    its coins restored into ``wallet``. Coupons used for the first time by this same write are
    changed in ``uses``; coupons used earlier are staged here. Returns the new wallet, entries, uses."""
    if not order.facts.cancelled:
        return wallet, entries, uses
    owner = customer.customer.customer_id
    codes = {a.code for a in order.attributions if a.source == "redemption" and a.code}
    if not codes:
        return wallet, entries, uses
    using_now = {use.after.code for use in uses}
    keys = [coupon_key(merchant_id, code) for code in sorted(codes - using_now)]
    missing = [key for key in keys if key not in found]
    if missing:  # the orders API's cancel carries no discount codes: read the coupons the order used
        found = {**found, **c.table.batch_get(missing)}
    out: list[CouponUse] = []
    for use in uses:
        if use.after.customer_id != owner:
            out.append(use)
            continue
        wallet, entries = _restore(wallet, entries, use.after, now)
        out.append(CouponUse(use.before, _cancelled(use.after, now, bump=False)))
        _announce(tx, merchant_id, out[-1].after, customer, now)
    for n, key in enumerate(keys):
        item = found.get(key)
        coupon = parse_coupon_item(item) if item else None
        if (
            coupon is None
            or coupon.stored_status != CouponStatus.USED
            or coupon.order_id != order.order_id
            or coupon.customer_id != owner
        ):
            continue  # not used by this order (already cancelled, someone else's, or gone)
        wallet, entries = _restore(wallet, entries, coupon, now)
        after = _cancelled(coupon, now, bump=True)
        # "coupon-<n>" after stage_usage's own: a version race that retrying() re-reads and retries
        put_coupon(tx, merchant_id, after, expected_version=coupon.version, label=f"coupon-{len(uses) + n}")
        _announce(tx, merchant_id, after, customer, now)
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


def _announce(
    tx: Transaction, merchant_id: str, coupon: Coupon, customer: CustomerRecord, now: datetime
) -> None:
    from pollen.services.redemption import COUPON_CANCELLED, coupon_event  # noqa: PLC0415 - the catalogue on use

    event = coupon_event(
        COUPON_CANCELLED, merchant_id, coupon, customer, now, order_id=coupon.order_id, reason=CANCEL_REASON
    )
    tx.put(event.to_item(), label=f"coupon-cancelled-{normalize_code(coupon.code)}")
