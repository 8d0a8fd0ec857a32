"""Local state that survives a restart of ``make dev``: a snapshot of what moto holds, as data.

The snapshot (``.pollen/state.json``) holds every table's items in DynamoDB JSON, the tail of each
table's stream that some poller has not processed yet (with each poller's checkpoint), every queued
message with its receive count and remaining delay or visibility timeout, and the local clock's
offset. A restarted stack creates the template's resources as usual, loads the snapshot into them
before anything runs, and starts each stream poller after its checkpoint: same keys, balances,
subscriptions, pending deliveries and dead letters; no event delivered twice by the restart.

Why a snapshot of data and not moto's own tools: moto's recorder replays every recorded request,
reads and pollers' polls included, so a restart would take longer with every hour of use and
replay calls whose answers depended on timing; pickling moto's backends would tie the file to
moto's private classes (an upgrade would make it unloadable) and drag in locks and threads. The
items and messages are what matters, and they have a stable public shape.

The snapshot is taken under the moto locks (:func:`infra.moto_atomic.frozen`), so it is one
consistent moment across tables and queues, and written atomically (a temporary file, fsync'd,
renamed over the old one): a crash mid-write leaves the previous snapshot, never half of one.
:class:`Autosave` writes it a second after changes and once more on a clean stop.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamRecord
from moto.sqs.models import Message, sqs_backends

from infra.aws_resources import LocalResources
from infra.moto_atomic import changes, frozen

log = logging.getLogger("pollen.local.state")

FORMAT = 1
SAVE_INTERVAL_SECONDS = 1.0


class StateError(RuntimeError):
    """The snapshot exists but cannot be used."""


@dataclass(frozen=True)
class Restored:
    saved_at: str
    items: int
    messages: int
    clock_offset_seconds: float
    checkpoints: dict[str, dict[str, str]]


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__base64__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not part of the local state")


def _decode(value: dict[str, Any]) -> Any:
    if set(value) == {"__base64__"}:
        return base64.b64decode(value["__base64__"])
    if set(value) == {"__datetime__"}:
        return datetime.fromisoformat(value["__datetime__"])
    return value


def _now_ms() -> float:
    return time.time() * 1000


class LocalState:
    """Saves and restores the data moto holds for ``resources`` (one account and region)."""

    def __init__(self, path: Path, resources: LocalResources) -> None:
        self.path = path
        self.resources = resources
        self._writing = threading.Lock()

    def _dynamodb(self) -> Any:
        return dynamodb_backends[self.resources.account_id][self.resources.region]

    def _sqs(self) -> Any:
        return sqs_backends[self.resources.account_id][self.resources.region]

    # ---- Capture ---------------------------------------------------------------------------------

    def capture(
        self,
        checkpoints: Mapping[str, Mapping[str, str]],
        stream_readers: Mapping[str, list[str]],
        clock_offset_seconds: float,
    ) -> dict[str, Any]:
        """The whole state at one moment. ``stream_readers``: table logical id -> poller names;
        records every reader of a table has processed are left out."""
        now_ms = _now_ms()
        tables: dict[str, Any] = {}
        queues: dict[str, Any] = {}
        with frozen():
            for logical_id, info in self.resources.tables.items():
                table = self._dynamodb().tables[info.name]
                tables[logical_id] = {
                    "items": _table_items(table),
                    "stream": _stream_tail(
                        table, [checkpoints.get(name) for name in stream_readers.get(logical_id, [])]
                    ),
                }
            for logical_id, queue_info in self.resources.queues.items():
                queue = self._sqs().queues[queue_info.name]
                queues[logical_id] = [_message_state(message, now_ms) for message in list(queue._messages)]
        return {
            "format": FORMAT,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "clock_offset_seconds": clock_offset_seconds,
            "checkpoints": {name: dict(shards) for name, shards in checkpoints.items()},
            "tables": tables,
            "queues": queues,
        }

    def save(self, snapshot: dict[str, Any]) -> None:
        """Write atomically: the old file stays until the new one is complete on disk."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(snapshot, default=_encode, separators=(",", ":"))
        partial = self.path.with_name(f".{self.path.name}.partial")
        with self._writing:
            with partial.open("w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            partial.replace(self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    # ---- Restore ---------------------------------------------------------------------------------

    def load(self) -> dict[str, Any] | None:
        """The saved snapshot, None when there is none; StateError when it cannot be used."""
        if not self.path.exists():
            return None
        try:
            snapshot = json.loads(self.path.read_text(encoding="utf-8"), object_hook=_decode)
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.path} cannot be read ({exc}); `make dev-reset` starts clean") from exc
        if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
            raise StateError(f"{self.path} is not a format {FORMAT} snapshot; `make dev-reset` starts clean")
        return snapshot

    def restore(self, snapshot: Mapping[str, Any]) -> Restored:
        """Load ``snapshot`` into the (new, empty) resources, before any function or poller runs."""
        items = messages = 0
        now_ms = _now_ms()
        with frozen():
            for logical_id, saved in snapshot.get("tables", {}).items():
                info = self.resources.tables.get(logical_id)
                if info is None:
                    log.warning("the saved table %s is not in the template any more; skipped", logical_id)
                    continue
                items += _restore_table(self._dynamodb().tables[info.name], saved)
            for logical_id, saved_messages in snapshot.get("queues", {}).items():
                queue_info = self.resources.queues.get(logical_id)
                if queue_info is None:
                    log.warning("the saved queue %s is not in the template any more; skipped", logical_id)
                    continue
                queue = self._sqs().queues[queue_info.name]
                for saved in saved_messages:
                    queue._messages.append(_message(saved, now_ms))
                    messages += 1
        return Restored(
            saved_at=str(snapshot.get("saved_at", "?")),
            items=items,
            messages=messages,
            clock_offset_seconds=float(snapshot.get("clock_offset_seconds", 0)),
            checkpoints={name: dict(shards) for name, shards in snapshot.get("checkpoints", {}).items()},
        )


