"""Retried writes answer the same: a receipt is written in the business transaction and replayed.

A client retrying with the same key and the same request gets the stored answer; the same key on a
different request is refused (422), since answering it would hide that it was never carried out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pollen.domain.errors import ValidationFailed
from pollen.storage.keys import Key, receipt_key
from pollen.storage.receipts import Receipt, fingerprint


class IdempotencyKeyReused(ValidationFailed):
    title = "Idempotency key reused"
    slug = "idempotency-key-reused"


@dataclass(frozen=True)
class Idempotency:
    """A delivery id (``X-Shopify-Webhook-Id``, ``Idempotency-Key``) and the request it came with."""

    scope: str
    key: str
    request: Any

    def receipt_key(self, merchant_id: str) -> Key:
        return receipt_key(merchant_id, self.scope, self.key)

    def replay(self, item: dict[str, Any] | None) -> Receipt | None:
        """The stored answer when this request was carried out before (None: it was not)."""
        if item is None:
            return None
        receipt = Receipt.from_item(item)
        if receipt.request_fingerprint != fingerprint(self.request):
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request; use a new key."
            )
        return receipt
