"""Optimistic concurrency: re-read and retry when another writer changed the same items first."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from pollen.domain.errors import RetryableConflict
from pollen.storage.errors import ConditionFailed, WriteConflict

T = TypeVar("T")
MAX_ATTEMPTS = 12
VERSIONED = frozenset(
    {"customer", "order", "trigger-usage", "coupon", "tier"}
    | {
        "customer-referrer",
        "referral",
        "referred",
        "referral-window",
        "invite",
        "referrer",
        "referral-code",
    }  # referrals
)


def retrying(attempt: Callable[[], T]) -> T:
    """Run ``attempt`` until it commits. Only version races are retried: a business condition
    failing (say, a trigger already used) is an answer, not a race, and propagates at once."""
    for n in range(MAX_ATTEMPTS):
        try:
            return attempt()
        except WriteConflict:
            pass
        except ConditionFailed as exc:
            if not {label.rstrip("-0123456789") for label in exc.labels} <= VERSIONED:
                raise
        time.sleep(random.uniform(0, 0.005 * 2 ** min(n, 6)))  # noqa: S311 - jitter, not security
    raise RetryableConflict("Too many concurrent changes to this customer; retry the request.")
