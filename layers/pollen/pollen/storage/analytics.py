"""Rollup items and their proof of what they counted: folding contributions exactly once, reading a
range in one Query.

Per merchant, one ``TransactWriteItems`` per stream batch holds the proof for each contribution
(written only if absent) and **one** ``ADD`` per local day touched, plus one on the running ``TOTAL``
(outstanding coins). The proof is a 12-character token of the fact's identity in the item of the
minute of its ``at`` (a time only that fact has: its event's ULID, the one order image that first
had data), one update per minute the batch touches, on the condition that the item holds none of its
tokens; a fact without such a time gets a marker item of its own. A token or marker that already
exists cancels the transaction; those contributions are dropped and the rest committed again, so
redelivery, retries, split batches and replays add nothing twice. The proof lives beside, never in,
the day item, so a busy day is written once per batch whatever its volume.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pollen.domain.analytics import Contribution, Number
from pollen.domain.values import value as value_class
from pollen.storage.errors import ConditionFailed, WriteConflict
from pollen.storage.keys import (
    Key,
    rollup_day_key,
    rollup_job_key,
    rollup_marker_key,
    rollup_pk,
    rollup_seen_key,
    rollup_total_key,
    tracked_day_key,
    tracked_id_key,
)
from pollen.storage.table import Table
from pollen.storage.transactions import MAX_ITEMS, Transaction

ROLLUP_ENTITY = "rollup"
SEEN_ENTITY = "rollup_seen"
SEEN_SECONDS = 10  # facts of one 10-second slice share an item: ~80 tokens (8 facts a second) per KB
SEEN_PER_ITEM = 100  # tokens one condition names: the expression stays under DynamoDB's 4 KB
COUNTER_PREFIX = "n:"
MAX_ATTEMPTS = 12
TRACK_KEEP = timedelta(days=2)


@dataclass
class ApplyResult:
    applied: int = 0
    duplicates: int = 0
    transactions: int = 0


def _counter_update(
    counters: dict[str, Number], now: datetime, extra: dict[str, Any]
) -> tuple[str, dict[str, str], dict[str, Any]]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds: list[str] = []
    for i, (name, value) in enumerate(sorted(counters.items())):
        names[f"#c{i}"] = COUNTER_PREFIX + name
        values[f":c{i}"] = value
        adds.append(f"#c{i} :c{i}")
    sets = ["#entity = :entity", "#updated = :updated"]
    names.update({"#entity": "entity", "#updated": "updated_at"})
    values.update({":entity": ROLLUP_ENTITY, ":updated": now.isoformat()})
    for i, (name, value) in enumerate(extra.items()):
        names[f"#x{i}"] = name
        values[f":x{i}"] = value
        sets.append(f"#x{i} = :x{i}")
    update = f"SET {', '.join(sets)}"
    if adds:
        update += f" ADD {', '.join(adds)}"
    return update, names, values


def counters_of(item: dict[str, Any]) -> dict[str, Number]:
    return {
        k[len(COUNTER_PREFIX) :]: v
        for k, v in item.items()
        if k.startswith(COUNTER_PREFIX) and isinstance(v, int | Decimal) and v != 0
    }


class RollupStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ---- folding the stream -----------------------------------------------------------------------

    def apply(self, merchant_id: str, contributions: Iterable[Contribution], now: datetime) -> ApplyResult:
        """Fold ``contributions`` into the merchant's days, each identity at most once, ever."""
        result = ApplyResult()
        pending: dict[str, Contribution] = {}
        for c in contributions:
            if c.identity in pending:
                result.duplicates += 1  # the same fact twice in one batch
            elif c.counters:
                pending[c.identity] = c
        for chunk in _chunks(list(pending.values())):
            self._apply_chunk(merchant_id, chunk, now, result)
        return result

    def _apply_chunk(
        self, merchant_id: str, chunk: list[Contribution], now: datetime, result: ApplyResult
    ) -> None:
        left = {c.identity: c for c in chunk}
        for n in range(MAX_ATTEMPTS):
            if not left:
                return
            tx = self.table.transaction()
            markers = self._stage_seen(tx, merchant_id, left, now)
            by_day: dict[date, dict[str, Number]] = {}
            net = 0
            for c in left.values():
                into = by_day.setdefault(c.day, {})
                for name, value in c.counters.items():
                    into[name] = into.get(name, 0) + value
                net += int(c.counters.get("coins_net", 0))
            for day, counters in sorted(by_day.items()):
                update, names, values = _counter_update(
                    {k: v for k, v in counters.items() if v != 0},
                    now,
                    {"merchant_id": merchant_id, "day": day.isoformat()},
                )
                tx.update(
                    rollup_day_key(merchant_id, day.isoformat()),
                    label=f"day-{day.isoformat()}",
                    update=update,
                    names=names,
                    values=values,
                )
            if net:
                update, names, values = _counter_update({"coins_net": net}, now, {"merchant_id": merchant_id})
                tx.update(
                    rollup_total_key(merchant_id), label="total", update=update, names=names, values=values
                )
            try:
                tx.commit()
            except ConditionFailed as exc:
                seen = _already_counted(exc, markers)
                if not seen:
                    raise
                for identity in seen:
                    del left[identity]
                result.duplicates += len(seen)
                continue
            except WriteConflict:
                time.sleep(random.uniform(0, 0.005 * 2 ** min(n, 6)))  # noqa: S311 - jitter
                continue
            result.applied += len(left)
            result.transactions += 1
            return
        raise WriteConflict()

    def _stage_seen(
        self, tx: Transaction, merchant_id: str, left: dict[str, Contribution], now: datetime
    ) -> dict[str, dict[str, str]]:
        """Stage the proof that each of ``left`` is counted, written only if none was before: per
        minute of the facts' ``at``, one update adding their tokens to that minute's item on the
        condition that it holds none of them; a fact without ``at`` gets a marker item of its own.
        Returns, per label, the identities it stands for (by token; a marker's by its own label)."""
        staged: dict[str, dict[str, str]] = {}
        minutes: dict[str, dict[str, Contribution]] = {}
        for identity, c in left.items():
            token = seen_token(identity)
            if c.at is not None and token not in minutes.setdefault(_minute(c.at), {}):
                minutes[_minute(c.at)][token] = c
                continue
            label = f"m{len(staged)}"  # no time of its own (or, at 2^-72, a token twice in a minute)
            staged[label] = {label: identity}
            tx.put(
                {
                    **rollup_marker_key(merchant_id, identity).as_dict(),
                    "entity": "rollup_marker",
                    "identity": identity,
                    "day": c.day.isoformat(),
                    "expires_at": int((now + timedelta(days=c.keep_days)).timestamp()),
                },
                label=label,
                condition="attribute_not_exists(PK)",
            )
        for minute, facts in sorted(minutes.items()):
            if not facts:
                continue
            label = f"seen-{minute}"
            staged[label] = {token: c.identity for token, c in facts.items()}
            keep = max(c.keep_days for c in facts.values())
            names = {"#ids": "ids", "#entity": "entity", "#exp": "expires_at"}
            values: dict[str, Any] = {
                ":ids": set(facts),
                ":entity": SEEN_ENTITY,
                ":exp": int((now + timedelta(days=keep)).timestamp()),
            }
            checks = []
            for i, token in enumerate(sorted(facts)):
                values[f":t{i}"] = token
                checks.append(f"NOT contains(#ids, :t{i})")
            tx.update(
                rollup_seen_key(merchant_id, minute),
                label=label,
                update="ADD #ids :ids SET #entity = :entity, #exp = :exp",
                condition=" AND ".join(checks),
                names=names,
                values=values,
            )
        return staged

    # ---- reading ----------------------------------------------------------------------------------

    def read_from(self, merchant_id: str, start: date) -> tuple[dict[date, dict[str, Number]], int]:
        """Every day item from ``start`` on and the running total: one Query (two past 1 MB)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.table.query(rollup_pk(merchant_id), sk_from=f"D#{start.isoformat()}", cursor=cursor)
            items.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        days: dict[date, dict[str, Number]] = {}
        total = 0
        for item in items:
            if item["SK"] == "TOTAL":
                total = int(item.get(COUNTER_PREFIX + "coins_net", 0))
            elif str(item["SK"]).startswith("D#"):
                days[date.fromisoformat(str(item["SK"])[2:])] = counters_of(item)
        return days, total

    # ---- rebuild ----------------------------------------------------------------------------------

    def replace_day(self, merchant_id: str, day: date, counters: dict[str, Number], now: datetime) -> None:
        """Set one day to ``counters`` (its old counters removed) and move the total by the change in
        its net coins: one transaction, guarded by the day's old image."""
        for n in range(MAX_ATTEMPTS):
            key = rollup_day_key(merchant_id, day.isoformat())
            old = self.table.get(key, consistent=True)
            old_counters = counters_of(old) if old else {}
            diff = int(counters.get("coins_net", 0)) - int(old_counters.get("coins_net", 0))
            tx = self.table.transaction()
            item = {
                **key.as_dict(),
                "entity": ROLLUP_ENTITY,
                "merchant_id": merchant_id,
                "day": day.isoformat(),
                "updated_at": now.isoformat(),
                "rebuilt_at": now.isoformat(),
                **{COUNTER_PREFIX + k: v for k, v in counters.items() if v != 0},
            }
            if old is None:
                tx.put(item, label="day", condition="attribute_not_exists(PK)")
            else:
                tx.put(
                    item,
                    label="day",
                    condition="#u = :u",
                    names={"#u": "updated_at"},
                    values={":u": old.get("updated_at")},
                )
            if diff:
                update, names, values = _counter_update(
                    {"coins_net": diff}, now, {"merchant_id": merchant_id}
                )
                tx.update(
                    rollup_total_key(merchant_id), label="total", update=update, names=names, values=values
                )
            try:
                tx.commit()
                return
            except (ConditionFailed, WriteConflict):
                time.sleep(random.uniform(0, 0.005 * 2 ** min(n, 6)))  # noqa: S311 - jitter
        raise WriteConflict()

    def get_job(self, merchant_id: str, job_id: str) -> dict[str, Any] | None:
        return self.table.get(rollup_job_key(merchant_id, job_id), consistent=True)

    def put_job(self, merchant_id: str, job: dict[str, Any], expected_version: int | None) -> None:
        item = {**rollup_job_key(merchant_id, str(job["job_id"])).as_dict(), "entity": "rollup_job", **job}
        if expected_version is None:
            self.table.put(item, condition="attribute_not_exists(PK)", label="job")
        else:
            self.table.put(
                item,
                condition="#v = :v",
                names={"#v": "version"},
                values={":v": expected_version},
                label="job",
            )


