"""An order that carries a Pollen coupon marks it used and is attributed to Pollen.

Runs in the order's own unit of work (:mod:`pollen.services.orders`): the coupons are read in the
order's one read by their codes, so usage costs no extra round trip. Each coupon is guarded by its
version, so an order and a cancellation racing for the same coupon cannot both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pollen.domain.coupons import Coupon, CouponStatus, normalize_code
from pollen.domain.customers import CustomerRecord
from pollen.domain.orders import Attribution, CouponMisuse, OrderData, OrderRecord
from pollen.domain.rewards import RewardType
from pollen.observability import logger

if TYPE_CHECKING:
    from pollen.services.unit_of_work import UnitOfWork

COUPON_USED = "coupon_used"


def coupon_codes(data: OrderData | None) -> list[str]:
    """The order's discount codes that could be Pollen coupons (others are never read)."""
    if data is None:
        return []
    return sorted({code for raw in data.discount_codes if (code := normalize_code(raw))})


def want(uow: UnitOfWork, data: OrderData | None) -> None:
    """Name the order's coupons for its one read."""
    for code in coupon_codes(data):
        uow.coupons.want(code)


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
    uow: UnitOfWork,
    order: OrderRecord,
    now: datetime,
    *,
    buyer: str | None = None,
) -> tuple[OrderRecord, list[Coupon]]:
    """The order with its new attributions, and the coupons it uses for the first time. A coupon that
    belongs to someone else than ``buyer`` is recorded as misuse on the order and stays its owner's."""
    data = order.facts.data
    if data is None:
        return order, []
    amounts = {normalize_code(code): amount for code, amount in data.discount_amounts.items()}
    claimed = {a.code for a in order.attributions} | {m.code for m in order.coupon_misuse}
    uses: list[Coupon] = []  # each as this order leaves it (saved at the version the read loaded)
    attributions = list(order.attributions)
    misuse = list(order.coupon_misuse)
    for code in coupon_codes(data):
        coupon = uow.coupons.get(code)
        if coupon is None:
            continue
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
        uses.append(coupon.use(order_id=order.order_id, discount_amount=amount, now=now))
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


def stage_usage(uow: UnitOfWork, uses: list[Coupon], customer: CustomerRecord | None, now: datetime) -> None:
    if not uses:
        return
    from pollen.services.redemption import coupon_event  # noqa: PLC0415 - the catalogue when a coupon is used

    for used in uses:
        uow.coupons.save(used)
        owner = customer if customer and customer.customer.customer_id == used.customer_id else None
        event = coupon_event(
            COUPON_USED,
            uow.merchant_id,
            used,
            owner,
            now,
            order_id=used.order_id,
            discount_amount=str(used.discount_amount) if used.discount_amount is not None else None,
            used_at=now.isoformat(),
        )
        uow.emit_event(event)
