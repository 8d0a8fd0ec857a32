"""The rejected-webhooks log as the admin API reads it (Shopify webhooks answered 200 but unusable)."""

from __future__ import annotations

from pollen.services.container import Container
from pollen.storage.rejected_webhooks import RejectedWebhookLog
from pollen.views.webhooks import RejectedWebhookPage


def page(c: Container, merchant_id: str, *, limit: int, cursor: str | None) -> RejectedWebhookPage:
    """Newest first, ``limit`` at a time."""
    found = RejectedWebhookLog(c.table).page(merchant_id, limit=limit, cursor=cursor)
    return RejectedWebhookPage(items=found.items, next_cursor=found.next_cursor)
