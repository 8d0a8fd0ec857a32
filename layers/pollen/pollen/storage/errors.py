"""What a cancelled DynamoDB transaction means, in domain terms."""

from __future__ import annotations

from typing import Any

from pollen.domain.errors import Conflict, RetryableConflict


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
