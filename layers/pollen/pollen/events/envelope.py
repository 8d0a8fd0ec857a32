"""The outbox envelope: written in the same transaction as the change it reports (invariant 1)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ConfigDict, Field

from pollen.clock import isoformat
from pollen.ids import new_ulid
from pollen.model import BaseModel
from pollen.storage.keys import outbox_key

OUTBOX_ENTITY = "outbox"
OUTBOX_RETENTION = timedelta(days=7)


class OutboxEvent(BaseModel):
    """One thing that happened. ``event_id`` doubles as the dedupe id for every receiver."""

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(default_factory=new_ulid)
    event_type: str
    merchant_id: str
    customer_id: str | None = None
    occurred_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)

    def to_item(self) -> dict[str, Any]:
        key = outbox_key(self.merchant_id, self.event_id, self.customer_id)
        return {
            **key.as_dict(),
            "entity": OUTBOX_ENTITY,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "merchant_id": self.merchant_id,
            "customer_id": self.customer_id,
            "occurred_at": isoformat(self.occurred_at),
            "payload": self.payload,
            "expires_at": int((self.occurred_at + OUTBOX_RETENTION).timestamp()),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> OutboxEvent:
        return cls.model_validate(item)
