"""Idempotency receipts: stored in the business transaction, they answer a retried request."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import ConfigDict

from pollen.clock import isoformat
from pollen.model import BaseModel
from pollen.storage.keys import receipt_key

RECEIPT_RETENTION = timedelta(hours=48)


def fingerprint(payload: Any) -> str:
    """A stable digest of a request, to tell a retry from a different request reusing a key."""
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


class Receipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    merchant_id: str
    scope: str
    idempotency_key: str
    request_fingerprint: str
    status: int
    response: dict[str, Any]
    created_at: datetime

    def to_item(self) -> dict[str, Any]:
        return {
            **receipt_key(self.merchant_id, self.scope, self.idempotency_key).as_dict(),
            "entity": "receipt",
            "merchant_id": self.merchant_id,
            "scope": self.scope,
            "idempotency_key": self.idempotency_key,
            "request_fingerprint": self.request_fingerprint,
            "status": self.status,
            "response": json.dumps(self.response, separators=(",", ":")),
            "created_at": isoformat(self.created_at),
            "expires_at": int((self.created_at + RECEIPT_RETENTION).timestamp()),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Receipt:
        return cls.model_validate({**item, "response": json.loads(item["response"])})
