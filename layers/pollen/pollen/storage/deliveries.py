"""The delivery log: one item per delivery under ``M#{m}#DLV``, its attempts inside.

- The router creates each delivery's item as ``pending`` before queueing its message, with a
  condition (``attribute_not_exists``), many per ``TransactWriteItems``: a re-routed stream record
  finds the items it made before, learns their status from the failed condition, and does not
  queue again what was already handled.
- Each attempt is one ``UpdateItem`` that appends to ``attempts`` and sets the status: no read,
  nothing lost when two writers race, and no per-merchant counter anywhere (no hot item).
- ``GSI1`` lists the merchant's deliveries by status (``M#{m}#DLV#{status}``); the item moves from
  one list to the next as its status changes. Items expire after the retention (TTL).

Sort keys are ``D#{event_id}.{subscription_id}``: event ids are ULIDs, so the newest event lists
first, and one event's deliveries sit together.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pollen.clock import isoformat
from pollen.domain.deliveries import AttemptLog, DeliveryRecord, DeliveryStatus
from pollen.events.delivery import DeliveryMessage
from pollen.storage.errors import ConditionFailed, WriteConflict
from pollen.storage.keys import Key, deliveries_pk, delivery_key, delivery_status_gsi1pk
from pollen.storage.pagination import Page, decode_cursor, invalid_cursor
from pollen.storage.table import GSI1, Table

DELIVERY_ENTITY = "delivery"
ERROR_LIMIT = 1000  # characters of an error kept per attempt
_TX_ITEMS = 100
_BATCH_GET = 100


def _identity(message: DeliveryMessage, *, test: bool) -> dict[str, Any]:
    return {
        "entity": DELIVERY_ENTITY,
        "merchant_id": message.merchant_id,
        "delivery_id": message.delivery_id,
        "event_id": message.event_id,
        "event_type": message.event_type,
        "subscription_id": message.subscription_id,
        "integration_id": message.integration_id,
        "customer_id": message.event.customer_id,
        "test": test,
    }


def _attempt_item(attempt: AttemptLog) -> dict[str, Any]:
    item = attempt.model_dump(mode="json", exclude_none=True)
    item["at"] = isoformat(attempt.at)
    if attempt.error is not None:
        item["error"] = attempt.error[:ERROR_LIMIT]
    return item


def parse_delivery(item: dict[str, Any]) -> DeliveryRecord:
    return DeliveryRecord.model_validate(item)


class DeliveryLog:
    def __init__(self, table: Table, retention: timedelta) -> None:
        self._table = table
        self._retention = retention

    def _expires_at(self, now: datetime) -> int:
        return int((now + self._retention).timestamp())

    def _status_index(self, merchant_id: str, delivery_id: str, status: DeliveryStatus) -> dict[str, str]:
        return {
            "GSI1PK": delivery_status_gsi1pk(merchant_id, status.value),
            "GSI1SK": delivery_key(merchant_id, delivery_id).sk,
        }

    def create_pending(self, messages: Iterable[DeliveryMessage], *, now: datetime) -> dict[str, str]:
        """Create a ``pending`` item for each delivery that has none; one transaction per 100.

        Returns the deliveries whose item existed already, with its status (a re-routed record).
        """
        unique = list({m.delivery_id: m for m in messages}.values())
        existing: dict[str, str] = {}
        for start in range(0, len(unique), _TX_ITEMS):
            existing.update(self._create_chunk(unique[start : start + _TX_ITEMS], now))
        return existing

    def _create_chunk(self, chunk: list[DeliveryMessage], now: datetime) -> dict[str, str]:
        existing: dict[str, str] = {}
        remaining = chunk
        for round_ in range(8):
            if not remaining:
                break
            tx = self._table.transaction()
            for message in remaining:
                tx.put(
                    {
                        **delivery_key(message.merchant_id, message.delivery_id).as_dict(),
                        **_identity(message, test=False),
                        **self._status_index(
                            message.merchant_id, message.delivery_id, DeliveryStatus.PENDING
                        ),
                        "status": DeliveryStatus.PENDING.value,
                        "attempts": [],
                        "replays": message.replays,
                        "created_at": isoformat(message.routed_at),
                        "updated_at": isoformat(now),
                        "expires_at": self._expires_at(now),
                    },
                    label=message.delivery_id,
                    condition="attribute_not_exists(PK)",
                    return_old_on_failure=True,
                )
            try:
                tx.commit()
                return existing
            except ConditionFailed as exc:
                for label in exc.labels:
                    old = exc.items.get(label) or {}
                    existing[label] = str(old.get("status", DeliveryStatus.PENDING.value))
                remaining = [m for m in remaining if m.delivery_id not in exc.labels]
            except WriteConflict:
                time.sleep(random.uniform(0, 0.01 * 2**round_))  # noqa: S311 - jitter, not security
        if remaining:
            raise WriteConflict()
        return existing

    def record_attempt(
        self,
        message: DeliveryMessage,
        attempt: AttemptLog,
        status: DeliveryStatus,
        *,
        now: datetime,
        test: bool = False,
        dead_reason: str | None = None,
    ) -> None:
        """Append ``attempt`` and set the status, in one UpdateItem (the item is created if absent)."""
        sets = [
            "#status = :status",
            "GSI1PK = :gsi1pk",
            "GSI1SK = :gsi1sk",
            "attempts = list_append(if_not_exists(attempts, :empty), :attempt)",
            "created_at = if_not_exists(created_at, :created_at)",
            "updated_at = :now",
            "expires_at = :expires_at",
            "replays = :replays",
        ]
        names = {"#status": "status"}
        index = self._status_index(message.merchant_id, message.delivery_id, status)
        values: dict[str, Any] = {
            ":status": status.value,
            ":gsi1pk": index["GSI1PK"],
            ":gsi1sk": index["GSI1SK"],
            ":empty": [],
            ":attempt": [_attempt_item(attempt)],
            ":created_at": isoformat(message.routed_at),
            ":now": isoformat(now),
            ":expires_at": self._expires_at(now),
            ":replays": message.replays,
        }
        for position, (name, value) in enumerate(_identity(message, test=test).items()):
            if value is None:
                continue
            names[f"#i{position}"] = name
            values[f":i{position}"] = value
            sets.append(f"#i{position} = :i{position}")
        removes = []
        if attempt.retry_in_seconds is not None and status == DeliveryStatus.RETRYING:
            sets.append("next_attempt_at = :next")
            values[":next"] = isoformat(now + timedelta(seconds=attempt.retry_in_seconds))
        else:
            removes.append("next_attempt_at")
        if dead_reason is not None:
            sets.append("dead_reason = :reason")
            values[":reason"] = dead_reason[:ERROR_LIMIT]
        elif status != DeliveryStatus.DEAD:
            removes.append("dead_reason")
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        self._table.update(
            delivery_key(message.merchant_id, message.delivery_id), update=update, names=names, values=values
        )

    def mark_replayed(self, merchant_id: str, delivery_ids: list[str], *, now: datetime) -> None:
        """Back to ``pending`` (one transaction per 100); an item that expired meanwhile is left out."""
        for start in range(0, len(delivery_ids), _TX_ITEMS):
            remaining = delivery_ids[start : start + _TX_ITEMS]
            for _ in range(8):
                if not remaining:
                    break
                tx = self._table.transaction()
                for delivery_id in remaining:
                    index = self._status_index(merchant_id, delivery_id, DeliveryStatus.PENDING)
                    tx.update(
                        delivery_key(merchant_id, delivery_id),
                        label=delivery_id,
                        update="SET #status = :pending, GSI1PK = :gsi1pk, GSI1SK = :gsi1sk, "
                        "updated_at = :now, replays = if_not_exists(replays, :zero) + :one "
                        "REMOVE next_attempt_at, dead_reason",
                        condition="attribute_exists(PK)",
                        names={"#status": "status"},
                        values={
                            ":pending": DeliveryStatus.PENDING.value,
                            ":gsi1pk": index["GSI1PK"],
                            ":gsi1sk": index["GSI1SK"],
                            ":now": isoformat(now),
                            ":zero": 0,
                            ":one": 1,
                        },
                    )
                try:
                    tx.commit()
                    break
                except ConditionFailed as exc:
                    remaining = [d for d in remaining if d not in exc.labels]
                except WriteConflict:
                    time.sleep(random.uniform(0, 0.02))  # noqa: S311 - jitter, not security

    def page(
        self, merchant_id: str, *, status: DeliveryStatus | None, limit: int, cursor: str | None
    ) -> Page[DeliveryRecord]:
        """Newest first, one Query: the merchant's log, or one status through GSI1."""
        if status is None:
            pk, index, key_attrs = deliveries_pk(merchant_id), None, {"PK", "SK"}
            partition_attr = "PK"
        else:
            pk, index = delivery_status_gsi1pk(merchant_id, status.value), GSI1
            key_attrs, partition_attr = {"PK", "SK", "GSI1PK", "GSI1SK"}, "GSI1PK"
        if cursor is not None:
            # A cursor of the other list would name a valid partition but the wrong key shape.
            decoded = decode_cursor(cursor, partition_attr=partition_attr, partition_value=pk)
            if set(decoded) != key_attrs:
                raise invalid_cursor()
        page = self._table.query(
            pk, sk_prefix="D#", index=index, limit=limit, cursor=cursor, newest_first=True
        )
        return Page([parse_delivery(item) for item in page.items], page.next_cursor)

    def get_many(self, merchant_id: str, delivery_ids: Iterable[str]) -> dict[str, DeliveryRecord]:
        keys = [delivery_key(merchant_id, d) for d in dict.fromkeys(delivery_ids)]
        found: dict[Key, dict[str, Any]] = {}
        for start in range(0, len(keys), _BATCH_GET):
            found.update(self._table.batch_get(keys[start : start + _BATCH_GET], consistent=False))
        return {str(item["delivery_id"]): parse_delivery(item) for item in found.values()}
