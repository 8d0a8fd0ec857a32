"""Make moto's DynamoDB writes atomic, as DynamoDB's are.

moto checks a transaction's conditions and then applies its writes without a lock, so two threads
can both pass ``attribute_not_exists`` and both write: a race real DynamoDB never allows
(transactions are serializable, conditional writes atomic). Race tests and the local stack would
then fail for moto's reasons, not ours. This wraps every DynamoDB write in one re-entrant lock.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_PATCHED = "__pollen_atomic__"


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    setattr(locked, _PATCHED, True)
    return locked


def make_dynamodb_writes_atomic() -> None:
    """Idempotent; patches the moto backend class for the whole process."""
    for name in _WRITES:
        method = getattr(DynamoDBBackend, name, None)
        if method is not None and not getattr(method, _PATCHED, False):
            setattr(DynamoDBBackend, name, _locked(method))
