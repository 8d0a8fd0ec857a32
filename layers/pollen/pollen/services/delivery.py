"""Delivering one queued message: send, log the attempt, then acknowledge, retry later or dead-letter.

The retry budget is the queue's: the attempt's place in it is SQS's ``ApproximateReceiveCount``.

- ``delivered`` / ``skipped``: logged, acknowledged.
- ``retry`` before the last receive: logged ``retrying``; the message's visibility timeout is set to
  the backoff and the message reported failed, so SQS hands it back after the delay.
- ``retry`` on the last receive (6th), or ``permanent``: logged ``dead`` with the reason and the
  message itself (the per-merchant dead-letter index, see :mod:`pollen.services.dead_letters`),
  copied to the DLQ (the safety net the alarm watches), then acknowledged. If the log write fails
  the message is reported failed and comes back, so a delivery is never acknowledged before its
  dead letter is indexed.

A message that cannot even be handled (the function crashes or times out on it six times) reaches
the DLQ through the same redrive policy, without reason attributes; its log shows the last attempt.
"""

from __future__ import annotations

from datetime import datetime

from pollen.clock import isoformat, wallclock
from pollen.domain.deliveries import AttemptLog, Decision, DeliveryStatus, RetryPolicy, decide, waits_out
from pollen.domain.integrations import Integration, IntegrationKind, Subscription
from pollen.domain.values import value
from pollen.events.delivery import DeliveryMessage
from pollen.integrations.outbound import Attempt, deliver
from pollen.observability import logger
from pollen.services.container import Container
from pollen.services.profile import profile_properties
from pollen.services.routing import PROFILE_UPDATED, merchant_events
from pollen.storage.queues import DeadLetterReason


def dead_letter_index(message: DeliveryMessage, reason: DeadLetterReason) -> dict[str, object]:
    """What the delivery's log item keeps of its dead letter: the message to send again, and why."""
    index: dict[str, object] = {
        "message": message.model_dump_json(),
        "reason": reason.reason[:1000] or "-",
        "outcome": reason.outcome,
        "attempts": reason.attempts,
        "failed_at": isoformat(reason.failed_at) if reason.failed_at else None,
    }
    if reason.http_status is not None:
        index["http_status"] = reason.http_status
    return {k: v for k, v in index.items() if v is not None}


class RetryLater(Exception):
    """Report the message as failed: SQS delivers it again when the visibility timeout set ends."""


@value
class Received:
    """What the delivery needs of one SQS record."""

    body: str
    receive_count: int
    receipt_handle: str
    message_id: str


def retry_policy(c: Container) -> RetryPolicy:
    s = c.settings
    return RetryPolicy(
        base_seconds=s.delivery_retry_base_seconds,
        max_seconds=s.delivery_retry_max_seconds,
        scale=s.delivery_retry_scale,
    )


def _why_not(subscription: Subscription | None, integration: Integration | None) -> str | None:
    if subscription is None:
        return "the subscription was deleted"
    if not subscription.enabled:
        return "the subscription is disabled"
    if integration is None:
        return "the integration was deleted"
    if not integration.enabled:
        return "the integration is disabled"
    return None


def current_target(c: Container, message: DeliveryMessage) -> tuple[Subscription, Integration] | str:
    """The subscription and integration as configured now, or why there is nothing to send."""
    config = merchant_events(c, message.merchant_id)
    if config is None:
        return "the merchant no longer exists"
    if not config.enabled:
        return "events are switched off"
    subscription = next(
        (s for s in config.subscriptions if s.subscription_id == message.subscription_id), None
    )
    integration = config.integrations.get(message.integration_id)
    if subscription is None or integration is None or not (subscription.enabled and integration.enabled):
        return _why_not(subscription, integration) or "not deliverable"
    return subscription, integration


def attempt_log(number: int, attempt: Attempt, now: datetime, retry_in: int | None = None) -> AttemptLog:
    return AttemptLog(
        attempt=number,
        at=now,
        outcome=attempt.outcome,
        http_status=attempt.http_status,
        latency_ms=attempt.latency_ms,
        error=attempt.error,
        retry_in_seconds=retry_in,
    )


def handle_message(c: Container, received: Received, *, now: datetime) -> DeliveryStatus:
    """Deliver one message; returns the delivery's new status, or raises :class:`RetryLater`.
    A batch's messages are handled side by side (functions/integration_delivery): the log keys are
    this thread's."""
    message = DeliveryMessage.model_validate_json(received.body)
    number = message.attempt_offset + received.receive_count
    logger.thread_safe_append_keys(delivery_id=message.delivery_id, attempt=number)
    try:
        return _handle(c, received, message, number, now)
    finally:
        logger.thread_safe_remove_keys(["delivery_id", "attempt"])


