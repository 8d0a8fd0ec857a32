"""A routed delivery as the event router builds it, for tests of the delivery log."""

from __future__ import annotations

from pollen.clock import utcnow
from pollen.events.delivery import DeliveryMessage
from pollen.events.envelope import OutboxEvent


def routed_coupon_used(merchant_id: str, customer_id: str | None = None) -> DeliveryMessage:
    """A ``coupon_used`` event routed by subscription ``s-1`` to the ``klaviyo-main`` integration."""
    event = OutboxEvent(
        event_type="coupon_used", merchant_id=merchant_id, customer_id=customer_id, occurred_at=utcnow()
    )
    return DeliveryMessage(
        delivery_id=f"{event.event_id}.s-1",
        merchant_id=merchant_id,
        subscription_id="s-1",
        integration_id="klaviyo-main",
        event=event,
        routed_at=utcnow(),
    )
