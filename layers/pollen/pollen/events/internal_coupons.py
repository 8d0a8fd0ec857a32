"""The internal coupon event's payload, apart from :mod:`pollen.events.internal`: it extends the
catalogue's coupon payload, and the other internal payloads should not load the catalogue."""

from __future__ import annotations

from pollen.events.catalogue import CouponCreatedPayload


class CouponCancelledPayload(CouponCreatedPayload):
    """``coupon_cancelled``: the coupon given back, its coins restored."""
