"""The rejected-webhooks log: signed Shopify webhooks Pollen answered 200 but could not use."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from pollen.clock import isoformat
from pollen.model import BaseModel
from pollen.storage.keys import rejected_webhook_key, rejected_webhooks_pk
from pollen.storage.pagination import Page
from pollen.storage.table import Table

RETENTION = timedelta(days=30)


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


class RejectedWebhookLog:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, merchant_id: str, entry: RejectedWebhook) -> None:
        self._table.put(
            {
                **rejected_webhook_key(merchant_id, entry.entry_id).as_dict(),
                "entity": "rejected_webhook",
                **entry.model_dump(mode="json"),
                "received_at": isoformat(entry.received_at),
                "expires_at": int((entry.received_at + RETENTION).timestamp()),
            }
        )

    def page(self, merchant_id: str, *, limit: int, cursor: str | None) -> Page[RejectedWebhook]:
        page = self._table.query(
            rejected_webhooks_pk(merchant_id), sk_prefix="R#", limit=limit, cursor=cursor, newest_first=True
        )
        return Page([_parse(i) for i in page.items], page.next_cursor)


def _parse(item: dict[str, Any]) -> RejectedWebhook:
    return RejectedWebhook.model_validate(item)
