"""What a cancelled DynamoDB transaction, or a read DynamoDB keeps refusing, means in domain terms."""

from __future__ import annotations

from typing import Any

from pollen.domain.errors import Conflict, RetryableConflict, UpstreamUnavailable


class DuplicateRequest(Exception):
    """The idempotency receipt already exists: the change was made before. Carries the receipt."""

    def __init__(self, receipt: dict[str, Any]) -> None:
        super().__init__("request already processed")
        self.receipt = receipt


class ConditionFailed(Conflict):
    """A condition on a business item failed; ``labels`` name which, ``items`` hold their old images."""

    def __init__(self, labels: list[str], items: dict[str, dict[str, Any]]) -> None:
        super().__init__(f"condition failed: {', '.join(labels)}")
        self.labels = labels
        self.items = items


class WriteConflict(RetryableConflict):
    """Another transaction was writing the same items at the same time."""

    def __init__(self) -> None:
        super().__init__("a concurrent update touched the same data; retry the request")


class Throttled(UpstreamUnavailable):
    """DynamoDB still left keys of a read unprocessed (BatchGetItem's ``UnprocessedKeys``, its answer
    under throttling) after every backed-off retry. Nothing was written and nothing half read is
    returned: the caller fails as a whole and may retry (the API answers 503 with Retry-After, a
    stream or queue handler reports its records failed). Not a :class:`WriteConflict`: re-running
    the attempt at once (``services/retry.py``) would only add load to a table that is shedding it."""

    def __init__(self, *, attempts: int, unprocessed: int) -> None:
        super().__init__("The database is busy; retry the request.")
        self.attempts = attempts
        self.unprocessed = unprocessed
