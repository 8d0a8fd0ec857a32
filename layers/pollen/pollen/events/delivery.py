"""The DeliveryQueue message: one event to one integration, carrying the whole event.

The event travels in the message because the outbox item it came from expires after 7 days while a
dead letter is kept 14: a replay must never need the outbox. ``delivery_id`` is derived from the
event and the subscription, so routing the same stream record twice names the same delivery (one
log item, one logical delivery; receivers dedupe on the event id).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from pollen.events.envelope import OutboxEvent
from pollen.model import BaseModel


def delivery_id_for(event_id: str, subscription_id: str) -> str:
    """``{event_id}.{subscription_id}``: deterministic, sorts with the event's time (ULIDs)."""
    return f"{event_id}.{subscription_id}"


class DeliveryMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    delivery_id: str
    merchant_id: str
    subscription_id: str
    integration_id: str
    event: OutboxEvent
    routed_at: datetime
    attempt_offset: int = Field(
        default=0,
        ge=0,
        description="Attempts made before this message was sent (a replay continues the numbering); "
        "attempt number = offset + the queue's receive count.",
    )
    replays: int = Field(default=0, ge=0, description="How many times this delivery left the DLQ.")
    delay_seconds: int = Field(
        default=0,
        ge=0,
        le=900,
        description="Held back this long when queued (a debounced event, a rate-limited one queued again).",
    )

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def event_type(self) -> str:
        return self.event.event_type

    @classmethod
    def for_route(
        cls, event: OutboxEvent, subscription_id: str, integration_id: str, *, routed_at: datetime
    ) -> DeliveryMessage:
        return cls(
            delivery_id=delivery_id_for(event.event_id, subscription_id),
            merchant_id=event.merchant_id,
            subscription_id=subscription_id,
            integration_id=integration_id,
            event=event,
            routed_at=routed_at,
        )
