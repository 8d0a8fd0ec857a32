"""What the outbox says about coupons: the catalogue's typed payloads (``coupon_created``) and the
internal ``coupon_cancelled``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pollen.domain.coupons import Coupon
from pollen.domain.customers import CustomerRecord
from pollen.events.catalogue import CouponCreatedPayload, EventCustomer
from pollen.events.envelope import OutboxEvent
from pollen.events.internal_coupons import CouponCancelledPayload
from pollen.services.contacts import customer_fields

COUPON_CREATED = "coupon_created"
COUPON_CANCELLED = "coupon_cancelled"

__all__ = ["COUPON_CANCELLED", "COUPON_CREATED", "CouponCancelledPayload", "coupon_event", "coupon_payload"]


def _who(coupon: Coupon, record: CustomerRecord | None) -> dict[str, Any]:
    if record is not None:
        return customer_fields(record.customer)
    return coupon.contact or {"customer_id": coupon.customer_id}


def coupon_payload(
    coupon: Coupon, record: CustomerRecord | None, kind: type[CouponCreatedPayload] = CouponCreatedPayload
) -> CouponCreatedPayload:
    """The coupon as the ``coupon_created`` payload (the customer from ``record``, else as issued)."""
    return kind(
        code=coupon.code,
        reward_id=coupon.reward_id,
        reward_type=coupon.reward_type,
        value=coupon.value,
        currency=coupon.currency,
        coins=coupon.coins,
        min_order=coupon.min_order,
        expires_at=coupon.expires_at,
        channel=coupon.channel,
        customer=EventCustomer.model_validate(_who(coupon, record)),
    )


def coupon_event(
    event_type: str,
    merchant_id: str,
    coupon: Coupon,
    record: CustomerRecord | None,
    now: datetime,
    **extra: Any,
) -> OutboxEvent:
    """A coupon event as an envelope, for the transactions not on a unit of work yet (the order
    path's ``coupon_used``, referral coupons)."""
    return OutboxEvent(
        event_type=event_type,
        merchant_id=merchant_id,
        customer_id=coupon.customer_id,
        occurred_at=now,
        payload={
            "code": coupon.code,
            "reward_id": coupon.reward_id,
            "reward_type": coupon.reward_type.value,
            "value": str(coupon.value) if coupon.value is not None else None,
            "currency": coupon.currency,
            "coins": coupon.coins,
            "min_order": str(coupon.min_order) if coupon.min_order is not None else None,
            "expires_at": coupon.expires_at.isoformat(),
            "channel": coupon.channel,
            **extra,
            "customer": _who(coupon, record),
        },
    )