def _handle(
    c: Container, received: Received, message: DeliveryMessage, number: int, now: datetime
) -> DeliveryStatus:
    target = current_target(c, message)
    if isinstance(target, str):
        attempt = Attempt(
            outcome="skipped", http_status=None, latency_ms=0, error=target, retry_after_seconds=None
        )
        log = attempt_log(number, attempt, now)
        c.deliveries.record_attempt(message, log, DeliveryStatus.SKIPPED, now=now)
        logger.info("delivery skipped", extra={"reason": target})
        return DeliveryStatus.SKIPPED

    subscription, integration = target
    event = message.event
    profile = (
        profile_properties(c, message.merchant_id, event.customer_id)
        if integration.kind != IntegrationKind.WEBHOOK or event.event_type == PROFILE_UPDATED
        else None
    )
    if event.event_type == PROFILE_UPDATED and profile is not None:  # the values as the window ends
        event = event.model_copy(update={"payload": {**event.payload, **profile.named("")}})
    paced = c.pacer.wait(message.merchant_id, integration)  # Klaviyo's and Omnisend's rate limits
    # Signed with the real send time: the receiver checks it against its own clock.
    attempt = deliver(
        c.http.client,
        integration,
        event,
        name_prefix=subscription.name_prefix,
        now=wallclock(),
        profile=profile,
    )

    def decision_for(*, rate_limited: bool) -> Decision:
        return decide(
            attempt.outcome,
            error=attempt.error,
            receive_count=received.receive_count,
            retry_after=attempt.retry_after_seconds,
            policy=retry_policy(c),
            spread_key=message.delivery_id,
            rate_limited=rate_limited,
        )

    decision = decision_for(rate_limited=waits_out(attempt.http_status, routed_at=message.routed_at, now=now))
    log = attempt_log(number, attempt, now, decision.delay_seconds)
    extra = {
        "outcome": attempt.outcome,
        "http_status": attempt.http_status,
        "latency_ms": attempt.latency_ms,
        "paced_ms": round(paced * 1000),
    }
    if decision.action == "requeue":
        # Rate limited on its last retry: a fresh message (its budget renewed, its attempts numbered on)
        # carries the delivery; this one is acknowledged. Not queued: the DLQ, as without the limit.
        again = message.model_copy(update={"attempt_offset": number, "delay_seconds": decision.delay_seconds})
        if not c.queues.send([again]):
            c.deliveries.record_attempt(message, log, DeliveryStatus.RETRYING, now=now)
            logger.info(
                "delivery rate limited: queued again",
                extra={**extra, "retry_in_seconds": decision.delay_seconds},
            )
            return DeliveryStatus.RETRYING
        decision = decision_for(rate_limited=False)
        log = attempt_log(number, attempt, now, decision.delay_seconds)
    if decision.action == "retry":
        c.deliveries.record_attempt(message, log, DeliveryStatus.RETRYING, now=now)
        delay = decision.delay_seconds or 0
        try:
            c.queues.retry_later(received.receipt_handle, delay)
        except Exception:  # the message comes back after the queue's own visibility timeout instead
            logger.exception("could not set the retry delay", extra=extra)
        logger.info("delivery will be retried", extra={**extra, "retry_in_seconds": delay})
        raise RetryLater(f"{message.delivery_id}: {attempt.error}")
    if decision.action == "dead_letter":
        reason = DeadLetterReason(
            reason=decision.reason or "failed",
            outcome=attempt.outcome if attempt.outcome in {"permanent", "uncertain"} else "exhausted",
            attempts=number,
            http_status=attempt.http_status,
            failed_at=now,
        )
        c.deliveries.record_attempt(
            message,
            log,
            DeliveryStatus.DEAD,
            now=now,
            dead_reason=reason.reason,
            dead_letter=dead_letter_index(message, reason),
        )
        try:  # the DLQ copy is the safety net (and what the alarm counts); the table is the index
            c.queues.dead_letter(message, reason)
        except Exception:
            logger.exception("dead letter indexed but not copied to the DLQ", extra=extra)
        logger.warning("delivery dead-lettered", extra={**extra, "reason": reason.reason})
        return DeliveryStatus.DEAD
    c.deliveries.record_attempt(message, log, decision.status, now=now)
    logger.info("delivery done", extra=extra)
    return decision.status
