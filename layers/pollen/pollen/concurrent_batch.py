"""Powertools' ``BatchProcessor``, with a batch's records handled side by side.

For a queue consumer whose records each wait on someone else's server (a delivery waits up to 10 s
on Klaviyo, Omnisend or a merchant's webhook), handling a batch one record at a time bills the sum of
those waits; side by side, the longest. The records must be independent of each other (an SQS
standard queue promises no order anyway). Each record is still handled by Powertools'
``_process_record``, so success, failure and the partial batch response are Powertools' own; their
DynamoDB and SQS calls are counted as the invocation's (:func:`pollen.storage.client.concurrently`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor

from pollen.storage.client import concurrently


class ConcurrentBatchProcessor(BatchProcessor):
    """Handles up to ``workers`` records of a batch at once (a batch of one runs on the caller's thread).
    Shared state the record handler touches must be thread-safe: log keys with Logger's
    ``thread_safe_append_keys``, metrics under a lock."""

    def __init__(self, *args: Any, workers: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workers = workers

    def process(self) -> list[tuple[Any, ...]]:
        calls = [partial(self._process_record, record) for record in self.records]
        return concurrently(calls, workers=self.workers)