def seen_token(identity: str) -> str:
    """A fact's identity in its minute's item: 12 characters (72 bits of BLAKE2b)."""
    digest = hashlib.blake2b(identity.encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _minute(at: datetime) -> str:
    """The ``SEEN_SECONDS`` slice of time ``at`` falls in (UTC), as ``YYYYMMDDHHMMSS`` of its start."""
    aware = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    second = aware.second - aware.second % SEEN_SECONDS
    return aware.replace(second=second).strftime("%Y%m%d%H%M%S")


def _already_counted(exc: ConditionFailed, staged: dict[str, dict[str, str]]) -> list[str]:
    """The identities a cancelled fold found counted: a marker that exists, a token its minute holds."""
    counted: list[str] = []
    for label in exc.labels:
        if label not in staged:
            continue
        if label.startswith("seen-"):
            held = set((exc.items.get(label) or {}).get("ids") or ())
            counted.extend(identity for token, identity in staged[label].items() if token in held)
        else:
            counted.extend(staged[label].values())
    return counted


def _chunks(contributions: list[Contribution]) -> list[list[Contribution]]:
    """Groups that fit one transaction (a marker or a minute's item, one item per day, the total)
    and keep each minute's condition short (at most ``SEEN_PER_ITEM`` tokens)."""
    chunks: list[list[Contribution]] = []
    current: list[Contribution] = []
    days: set[date] = set()
    minutes: dict[str, int] = {}
    markers = 0
    for c in contributions:
        minute = _minute(c.at) if c.at is not None else None
        grown_markers = markers + (minute is None)
        grown_minutes = len(minutes) + (minute is not None and minute not in minutes)
        items = grown_markers + grown_minutes + len(days | {c.day}) + 1
        crowded = minute is not None and minutes.get(minute, 0) >= SEEN_PER_ITEM
        if current and (items > MAX_ITEMS or crowded):
            chunks.append(current)
            current, days, minutes, markers = [], set(), {}, 0
        current.append(c)
        days.add(c.day)
        if minute is None:
            markers += 1
        else:
            minutes[minute] = minutes.get(minute, 0) + 1
    if current:
        chunks.append(current)
    return chunks


# ---- tracked events -------------------------------------------------------------------------------


@value_class
class TrackedSeen:
    """What the table knows of a batch's client ids: those seen before, and per customer the ids
    recorded today."""

    anonymous_seen: set[str]
    customer_ids: dict[str, set[str]]


class TrackedStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def seen(self, merchant_id: str, day: str, anonymous: list[str], customers: list[str]) -> TrackedSeen:
        """One BatchGetItem: the anonymous ids' markers and each customer's tracked ids of ``day``."""
        keys: list[Key] = [tracked_id_key(merchant_id, i) for i in anonymous]
        keys += [tracked_day_key(merchant_id, c, day) for c in customers]
        found = self.table.batch_get(keys) if keys else {}
        seen_anon = {i for i in anonymous if tracked_id_key(merchant_id, i) in found}
        per_customer = {
            c: set(found.get(tracked_day_key(merchant_id, c, day), {}).get("ids", set())) for c in customers
        }
        return TrackedSeen(seen_anon, per_customer)

    def record(
        self,
        merchant_id: str,
        *,
        day: str,
        anonymous: list[str],
        by_customer: dict[str, list[str]],
        known: dict[str, int],
        outbox_item: dict[str, Any],
        now: datetime,
    ) -> None:
        """One TransactWriteItems: the anonymous ids (only if new), each customer's new ids (only if
        none was recorded meanwhile and the cap still holds) and the outbox event carrying them."""
        expires = int((now + TRACK_KEEP).timestamp())
        tx = self.table.transaction()
        for i, client_id in enumerate(anonymous):
            tx.put(
                {
                    **tracked_id_key(merchant_id, client_id).as_dict(),
                    "entity": "tracked_id",
                    "expires_at": expires,
                },
                label=f"anon-{i}",
                condition="attribute_not_exists(PK)",
            )
        for i, (customer_id, ids) in enumerate(sorted(by_customer.items())):
            values: dict[str, Any] = {":ids": set(ids), ":exp": expires, ":known": known.get(customer_id, 0)}
            checks = []
            for j, client_id in enumerate(ids):
                values[f":i{j}"] = client_id
                checks.append(f"NOT contains(#ids, :i{j})")
            # Unchanged since read (same number of ids) keeps the cap exact under concurrent batches.
            guard = "(attribute_not_exists(#ids) AND :known = :zero) OR size(#ids) = :known"
            values[":zero"] = 0
            tx.update(
                tracked_day_key(merchant_id, customer_id, day),
                label=f"customer-{i}",
                update="ADD #ids :ids SET #exp = :exp, #entity = :entity",
                condition=f"({guard}) AND {' AND '.join(checks)}",
                names={"#ids": "ids", "#exp": "expires_at", "#entity": "entity"},
                values={**values, ":entity": "tracked_day"},
            )
        tx.put(outbox_item, label="tracked-event")
        tx.commit()


# ---- rebuild --------------------------------------------------------------------------------------


class RebuildStore:
    """The rebuild's reads of the source of truth (a paged, filtered Scan: only this merchant's
    items are kept) and its per-page staging items, written with the job's progress atomically."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def scan_page(
        self, merchant_id: str, cursor: dict[str, Any] | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None, int]:
        """One Scan page of the table: this merchant's items, the next cursor and items examined."""
        from pollen.storage import client  # noqa: PLC0415
        from pollen.storage.codec import deserialize, serialize_value  # noqa: PLC0415
        from pollen.storage.keys import merchant_prefix  # noqa: PLC0415

        args: dict[str, Any] = {
            "TableName": self.table.name,
            "Limit": limit,
            "FilterExpression": "begins_with(PK, :m)",
            "ExpressionAttributeValues": {":m": serialize_value(merchant_prefix(merchant_id))},
        }
        if cursor:
            args["ExclusiveStartKey"] = cursor
        response = client.dynamodb().scan(**args)
        items = [deserialize(i) for i in response.get("Items", [])]
        return items, response.get("LastEvaluatedKey"), int(response.get("ScannedCount", 0))

    def commit_page(
        self,
        merchant_id: str,
        job: dict[str, Any],
        page: int,
        staged: dict[str, dict[str, Number]],
        expected_version: int,
    ) -> None:
        """The page's counters and the job's new position, together (a retried page rewrites both)."""
        import json  # noqa: PLC0415

        key = rollup_job_key(merchant_id, f"{job['job_id']}")
        tx = self.table.transaction()
        tx.put(
            {
                "PK": key.pk,
                "SK": f"{key.sk}#P#{page:08d}",
                "entity": "rollup_job_page",
                "counters": json.dumps(staged, default=str, sort_keys=True),
                "expires_at": job.get("expires_at"),
            },
            label="page",
        )
        tx.put(
            {**key.as_dict(), "entity": "rollup_job", **job},
            label="job",
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": expected_version},
        )
        tx.commit()

    def staged(self, merchant_id: str, job_id: str) -> dict[str, dict[str, Number]]:
        """Every page's counters summed per day."""
        import json  # noqa: PLC0415

        key = rollup_job_key(merchant_id, job_id)
        summed: dict[str, dict[str, Number]] = {}
        for item in self.table.query_all(key.pk, sk_prefix=f"{key.sk}#P#", consistent=True):
            for day, counters in json.loads(str(item["counters"])).items():
                into = summed.setdefault(day, {})
                for name, value in counters.items():
                    number = Decimal(str(value))
                    into[name] = into.get(name, 0) + (
                        int(number) if number == number.to_integral_value() else number
                    )
        return summed

    def day(self, merchant_id: str, day: date) -> dict[str, Number]:
        item = self.table.get(rollup_day_key(merchant_id, day.isoformat()), consistent=True)
        return counters_of(item) if item else {}
