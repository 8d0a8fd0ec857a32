"""A rate limit (429) on a delivery's last retry renews its budget instead of dead-lettering it, for up
to a day after routing (pollen.domain.deliveries: waits_out, decide)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pollen.domain.deliveries import (
    MAX_RECEIVES,
    RATE_LIMITED_FOR_AT_MOST,
    SQS_MAX_DELAY_SECONDS,
    AttemptOutcome,
    Decision,
    DeliveryStatus,
    RetryPolicy,
    decide,
    waits_out,
)

AWS = RetryPolicy(base_seconds=60, max_seconds=900, scale=1)
ROUTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _decide(
    outcome: AttemptOutcome,
    receive: int,
    *,
    rate_limited: bool,
    retry_after: float | None = None,
    policy: RetryPolicy = AWS,
) -> Decision:
    return decide(
        outcome,
        error="HTTP 429",
        receive_count=receive,
        retry_after=retry_after,
        policy=policy,
        spread_key="k",
        rate_limited=rate_limited,
    )


@pytest.mark.parametrize(
    ("status", "age", "waits"),
    [
        (429, timedelta(0), True),
        (429, RATE_LIMITED_FOR_AT_MOST - timedelta(seconds=1), True),
        (429, RATE_LIMITED_FOR_AT_MOST, False),  # a day on: an ordinary failure
        (503, timedelta(0), False),  # unavailable is not a limit: the budget is for that
        (500, timedelta(0), False),
        (None, timedelta(0), False),  # a timeout
    ],
)
def test_only_a_young_delivery_s_429_waits_out(status: int | None, age: timedelta, waits: bool) -> None:
    assert waits_out(status, routed_at=ROUTED, now=ROUTED + age) is waits


def test_a_rate_limited_last_retry_is_queued_again_not_dead_lettered() -> None:
    def after(
        receive: int, *, rate_limited: bool, retry_after: float | None = None
    ) -> tuple[str, int | None]:
        decision = _decide("retry", receive, rate_limited=rate_limited, retry_after=retry_after)
        assert decision.status in {DeliveryStatus.RETRYING, DeliveryStatus.DEAD}
        return decision.action, decision.delay_seconds

    # before the last retry a 429 is an ordinary retry (visibility timeout, the same delays)
    assert after(1, rate_limited=True) == ("retry", AWS.delay(1, spread_key="k"))
    assert after(MAX_RECEIVES - 1, rate_limited=True) == after(MAX_RECEIVES - 1, rate_limited=False)
    # on it, a fresh message, held back as long as SQS allows a message to be
    action, delay = after(MAX_RECEIVES, rate_limited=True)
    assert (action, delay) == ("requeue", SQS_MAX_DELAY_SECONDS)
    assert after(MAX_RECEIVES, rate_limited=True, retry_after=3_600)[1] == SQS_MAX_DELAY_SECONDS
    assert after(MAX_RECEIVES, rate_limited=False)[0] == "dead_letter"


def test_a_short_policy_holds_the_fresh_message_for_its_own_delay() -> None:
    local = RetryPolicy(base_seconds=60, max_seconds=900, scale=1 / 30)
    decision = _decide("retry", MAX_RECEIVES, rate_limited=True, policy=local)
    assert decision.delay_seconds == local.delay(MAX_RECEIVES, spread_key="k") <= 33


@pytest.mark.parametrize("outcome", ["permanent", "uncertain", "delivered", "skipped"])
def test_only_a_retryable_try_is_queued_again(outcome: AttemptOutcome) -> None:
    assert _decide(outcome, MAX_RECEIVES, rate_limited=True).action != "requeue"
