"""Retry rules, dead-letter reasons and the keys deliveries use (no AWS, no network)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pollen.domain.deliveries import (
    MAX_RECEIVES,
    MAX_VISIBILITY_SECONDS,
    DeliveryStatus,
    RetryPolicy,
    decide,
)
from pollen.events.delivery import DeliveryMessage, delivery_id_for
from pollen.events.envelope import OutboxEvent
from pollen.storage.keys import delivery_key, delivery_status_gsi1pk, phone_digits, phone_key
from pollen.storage.queues import DeadLetterReason

AWS = RetryPolicy(base_seconds=60, max_seconds=900, scale=1)


def test_the_retry_budget_matches_the_queues_redrive_policy(template: dict[str, Any]) -> None:
    queue = template["Resources"]["DeliveryQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVES == 6
    function = template["Resources"]["IntegrationDeliveryFunction"]["Properties"]
    env = function["Environment"]["Variables"]
    assert (float(env["DELIVERY_RETRY_BASE_SECONDS"]), float(env["DELIVERY_RETRY_MAX_SECONDS"])) == (60, 900)
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_delays_double_from_the_base_up_to_the_cap_with_at_most_ten_percent_jitter() -> None:
    for receive, wanted in [(1, 60), (2, 120), (3, 240), (4, 480), (5, 900)]:
        delays = {AWS.delay(receive, spread_key=f"d{i}") for i in range(200)}
        assert min(delays) >= wanted
        assert max(delays) <= wanted * 1.1 + 1
        assert len(delays) > 1  # deliveries failing together do not all come back together
    assert AWS.delay(3, spread_key="same") == AWS.delay(3, spread_key="same")  # deterministic


def test_a_longer_retry_after_wins_up_to_an_hour() -> None:
    assert 300 <= AWS.delay(1, retry_after=300, spread_key="k") <= 330
    assert 60 <= AWS.delay(1, retry_after=5, spread_key="k") <= 66  # shorter: the backoff stands
    assert 3600 <= AWS.delay(1, retry_after=86_400, spread_key="k") <= 3960
    assert (
        RetryPolicy(base_seconds=40_000, max_seconds=43_200).delay(5, spread_key="k")
        == MAX_VISIBILITY_SECONDS
    )


def test_the_local_scale_plays_a_whole_budget_in_about_a_minute() -> None:
    local = RetryPolicy(base_seconds=60, max_seconds=900, scale=1 / 30)
    total = sum(local.delay(n, spread_key="delivery") for n in range(1, MAX_RECEIVES))
    assert 60 <= total <= 70
    assert RetryPolicy(scale=0).delay(5, retry_after=300, spread_key="k") == 0


@pytest.mark.parametrize(
    ("outcome", "receive", "action", "status"),
    [
        ("delivered", 1, "ack", DeliveryStatus.DELIVERED),
        ("skipped", 3, "ack", DeliveryStatus.SKIPPED),
        ("permanent", 1, "dead_letter", DeliveryStatus.DEAD),
        ("retry", 1, "retry", DeliveryStatus.RETRYING),
        ("retry", 5, "retry", DeliveryStatus.RETRYING),
        ("retry", 6, "dead_letter", DeliveryStatus.DEAD),
        ("retry", 9, "dead_letter", DeliveryStatus.DEAD),
    ],
)
def test_what_happens_after_an_attempt(
    outcome: Any, receive: int, action: str, status: DeliveryStatus
) -> None:
    decision = decide(
        outcome, error="HTTP 503", receive_count=receive, retry_after=None, policy=AWS, spread_key="k"
    )
    assert (decision.action, decision.status) == (action, status)
    if action == "retry":
        assert decision.delay_seconds == AWS.delay(receive, spread_key="k")
    if outcome == "permanent":
        assert decision.reason == "permanent failure: HTTP 503"
    if action == "dead_letter" and outcome == "retry":
        assert decision.reason == f"retries exhausted after {receive} tries: HTTP 503"


def test_dead_letter_reasons_round_trip_through_message_attributes() -> None:
    reason = DeadLetterReason(
        reason="x" * 2000,
        outcome="exhausted",
        attempts=12,
        http_status=503,
        failed_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )
    attributes = reason.attributes()
    assert len(attributes["reason"]["StringValue"]) == 1000
    back = DeadLetterReason.from_attributes({k: v["StringValue"] for k, v in attributes.items()})
    assert back == DeadLetterReason("x" * 1000, "exhausted", 12, 503, reason.failed_at)
    assert DeadLetterReason.from_attributes({"merchant_id": "m"}) is None  # moved by the redrive policy


def test_delivery_ids_are_derived_from_event_and_subscription() -> None:
    event = OutboxEvent(event_type="coupon_used", merchant_id="m", occurred_at=datetime.now(UTC))
    message = DeliveryMessage.for_route(event, "SUB1", "klaviyo", routed_at=event.occurred_at)
    assert message.delivery_id == delivery_id_for(event.event_id, "SUB1") == f"{event.event_id}.SUB1"
    assert DeliveryMessage.for_route(event, "SUB1", "other", routed_at=datetime.now(UTC)).delivery_id == (
        message.delivery_id
    )
    assert delivery_key("m", message.delivery_id).pk == "M#m#DLV"
    assert delivery_status_gsi1pk("m", "dead") == "M#m#DLV#dead"


@pytest.mark.parametrize(
    ("phone", "digits"),
    [
        ("+1 (613) 555-0199", "+16135550199"),
        ("613.555.0199", "6135550199"),
        (" +44 20 7946 0000", "+442079460000"),
    ],
)
def test_phone_keys_keep_digits_only(phone: str, digits: str) -> None:
    assert phone_digits(phone) == digits
    assert phone_key("m", phone).pk == f"M#m#PHONE#{digits}"
