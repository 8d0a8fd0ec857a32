"""An order that carries a Pollen coupon marks it used and is attributed to Pollen.

Runs inside the order's own transaction (:mod:`pollen.services.orders`): the coupons are read in
the order's BatchGetItem by their codes, so usage costs no extra round trip. Each coupon is
guarded by its version, so an order and a cancellation racing for the same coupon cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pollen.domain.coupons import Coupon, CouponStatus, normalize_code
from pollen.domain.customers import CustomerRecord
from pollen.domain.orders import Attribution, CouponMisuse, OrderData, OrderRecord
from pollen.domain.rewards import RewardType
from pollen.observability import logger
from pollen.storage.coupons import parse_coupon_item, put_coupon
from pollen.storage.keys import Key, coupon_key
from pollen.storage.transactions import Transaction

COUPON_USED = "coupon_used"


@dataclass(frozen=True)
class CouponUse:
    before: Coupon
    after: Coupon


def coupon_keys(merchant_id: str, data: OrderData | None) -> list[Key]:
    """Keys of the order's discount codes that could be Pollen coupons (others are never read)."""
    if data is None:
        return []
    codes = {code for raw in data.discount_codes if (code := normalize_code(raw))}
    return [coupon_key(merchant_id, code) for code in sorted(codes)]


def misuse_of(coupon: Coupon, *, buyer: str | None, email: str | None) -> CouponMisuse | None:
    """Whether ``coupon`` is on someone else's order: another customer's, or a guest order under
    another email than the owner's. A guest order without an email cannot be told apart: allowed."""
    if buyer is not None:
        if buyer == coupon.customer_id:
            return None
        return CouponMisuse(
            code=coupon.code,
            owner_customer_id=coupon.customer_id,
            buyer_customer_id=buyer,
            reason="another_customer",
        )
    owner_email = str(coupon.contact.get("email") or "").strip().lower()
    if email and owner_email and email.strip().lower() != owner_email:
        return CouponMisuse(code=coupon.code, owner_customer_id=coupon.customer_id, reason="another_email")
    return None


def plan_usage(
    merchant_id: str,
    order: OrderRecord,
    found: dict[Key, dict[str, Any]],
    now: datetime,
    *,
    buyer: str | None = None,
) -> tuple[OrderRecord, list[CouponUse]]:
    """The order with its new attributions, and the coupons it uses for the first time. A coupon that
    belongs to someone else than ``buyer`` is recorded as misuse on the order and stays its owner's."""
    data = order.facts.data
    if data is None:
        return order, []
    amounts = {normalize_code(code): amount for code, amount in data.discount_amounts.items()}
    claimed = {a.code for a in order.attributions} | {m.code for m in order.coupon_misuse}
    uses: list[CouponUse] = []
    attributions = list(order.attributions)
    misuse = list(order.coupon_misuse)
    for key in coupon_keys(merchant_id, data):
        item = found.get(key)
        if item is None:
            continue
        coupon = parse_coupon_item(item)
        if coupon.code in claimed:
            continue
        if (wrong := misuse_of(coupon, buyer=buyer, email=data.email)) is not None:
            logger.warning("coupon used on another customer's order", extra=wrong.model_dump())
            misuse.append(wrong)
            continue
        if coupon.stored_status != CouponStatus.ISSUED:
            logger.warning(
                "order carries a coupon that is not open",
                extra={"order_id": order.order_id, "status": coupon.stored_status.value},
            )
            continue
        amount = amounts.get(coupon.code)
        if amount is None and coupon.reward_type in {RewardType.FIXED_AMOUNT, RewardType.DYNAMIC}:
            amount = coupon.value
        after = coupon.model_copy(
            update={
                "stored_status": CouponStatus.USED,
                "used_at": now,
                "order_id": order.order_id,
                "discount_amount": amount,
                "version": coupon.version + 1,
            }
        )
        uses.append(CouponUse(coupon, after))
        attributions.append(
            Attribution(
                source="redemption",
                channel=coupon.channel,
                code=coupon.code,
                reward_id=coupon.reward_id,
                discount_amount=amount,
            )
        )
    if len(misuse) > len(order.coupon_misuse):
        order = order.model_copy(update={"coupon_misuse": misuse})
    if not uses:
        return order, []
    return order.model_copy(update={"attributions": attributions}), uses


def stage_usage(
    tx: Transaction, merchant_id: str, uses: list[CouponUse], customer: CustomerRecord | None, now: datetime
) -> None:
    if not uses:
        return
    from pollen.services.redemption import coupon_event  # noqa: PLC0415 - the catalogue when a coupon is used

    for n, use in enumerate(uses):
        put_coupon(tx, merchant_id, use.after, expected_version=use.before.version, label=f"coupon-{n}")
        owner = customer if customer and customer.customer.customer_id == use.after.customer_id else None
        event = coupon_event(
            COUPON_USED,
            merchant_id,
            use.after,
            owner,
            now,
            order_id=use.after.order_id,
            discount_amount=str(use.after.discount_amount) if use.after.discount_amount is not None else None,
            used_at=now.isoformat(),
        )
        tx.put(event.to_item(), label=f"coupon-used-{n}")
