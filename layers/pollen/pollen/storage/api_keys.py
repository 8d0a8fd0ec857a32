"""API key items (``M#{m}#APIKEY`` / ``K#{key_id}``) and the warm-container auth cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pollen.clock import isoformat
from pollen.domain.api_keys import ApiKey
from pollen.storage.keys import api_key_key, api_keys_pk
from pollen.storage.table import Table
from pollen.storage.transactions import Transaction

API_KEY_ENTITY = "api_key"


def stage_revocation(tx: Transaction, merchant_id: str, key_id: str, *, at: datetime) -> None:
    """Mark the key revoked; fails (label ``api_key``, old image empty when absent) unless it
    exists and is not revoked yet."""
    tx.update(
        api_key_key(merchant_id, key_id),
        label="api_key",
        update="SET revoked_at = :now",
        condition="attribute_exists(PK) AND attribute_not_exists(revoked_at)",
        values={":now": at.isoformat()},
    )


def api_key_item(key: ApiKey) -> dict[str, Any]:
    return {
        **api_key_key(key.merchant_id, key.key_id).as_dict(),
        "entity": API_KEY_ENTITY,
        **key.model_dump(mode="json"),
        "created_at": isoformat(key.created_at),
        "revoked_at": isoformat(key.revoked_at) if key.revoked_at else None,
    }


class ApiKeyStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, merchant_id: str, key_id: str) -> ApiKey | None:
        item = self._table.get(api_key_key(merchant_id, key_id))
        return ApiKey.model_validate(item) if item else None

    def list(self, merchant_id: str) -> list[ApiKey]:
        return [ApiKey.model_validate(item) for item in self._table.query_all(api_keys_pk(merchant_id))]


class KeyCache:
    """Full-key hash → stored key, so a known key costs no DynamoDB call on a warm container.

    Entries live ``ttl`` seconds: a key revoked on another container stops working here within the
    TTL; :meth:`evict` makes a revocation effective on this container at once. Unknown keys are
    cached briefly too, so a flood of bad keys cannot turn into a flood of reads.
    """

    NEGATIVE_TTL = 5.0

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self.clock = clock  # monotonic seconds; the cost meter pins it (infra/cost.py)
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> tuple[bool, ApiKey | None]:
        """``(hit, key)``; a hit with ``None`` is a remembered miss."""
        with self._lock:
            entry = self._entries.get(key_hash)
        if entry is None:
            return False, None
        stored_at, key = entry
        ttl = self._ttl if key is not None else min(self._ttl, self.NEGATIVE_TTL)
        if self.clock() - stored_at >= ttl:
            return False, None
        return True, key

    def put(self, key_hash: str, key: ApiKey | None) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_hash] = (self.clock(), key)

    def evict(self, merchant_id: str, key_id: str) -> None:
        with self._lock:
            for key_hash, (_, key) in list(self._entries.items()):
                if key is not None and key.merchant_id == merchant_id and key.key_id == key_id:
                    del self._entries[key_hash]
