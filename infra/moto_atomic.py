"""Make moto's DynamoDB writes atomic, as DynamoDB's are.

moto checks a transaction's conditions and then applies its writes without a lock, so two threads
can both pass ``attribute_not_exists`` and both write: a race real DynamoDB never allows
(transactions are serializable, conditional writes atomic). Race tests and the local stack would
then fail for moto's reasons, not ours. This wraps every DynamoDB write (and the item reads, which
can insert into moto's tables) in one re-entrant lock.

moto also backs a transaction up for rollback by deep-copying the whole table once per *item* of the
transaction; the copies are identical (the state before the transaction), so one per table is kept:
a 100-item transaction then costs one table copy, not a hundred.

:func:`make_sqs_receive_linear` removes a cost of moto's SQS: each message received recomputes every
attribute of its queue (counting all its messages) to read the retention period, so a receive costs
time in the square of the queue's length. The retention is read directly instead; same answer.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

import moto.dynamodb.models as moto_dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.sqs.models import Message, SQSBackend

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
# moto's Table.items is a defaultdict: reading an absent partition inserts an empty one, which breaks a
# transaction's backup copy running on another thread ("dictionary changed size during iteration").
_READS = ("get_item", "batch_get_item")
_PATCHED = "__pollen_atomic__"


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    setattr(locked, _PATCHED, True)
    return locked


class _OneBackupPerTable:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: while a transaction runs on
    this thread, deep copies of a table are made once and shared."""

    def __init__(self) -> None:
        self._local = threading.local()

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        backups: dict[int, Any] | None = getattr(self._local, "backups", None)
        if backups is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in backups:
            backups[id(value)] = copy.deepcopy(value, memo)
        return backups[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def transaction(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def backed_up_once(*args: Any, **kwargs: Any) -> Any:
            self._local.backups = {}
            try:
                return method(*args, **kwargs)
            finally:
                self._local.backups = None

        return backed_up_once


_backups = _OneBackupPerTable()


def make_dynamodb_writes_atomic() -> None:
    """Idempotent; patches the moto backend class for the whole process."""
    for name in (*_WRITES, *_READS):
        method = getattr(DynamoDBBackend, name, None)
        if method is not None and not getattr(method, _PATCHED, False):
            if name == "transact_write_items":
                method = _backups.transaction(method)
            setattr(DynamoDBBackend, name, _locked(method))
    moto_dynamodb_models.copy = _backups  # type: ignore[attr-defined,assignment]


def _message_retained(self: SQSBackend, queue_name: str, message: Message) -> bool:
    retention_seconds = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return bool(retention_seconds + message.sent_timestamp / 1000 > time.time())  # type: ignore[operator]


def make_sqs_receive_linear() -> None:
    """Idempotent; patches the moto SQS backend class for the whole process."""
    SQSBackend.is_message_valid_based_on_retention_period = _message_retained  # type: ignore[method-assign]
