"""Requests to Klaviyo and Omnisend paced to their published rate limits, per integration.

Omnisend allows a brand 400 requests a minute (a sliding window, no ``Retry-After``); Klaviyo an
account 3,500 a minute (steady window). A burst past them (an import, a day's birthdays) is answered
429 and retried, each retry an invocation share, a log write and SQS calls. The delivery function's
event source runs at most :data:`BATCHES_AT_ONCE` batches at once (template.yaml), so each container
paces an integration to that share of its limit: a token bucket holding :data:`BURST_SECONDS` of the
share, then one request per ``1 / rate`` seconds. While Pollen is the brand's only sender, a burst
goes out at the receiver's pace instead of into its limit; a receiver that still answers 429 (another
sender shares the brand) is retried as before. Webhooks publish no limit and are not paced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pollen.domain.integrations import Integration, IntegrationKind

LIMIT_PER_MINUTE = {IntegrationKind.OMNISEND: 400, IntegrationKind.KLAVIYO: 3_500}
BATCHES_AT_ONCE = 2  # template.yaml: the DeliveryQueue event source's MaximumConcurrency (a test checks)
BURST_SECONDS = 2.0
MAX_WAIT_SECONDS = 10.0  # a longer wait is sent anyway: a 429's retry delay bills no invocation time


@dataclass
class _Bucket:
    rate: float  # tokens a second
    capacity: float
    tokens: float
    at: float

    def reserve(self, now: float) -> float:
        """Take a token; the seconds until it is due (0 when one was there)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate) - 1
        self.at = now
        return max(0.0, -self.tokens / self.rate)


class Pacer:
    """One bucket per (merchant, integration), shared by the container's threads."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def wait(self, merchant_id: str, integration: Integration) -> float:
        """Wait for the integration's next request slot; the seconds it was due after now."""
        limit = LIMIT_PER_MINUTE.get(integration.kind)
        if limit is None:
            return 0.0
        rate = limit / 60 / BATCHES_AT_ONCE
        key = (merchant_id, integration.integration_id)
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None or bucket.rate != rate:
                capacity = max(1.0, rate * BURST_SECONDS)
                bucket = self._buckets[key] = _Bucket(rate, capacity, capacity, now)
            due = bucket.reserve(now)
            if due > MAX_WAIT_SECONDS:
                bucket.tokens += 1  # sent unpaced: no debt for later requests to wait out
        if 0 < due <= MAX_WAIT_SECONDS:
            self._sleep(due)
        return due
