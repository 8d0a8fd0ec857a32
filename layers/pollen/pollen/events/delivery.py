"""The DeliveryQueue message: one event to one integration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeliveryMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    delivery_id: str
    merchant_id: str
    subscription_id: str
    integration_id: str
    event_id: str
    event_type: str
    attempt: int = Field(default=1, ge=1)


class DeliveryNotAvailable(RuntimeError):
    """No delivery adapter can take this message yet; it stays on the queue and, in the end, the DLQ."""
