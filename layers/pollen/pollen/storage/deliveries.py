"""The delivery log: one item per delivery under ``M#{m}#DLV``, its attempts inside.

- The router creates each delivery's item as ``pending`` before queueing its message, with a
  condition (``attribute_not_exists``), one ``PutItem`` per item, many at once: a re-routed stream
  record finds the items it made before, learns their status from the failed condition (its old
  image), and does not queue again what was already handled.
- Each attempt is one ``UpdateItem`` that appends to ``attempts`` and sets the status: no read,
  nothing lost when two writers race, and no per-merchant counter anywhere (no hot item).
- ``GSI1`` lists the merchant's deliveries that need a look (``M#{m}#DLV#{status}``: retrying,
  dead, a failed test); the item joins and leaves the list as its status changes. Pending,
  delivered and skipped deliveries, the log's bulk, are listed from the log's own partition (a
  filtered Query), so a delivery that goes through writes no index entry at all (docs/design.md
  "Cost per order"). Items expire after the retention (TTL).

Sort keys are ``D#{event_id}.{subscription_id}``: event ids are ULIDs, so the newest event lists
first, and one event's deliveries sit together.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pollen.clock import isoformat
from pollen.domain.deliveries import AttemptLog, DeliveryRecord, DeliveryStatus
from pollen.events.delivery import DeliveryMessage
from pollen.storage.client import concurrently
from pollen.storage.errors import ConditionFailed, WriteConflict
from pollen.storage.keys import DELIVERY_ENTITY as DELIVERY_ENTITY  # noqa: PLC0414 - re-exported
from pollen.storage.keys import Key, deliveries_pk, delivery_key, delivery_status_gsi1pk
from pollen.storage.pagination import Page, decode_cursor, invalid_cursor
from pollen.storage.table import GSI1, Table

ERROR_LIMIT = 1000  # characters of an error kept per attempt
_TX_ITEMS = 100
_BATCH_GET = 100
# Statuses GSI1 lists. The others are listed by filtering the log's partition, newest first.
INDEXED = frozenset({DeliveryStatus.RETRYING, DeliveryStatus.DEAD, DeliveryStatus.FAILED})
_FILTERED_QUERIES = 5  # Query calls a page of an unindexed status may take to fill up


class PendingNotWritten(Exception):
    """Some deliveries' ``pending`` items were not written, for another reason than an item already
    there (``errors``: why, by delivery id). The others were written, or found: ``existing`` holds
    the status each of those found (delivery id -> status), as :meth:`DeliveryLog.create_pending`
    returns it."""

    def __init__(self, errors: dict[str, Exception], existing: dict[str, str]) -> None:
        super().__init__(f"{len(errors)} delivery log item(s) not written: {next(iter(errors.values()))}")
        self.errors = errors
        self.existing = existing


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
        """The item's GSI1 key in its status's list (none for an unindexed status)."""
        if status not in INDEXED:
            return {}
        return {
            "GSI1PK": delivery_status_gsi1pk(merchant_id, status.value),
            "GSI1SK": delivery_key(merchant_id, delivery_id).sk,
        }

    def create_pending(self, messages: Iterable[DeliveryMessage], *, now: datetime) -> dict[str, str]:
        """Create a ``pending`` item for each delivery that has none: one conditional ``PutItem`` each,
        up to ``MAX_CONCURRENT`` at once. Not one transaction: each condition guards its own item only,
        and a transactional write costs twice the units.

        Returns the deliveries whose item existed already, with its status (a re-routed record). When a
        put failed for another reason than its condition, raises :class:`PendingNotWritten` once every
        put has finished: it names those deliveries and carries what the others found."""
        unique = list({m.delivery_id: m for m in messages}.values())
        outcomes = concurrently([partial(self._create, message, now) for message in unique])
        existing = {delivery_id: status for delivery_id, status, _ in outcomes if status is not None}
        errors = {delivery_id: error for delivery_id, _, error in outcomes if error is not None}
        if errors:
            raise PendingNotWritten(errors, existing)
        return existing

    def _create(self, message: DeliveryMessage, now: datetime) -> tuple[str, str | None, Exception | None]:
        """(delivery id, the status of the item found instead, the error that stopped the put)."""
        try:
            self._table.put(
                {
                    **delivery_key(message.merchant_id, message.delivery_id).as_dict(),
                    **_identity(message, test=False),
                    **self._status_index(message.merchant_id, message.delivery_id, DeliveryStatus.PENDING),
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": [],
                    "replays": message.replays,
                    "created_at": isoformat(message.routed_at),
                    "updated_at": isoformat(now),
                    "expires_at": self._expires_at(now),
                },
                condition="attribute_not_exists(PK)",  # the old item comes back when it exists
                label=message.delivery_id,
            )
        except ConditionFailed as exc:
            old = exc.items.get(message.delivery_id) or {}
            return message.delivery_id, str(old.get("status", DeliveryStatus.PENDING.value)), None
        except Exception as exc:  # reported to the caller: its records are routed again
            return message.delivery_id, None, exc
        return message.delivery_id, None, None

    def release_pending(self, messages: Iterable[DeliveryMessage]) -> dict[str, Exception]:
        """Delete the ``pending`` items the router just created for ``messages`` whose messages were
        not queued: one conditional ``DeleteItem`` each (still ``pending``), up to ``MAX_CONCURRENT``
        at once. An item gone, or no longer ``pending``, is left as it is. Returns the deliveries whose
        item could not be deleted, with why."""
        unique = list({m.delivery_id: m for m in messages}.values())
        outcomes = concurrently([partial(self._release, message) for message in unique])
        return {delivery_id: error for delivery_id, error in outcomes if error is not None}

    def _release(self, message: DeliveryMessage) -> tuple[str, Exception | None]:
        tx = self._table.transaction()  # one item: a plain conditional DeleteItem
        tx.delete(
            delivery_key(message.merchant_id, message.delivery_id),
            label=message.delivery_id,
            condition="#status = :pending",
            names={"#status": "status"},
            values={":pending": DeliveryStatus.PENDING.value},
        )
        try:
            tx.commit()
        except ConditionFailed:
            pass  # gone already, or handled since: nothing is left that reads as queued
        except Exception as exc:  # reported to the caller, which logs it
            return message.delivery_id, exc
        return message.delivery_id, None

    def record_attempt(
        self,
        message: DeliveryMessage,
        attempt: AttemptLog,
        status: DeliveryStatus,
        *,
        now: datetime,
        dead_reason: str | None = None,
        dead_letter: dict[str, Any] | None = None,
    ) -> None:
        """Append ``attempt`` and set the status: one UpdateItem on the item the router created. Should
        that item be gone (it was never written, or expired), a second call writes it whole.

        ``dead_letter`` (with status ``dead``) indexes the dead letter on the item itself: the message
        to send again and why it died, listed per merchant through GSI1 (see :meth:`dead_letters`)."""
        sets = [
            "#status = :status",
            "attempts = list_append(if_not_exists(attempts, :empty), :attempt)",
            "updated_at = :now",
            "expires_at = :expires_at",
            "replays = :replays",
        ]
        names = {"#status": "status"}
        index = self._status_index(message.merchant_id, message.delivery_id, status)
        values: dict[str, Any] = {
            ":status": status.value,
            ":empty": [],
            ":attempt": [_attempt_item(attempt)],
            ":now": isoformat(now),
            ":expires_at": self._expires_at(now),
            ":replays": message.replays,
        }
        removes = []
        if index:
            sets += ["GSI1PK = :gsi1pk", "GSI1SK = :gsi1sk"]
            values.update({":gsi1pk": index["GSI1PK"], ":gsi1sk": index["GSI1SK"]})
        else:
            removes += ["GSI1PK", "GSI1SK"]
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
        if dead_letter is not None and status == DeliveryStatus.DEAD:
            sets.append("dead_letter = :dead_letter")
            values[":dead_letter"] = dead_letter
        elif status != DeliveryStatus.DEAD:
            removes.append("dead_letter")
        key = delivery_key(message.merchant_id, message.delivery_id)
        removal = " REMOVE " + ", ".join(removes) if removes else ""
        try:
            self._table.update(
                key,
                update="SET " + ", ".join(sets) + removal,
                names=names,
                values=values,
                condition="attribute_exists(PK)",
            )
            return
        except ConditionFailed:
            pass
        sets.append("created_at = if_not_exists(created_at, :created_at)")
        values[":created_at"] = isoformat(message.routed_at)
        for position, (name, value) in enumerate(_identity(message, test=False).items()):
            if value is not None:
                names[f"#i{position}"] = name
                values[f":i{position}"] = value
                sets.append(f"#i{position} = :i{position}")
        self._table.update(key, update="SET " + ", ".join(sets) + removal, names=names, values=values)

    def record_test(
        self, message: DeliveryMessage, attempt: AttemptLog, status: DeliveryStatus, *, now: datetime
    ) -> None:
        """A test event's delivery: tried once, written whole (PutItem)."""
        self._table.put(
            {
                **delivery_key(message.merchant_id, message.delivery_id).as_dict(),
                **_identity(message, test=True),
                **self._status_index(message.merchant_id, message.delivery_id, status),
                "status": status.value,
                "attempts": [_attempt_item(attempt)],
                "replays": 0,
                "created_at": isoformat(message.routed_at),
                "updated_at": isoformat(now),
                "expires_at": self._expires_at(now),
            }
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
                    tx.update(
                        delivery_key(merchant_id, delivery_id),
                        label=delivery_id,
                        update="SET #status = :pending, "
                        "updated_at = :now, replays = if_not_exists(replays, :zero) + :one "
                        "REMOVE next_attempt_at, dead_reason, GSI1PK, GSI1SK",
                        condition="attribute_exists(PK)",
                        names={"#status": "status"},
                        values={
                            ":pending": DeliveryStatus.PENDING.value,
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

    def dead_letters(self, merchant_id: str, *, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """The merchant's indexed dead letters, newest first (Query on GSI1, its own partition: no
        other merchant's letters are read, held or delayed). Returns the items and whether more remain."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        pk = delivery_status_gsi1pk(merchant_id, DeliveryStatus.DEAD.value)
        while len(items) < limit:
            page = self._table.query(
                pk, sk_prefix="D#", index=GSI1, limit=limit - len(items), cursor=cursor, newest_first=True
            )
            items.extend(item for item in page.items if isinstance(item.get("dead_letter"), dict))
            cursor = page.next_cursor
            if cursor is None:
                return items, False
        return items, True

    def claim_dead(self, merchant_id: str, delivery_ids: list[str], *, now: datetime) -> list[str]:
        """Move dead letters back to ``pending`` (condition: still ``dead``), one transaction per
        100; returns the ids claimed. Two concurrent replays never both claim one letter."""
        claimed: list[str] = []
        for start in range(0, len(delivery_ids), _TX_ITEMS):
            remaining = delivery_ids[start : start + _TX_ITEMS]
            for _ in range(8):
                if not remaining:
                    break
                tx = self._table.transaction()
                for delivery_id in remaining:
                    tx.update(
                        delivery_key(merchant_id, delivery_id),
                        label=delivery_id,
                        update="SET #status = :pending, "
                        "updated_at = :now, replays = if_not_exists(replays, :zero) + :one "
                        "REMOVE next_attempt_at, dead_reason, dead_letter, GSI1PK, GSI1SK",
                        condition="#status = :dead",
                        names={"#status": "status"},
                        values={
                            ":pending": DeliveryStatus.PENDING.value,
                            ":dead": DeliveryStatus.DEAD.value,
                            ":now": isoformat(now),
                            ":zero": 0,
                            ":one": 1,
                        },
                    )
                try:
                    tx.commit()
                    claimed.extend(remaining)
                    break
                except ConditionFailed as exc:
                    remaining = [d for d in remaining if d not in exc.labels]
                except WriteConflict:
                    time.sleep(random.uniform(0, 0.02))  # noqa: S311 - jitter, not security
        return claimed

    def restore_dead(self, merchant_id: str, item: dict[str, Any], *, now: datetime) -> None:
        """Put a claimed dead letter back (its replay could not be queued): one UpdateItem."""
        delivery_id = str(item["delivery_id"])
        index = self._status_index(merchant_id, delivery_id, DeliveryStatus.DEAD)
        self._table.update(
            delivery_key(merchant_id, delivery_id),
            update="SET #status = :dead, GSI1PK = :gsi1pk, GSI1SK = :gsi1sk, updated_at = :now, "
            "dead_letter = :dead_letter, dead_reason = :reason, replays = :replays",
            condition="attribute_exists(PK)",
            names={"#status": "status"},
            values={
                ":dead": DeliveryStatus.DEAD.value,
                ":gsi1pk": index["GSI1PK"],
                ":gsi1sk": index["GSI1SK"],
                ":now": isoformat(now),
                ":dead_letter": item["dead_letter"],
                ":reason": item.get("dead_reason") or "-",
                ":replays": item.get("replays", 0),
            },
        )

    def get_items(self, merchant_id: str, delivery_ids: Iterable[str]) -> list[dict[str, Any]]:
        keys = [delivery_key(merchant_id, d) for d in dict.fromkeys(delivery_ids)]
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH_GET):
            found.extend(self._table.batch_get(keys[start : start + _BATCH_GET], consistent=True).values())
        return found

    def page(
        self, merchant_id: str, *, status: DeliveryStatus | None, limit: int, cursor: str | None
    ) -> Page[DeliveryRecord]:
        """Newest first: the merchant's log (one Query), a status GSI1 lists (one Query), or another
        status filtered from the log (a Query per ``limit`` items read, at most ``_FILTERED_QUERIES``;
        a page that is still short carries the cursor to read on)."""
        if status is not None and status in INDEXED:
            pk, index = delivery_status_gsi1pk(merchant_id, status.value), GSI1
            key_attrs, partition_attr = {"PK", "SK", "GSI1PK", "GSI1SK"}, "GSI1PK"
        else:
            pk, index, key_attrs = deliveries_pk(merchant_id), None, {"PK", "SK"}
            partition_attr = "PK"
        if cursor is not None:
            # A cursor of the other list would name a valid partition but the wrong key shape.
            decoded = decode_cursor(cursor, partition_attr=partition_attr, partition_value=pk)
            if set(decoded) != key_attrs:
                raise invalid_cursor()
        if status is None or index is not None:
            page = self._table.query(
                pk, sk_prefix="D#", index=index, limit=limit, cursor=cursor, newest_first=True
            )
            return Page([parse_delivery(item) for item in page.items], page.next_cursor)
        items: list[dict[str, Any]] = []
        for _ in range(_FILTERED_QUERIES):
            page = self._table.query(
                pk,
                sk_prefix="D#",
                limit=limit - len(items),
                cursor=cursor,
                newest_first=True,
                filter_attr=("status", [status.value]),
            )
            items.extend(page.items)
            cursor = page.next_cursor
            if cursor is None or len(items) >= limit:
                break
        return Page([parse_delivery(item) for item in items], cursor)

    def get_many(self, merchant_id: str, delivery_ids: Iterable[str]) -> dict[str, DeliveryRecord]:
        keys = [delivery_key(merchant_id, d) for d in dict.fromkeys(delivery_ids)]
        found: dict[Key, dict[str, Any]] = {}
        for start in range(0, len(keys), _BATCH_GET):
            found.update(self._table.batch_get(keys[start : start + _BATCH_GET], consistent=False))
        return {str(item["delivery_id"]): parse_delivery(item) for item in found.values()}
