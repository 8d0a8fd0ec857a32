"""Make moto's DynamoDB and SQS behave like the services under concurrency: atomic, serializable,
thread-safe; and roll a failed transaction back in place.

* **One lock for DynamoDB and DynamoDB Streams.** moto checks a transaction's conditions and then
  applies its writes without a lock, so two threads could both pass ``attribute_not_exists`` and both
  write (a race real DynamoDB never allows); and its reads iterate the very dicts writes grow, so a
  Query beside a PutItem could fail with "dictionary changed size during iteration". Every public
  method of both backends runs under one re-entrant lock, so every call sees a whole state.
* **Failed transactions roll back in place.** moto backs a transaction up by deep-copying every table
  it touches and, when the transaction fails, puts the *copies* in place of the tables. The copy
  carries a copy of the table's stream shard, so every shard iterator handed out before (the local
  stack's stream pollers hold one each) keeps reading the orphaned original shard: from the first
  cancelled transaction on, stream consumers saw nothing new, for good. Here no table is ever copied
  or replaced: before a transaction runs, the items it names and the length of each stream shard are
  saved, and on failure exactly those are restored (the stream records the failed writes appended
  are dropped, as DynamoDB never emits them). A transaction costs a copy of its own items, not of
  the whole table.
* **SQS calls are serialised too**, except the long-poll wait of ``ReceiveMessage``, which waits
  outside the lock (a receiver waiting for messages does not stop a sender), and ends when a delayed
  or in-flight message becomes receivable, as SQS's does, not at the next whole second.

:func:`make_sqs_receive_linear` removes a cost of moto's SQS: each message received recomputes every
attribute of its queue (counting all its messages) to read the retention period, so a receive costs
time in the square of the queue's length. The retention is read directly instead; same answer.

moto internals relied upon (``tests/integration/test_moto_atomic.py`` asserts them, so an upgrade
that changes them fails with a clear message): the module-level ``copy`` of
``moto.dynamodb.models``; ``DynamoDBBackend.tables``, ``get_keys_value`` and
``transact_write_items``; ``Table.items`` (``{hash: Item}`` or ``{hash: {range: Item}}``),
``hash_key_attr``, ``range_key_attr`` and ``stream_shard.items``; ``DynamoDBStreamsBackend
.shard_iterators``; ``SQSBackend.receive_message``, ``Queue.wait_for_messages``, ``Queue._messages`` and
``_messages_lock``, and ``Message.visible_at`` and ``delayed_until`` (milliseconds).
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import moto.dynamodb.models as moto_dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.sqs.models import Message, SQSBackend

_LOCK = threading.RLock()  # DynamoDB and DynamoDB Streams
_SQS_LOCK = threading.RLock()
_PATCHED = "__pollen_atomic__"
_WRITES = frozenset({"put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"})
MAX_SHARD_ITERATORS = 10_000  # moto keeps every iterator it hands out; older ones are dropped past this


class _Changes:
    """Counts DynamoDB and SQS calls that may change state (a snapshot is due when it moved)."""

    def __init__(self) -> None:
        self.count = 0

    def bump(self) -> None:
        self.count += 1


changes = _Changes()


@contextmanager
def frozen() -> Iterator[None]:
    """Hold every moto lock: no DynamoDB, Streams or SQS call runs until the block ends."""
    with _LOCK, _SQS_LOCK:
        yield


def _locked(method: Callable[..., Any], lock: threading.RLock, *, writes: bool) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            if writes:
                changes.bump()
            return method(*args, **kwargs)

    setattr(locked, _PATCHED, True)
    return locked


class _NoTableCopies:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: while a transaction runs, a
    "backup" of a table is the table itself, so moto's rollback (which puts the backup back) never
    replaces the table object. :class:`_Undo` restores the state instead."""

    def __init__(self) -> None:
        self._local = threading.local()

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if getattr(self._local, "active", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @contextmanager
    def active(self) -> Iterator[None]:
        self._local.active = True
        try:
            yield
        finally:
            self._local.active = False


_no_copies = _NoTableCopies()


class _Undo:
    """The items a transaction names and each stream's length, as they were before it ran."""

    def __init__(self, backend: DynamoDBBackend, transact_items: Any) -> None:
        self.items: dict[tuple[int, Any, Any], tuple[Table, Any, Any, Any]] = {}
        self.streams: dict[int, tuple[Table, int]] = {}
        for entry in transact_items if isinstance(transact_items, list) else []:
            if not isinstance(entry, dict) or len(entry) != 1:
                continue
            ((op_type, op),) = entry.items()
            table = backend.tables.get(str(op.get("TableName"))) if isinstance(op, dict) else None
            if table is None:
                continue
            try:
                if op_type == "Put":
                    keys = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        keys[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    keys = op["Key"]
                hash_key, range_key = backend.get_keys_value(table, keys)
            except Exception:  # noqa: S112 - moto refuses the same entry, before writing anything
                continue
            self.items[(id(table), hash_key, range_key)] = (
                table,
                hash_key,
                range_key,
                copy.deepcopy(_current(table, hash_key, range_key)),
            )
            if table.stream_shard is not None and id(table) not in self.streams:
                self.streams[id(table)] = (table, len(table.stream_shard.items))

    def restore(self) -> None:
        for table, hash_key, range_key, item in self.items.values():
            if table.range_key_attr is not None:
                bucket = table.items[hash_key]
                if item is None:
                    bucket.pop(range_key, None)
                    if not bucket:
                        table.items.pop(hash_key, None)
                else:
                    bucket[range_key] = item
            elif item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        for table, length in self.streams.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]


def _current(table: Table, hash_key: Any, range_key: Any) -> Any:
    """The stored item, read without creating entries (``Table.items`` is a defaultdict)."""
    if table.range_key_attr is None:
        return table.items.get(hash_key)
    bucket = table.items.get(hash_key)
    return bucket.get(range_key) if isinstance(bucket, dict) else None


def _transaction_in_place(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def transact(self: DynamoDBBackend, transact_items: Any, *args: Any, **kwargs: Any) -> Any:
        undo = _Undo(self, transact_items)
        try:
            with _no_copies.active():
                return method(self, transact_items, *args, **kwargs)
        except BaseException:
            undo.restore()
            raise

    return transact


def _bounded_iterators(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def get_records(self: DynamoDBStreamsBackend, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        iterators = self.shard_iterators
        if len(iterators) > MAX_SHARD_ITERATORS:
            for stale in list(iterators)[: len(iterators) // 2]:  # insertion order: the oldest first
                iterators.pop(stale, None)
        return result

    return get_records


def _public_methods(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, value in vars(cls).items():
        if not name.startswith("_") and inspect.isfunction(value):
            yield name, value


def make_dynamodb_writes_atomic() -> None:
    """Idempotent; patches the moto DynamoDB, Streams and SQS backend classes for the whole process.

    (The name predates the read locks, the in-place rollback and SQS; callers need only this one.)"""
    for name, method in _public_methods(DynamoDBBackend):
        if getattr(method, _PATCHED, False):
            continue
        wrapped = _transaction_in_place(method) if name == "transact_write_items" else method
        setattr(DynamoDBBackend, name, _locked(wrapped, _LOCK, writes=name in _WRITES))
    for name, method in _public_methods(DynamoDBStreamsBackend):
        if getattr(method, _PATCHED, False):
            continue
        wrapped = _bounded_iterators(method) if name == "get_records" else method
        setattr(DynamoDBStreamsBackend, name, _locked(wrapped, _LOCK, writes=False))
    moto_dynamodb_models.copy = _no_copies  # type: ignore[attr-defined,assignment]
    _make_sqs_thread_safe()


def _make_sqs_thread_safe() -> None:
    for name, method in _public_methods(SQSBackend):
        if getattr(method, _PATCHED, False):
            continue
        if name == "receive_message":
            setattr(SQSBackend, name, _receive_outside_lock(method))
        elif not name.startswith(("get_", "list_")):
            setattr(SQSBackend, name, _locked(method, _SQS_LOCK, writes=True))
        else:
            setattr(SQSBackend, name, _locked(method, _SQS_LOCK, writes=False))


def _receive_outside_lock(method: Callable[..., Any]) -> Callable[..., Any]:
    """``ReceiveMessage``: each attempt under the lock, without waiting; the long poll outside it."""

    @functools.wraps(method)
    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with _SQS_LOCK:
                result = method(self, queue_name, count, 0, visibility_timeout, *args, **kwargs)
                if result:
                    changes.bump()
            remaining = deadline - time.monotonic()
            if result or remaining <= 0:
                return result
            started = time.monotonic()
            queue = self.get_queue(queue_name)
            queue.wait_for_messages(min(1.0, remaining, _until_next_visible(queue)))  # type: ignore[arg-type]
            if time.monotonic() - started < 0.02:  # visible but not receivable (retention, FIFO group)
                time.sleep(0.02)

    setattr(receive_message, _PATCHED, True)
    return receive_message


def _until_next_visible(queue: Any) -> float:
    """Seconds until the queue's next delayed or in-flight message can be received (inf: none waits).

    moto's long poll wakes when a message is sent, not when a delayed one or one whose visibility
    timeout ran out becomes receivable: waiting in one-second slices, a receive saw such a message up
    to a second after SQS would have. The wait ends at that moment instead (just after it: moto
    compares in whole milliseconds, strictly)."""
    now_ms = time.time() * 1000
    with queue._messages_lock:
        due = [
            max(message.visible_at, message.delayed_until)
            for message in queue._messages
            if max(message.visible_at, message.delayed_until) >= now_ms
        ]
    return (min(due) - now_ms) / 1000 + 0.002 if due else float("inf")


def _message_retained(self: SQSBackend, queue_name: str, message: Message) -> bool:
    retention_seconds = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return bool(retention_seconds + message.sent_timestamp / 1000 > time.time())  # type: ignore[operator]


def make_sqs_receive_linear() -> None:
    """Idempotent; patches the moto SQS backend class for the whole process."""
    SQSBackend.is_message_valid_based_on_retention_period = _message_retained  # type: ignore[method-assign]
