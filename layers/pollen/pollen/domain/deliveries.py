"""Deliveries of events to integrations: statuses, the attempt log, and the retry rules.

A delivery is one event sent to one subscription's integration. Its first try and up to five
retries happen while its message sits in the DeliveryQueue; SQS counts the receives, and the queue's
redrive policy (``maxReceiveCount`` 6 in template.yaml) is the backstop that moves a message that
could not even be handled to the DeliveryDLQ. The rules here decide, from one attempt's outcome and
the receive count, whether the message is acknowledged, retried after a delay (its visibility
timeout) or dead-lettered at once with the reason.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field

from pollen.domain.values import value
from pollen.model import BaseModel

MAX_RECEIVES = 6  # first try + 5 retries; equals DeliveryQueue's maxReceiveCount (a test checks)
MAX_VISIBILITY_SECONDS = 43_200  # SQS's ceiling for a visibility timeout
RETRY_AFTER_CAP_SECONDS = 3_600  # a receiver's Retry-After is honoured up to an hour per retry
JITTER = 0.1  # each delay is stretched by up to 10%, so a recovering receiver is not hit all at once
SQS_MAX_DELAY_SECONDS = 900  # SendMessage's DelaySeconds ceiling
RATE_LIMITED_FOR_AT_MOST = timedelta(hours=24)  # a delivery waits out 429s this long after routing

AttemptOutcome = Literal["delivered", "retry", "permanent", "skipped", "uncertain"]
UNCERTAIN_REASON = (
    "maybe delivered: the request was sent but no answer came, and this destination does not drop "
    "duplicates of real-time events, so Pollen did not send it again; check the customer's activity "
    "in the tool and replay only if the event is missing"
)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # queued by the router, not tried yet (or queued again by a replay)
    DELIVERED = "delivered"
    RETRYING = "retrying"  # the last try failed; the message comes back at next_attempt_at
    DEAD = "dead"  # in the DeliveryDLQ (permanent failure or retries exhausted): replayable
    SKIPPED = "skipped"  # nothing to send: integration/subscription gone or off, customer unmatched
    FAILED = "failed"  # a test event that did not go through (tests are never retried)


class AttemptLog(BaseModel):
    """One try, as the delivery log keeps it."""

    model_config = ConfigDict(frozen=True)

    attempt: int = Field(ge=1, description="1 for the first try; a replay continues the numbering.")
    at: datetime
    outcome: AttemptOutcome
    http_status: int | None = None
    latency_ms: int = Field(default=0, ge=0)
    error: str | None = None
    retry_in_seconds: int | None = Field(default=None, description="Set when the message comes back.")


class DeliveryRecord(BaseModel):
    """The delivery log's item for one delivery (attempts oldest first)."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    event_id: str
    event_type: str
    subscription_id: str
    integration_id: str
    customer_id: str | None = None
    status: DeliveryStatus
    test: bool = Field(default=False, description="A test event sent from the admin API.")
    attempts: list[AttemptLog] = Field(default_factory=list)
    replays: int = 0
    next_attempt_at: datetime | None = None
    dead_reason: str | None = None
    created_at: datetime
    updated_at: datetime


@value
class RetryPolicy:
    """The n-th retry waits ``min(max, base * 2**(n-1))`` seconds, or the receiver's Retry-After when
    that is longer (capped), stretched by a deterministic jitter of up to 10% and multiplied by
    ``scale`` (1 on AWS; the local stack shrinks a whole budget to about a minute)."""

    base_seconds: float = 60
    max_seconds: float = 900
    scale: float = 1.0
    max_receives: int = MAX_RECEIVES

    def delay(self, receive_count: int, *, retry_after: float | None = None, spread_key: str = "") -> int:
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** max(0, receive_count - 1))
        wanted = max(backoff, min(retry_after or 0.0, RETRY_AFTER_CAP_SECONDS))
        stretched = wanted * (1 + JITTER * _fraction(f"{spread_key}:{receive_count}")) * self.scale
        return min(MAX_VISIBILITY_SECONDS, math.ceil(stretched))


def _fraction(key: str) -> float:
    """A stable number in [0, 1) from ``key``: jitter that tests can predict and replays repeat."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0x1_0000_0000


@value
class Decision:
    action: Literal["ack", "retry", "requeue", "dead_letter"]
    status: DeliveryStatus
    delay_seconds: int | None = None
    reason: str | None = None


def waits_out(http_status: int | None, *, routed_at: datetime, now: datetime) -> bool:
    """Whether a failed try was the receiver's rate limit (429) and the delivery is young enough to keep
    waiting: a store's burst (an import, a day's birthdays) can outlast the retry budget against a
    limit such as Omnisend's 400 requests a minute, and waiting is all a rate limit asks for."""
    return http_status == 429 and now - routed_at < RATE_LIMITED_FOR_AT_MOST


def decide(  # noqa: PLR0911 - one rule per outcome, read top to bottom
    outcome: AttemptOutcome,
    *,
    error: str | None,
    receive_count: int,
    retry_after: float | None,
    policy: RetryPolicy,
    spread_key: str,
    rate_limited: bool = False,
) -> Decision:
    """What to do with the message after one attempt (``receive_count`` counts this receive).
    ``rate_limited`` (:func:`waits_out`): a try that used the last retry goes back on the queue as a
    fresh message (``requeue``, its budget renewed) instead of to the DLQ."""
    if outcome == "delivered":
        return Decision("ack", DeliveryStatus.DELIVERED)
    if outcome == "skipped":
        return Decision("ack", DeliveryStatus.SKIPPED, reason=error)
    if outcome == "permanent":
        return Decision("dead_letter", DeliveryStatus.DEAD, reason=f"permanent failure: {error}")
    if outcome == "uncertain":  # a blind retry could make the tool email or text the customer twice
        return Decision("dead_letter", DeliveryStatus.DEAD, reason=f"{UNCERTAIN_REASON} ({error})")
    if receive_count >= policy.max_receives and rate_limited and outcome == "retry":
        delay = policy.delay(receive_count, retry_after=retry_after, spread_key=spread_key)
        return Decision(
            "requeue", DeliveryStatus.RETRYING, delay_seconds=min(delay, SQS_MAX_DELAY_SECONDS), reason=error
        )
    if receive_count >= policy.max_receives:
        return Decision(
            "dead_letter",
            DeliveryStatus.DEAD,
            reason=f"retries exhausted after {receive_count} tries: {error}",
        )
    delay = policy.delay(receive_count, retry_after=retry_after, spread_key=spread_key)
    return Decision("retry", DeliveryStatus.RETRYING, delay_seconds=delay, reason=error)