def _table_items(table: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for value in table.items.values():
        stored = value.values() if isinstance(value, dict) else [value]
        items.extend(item.to_json()["Attributes"] for item in stored)
    return items


def _stream_tail(table: Any, checkpoints: list[Mapping[str, str] | None]) -> dict[str, Any] | None:
    shard = table.stream_shard
    if shard is None:
        return None
    positions = [int(c[shard.id]) if c and shard.id in c else None for c in checkpoints]
    first = int(shard.starting_sequence_number)
    if positions and None not in positions:
        first = max(first, min(p for p in positions if p is not None) + 1)
    skip = first - int(shard.starting_sequence_number)
    return {
        "shard_id": shard.id,
        "starting_sequence_number": str(first),
        "records": [record.to_json() for record in shard.items[skip:]],
    }


def _restore_table(table: Any, saved: Mapping[str, Any]) -> int:
    shard = table.stream_shard
    table.stream_shard = None  # loading is not a change: no stream records
    try:
        table.items.clear()
        for attributes in saved.get("items", []):
            table.put_item(attributes)
    finally:
        table.stream_shard = shard
    stream = saved.get("stream")
    if shard is not None and stream:
        shard.starting_sequence_number = int(stream["starting_sequence_number"])
        records = []
        for record in stream["records"]:
            restored: Any = StreamRecord.__new__(StreamRecord)  # to_json() returns .record as saved
            restored.record = record
            records.append(restored)
        shard.items = records
    return len(saved.get("items", []))


def _message_state(message: Any, now_ms: float) -> dict[str, Any]:
    return {
        "id": message.id,
        "body": message.body,
        "message_attributes": message.message_attributes,
        "system_attributes": message.system_attributes,
        "receive_count": message.approximate_receive_count,
        "sent_timestamp": message.sent_timestamp,
        "first_receive_timestamp": message.approximate_first_receive_timestamp,
        "visible_in_ms": max(0.0, float(message.visible_at) - now_ms),
        "delayed_in_ms": max(0.0, float(message.delayed_until) - now_ms),
        "group_id": message.group_id,
        "deduplication_id": message.deduplication_id,
    }


def _message(saved: Mapping[str, Any], now_ms: float) -> Any:
    message = Message(saved["id"], saved["body"], saved.get("system_attributes") or None)
    message.message_attributes = dict(saved.get("message_attributes") or {})
    message.approximate_receive_count = int(saved.get("receive_count", 0))
    message.sent_timestamp = saved.get("sent_timestamp")
    message.approximate_first_receive_timestamp = saved.get("first_receive_timestamp")
    message.visible_at = now_ms + float(saved.get("visible_in_ms", 0))
    message.delayed_until = now_ms + float(saved.get("delayed_in_ms", 0))
    message.group_id = saved.get("group_id")
    message.deduplication_id = saved.get("deduplication_id")
    return message


class Autosave:
    """Saves the state about a second after it changed (moto writes, poller progress, the clock),
    and on :meth:`stop`. ``snapshot`` captures; a failed save is logged and retried next time."""

    def __init__(
        self, state: LocalState, snapshot: Callable[[], dict[str, Any]], *, fingerprint: Callable[[], Any]
    ) -> None:
        self.state = state
        self.snapshot = snapshot
        self.fingerprint = fingerprint
        self.saves = 0
        self._lock = threading.Lock()
        self._saved: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autosave", daemon=True)

    def _current(self) -> Any:
        return (changes.count, self.fingerprint())

    def save_now(self) -> None:
        with self._lock:  # one capture-and-write at a time, the newest last
            current = self._current()
            self.state.save(self.snapshot())
            self._saved = current
            self.saves += 1

    def start(self) -> None:
        self._saved = self._current()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SAVE_INTERVAL_SECONDS):
            if self._current() == self._saved:
                continue
            try:
                self.save_now()
            except Exception:
                log.exception("could not save the local state to %s; retrying", self.state.path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.save_now()
