"""What the admin API shows of signed Shopify webhooks Pollen answered but could not use."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from pollen.model import BaseModel


class RejectedWebhook(BaseModel):
    entry_id: str = Field(description="Newest entries sort last by id (a ULID).")
    topic: str
    webhook_id: str | None
    reason: str = Field(description="A stable code: invalid_json, invalid_payload, currency_mismatch...")
    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list, description="The fields at fault, if any.")
    order_id: str | None = None
    body_sha256: str
    body_bytes: int
    received_at: datetime


class RejectedWebhookPage(BaseModel):
    items: list[RejectedWebhook]
    next_cursor: str | None
