"""Dead letters: what sits in the DeliveryDLQ for one merchant, and replaying it.

The DLQ is shared by every merchant of the stack, and SQS cannot peek or filter: a scan receives the
messages, holding each invisible for :data:`HOLD_SECONDS` (longer than the admin function may run,
so two concurrent scans never hold the same message), keeps the merchant's own, and releases every
message it does not delete (visibility 0) before answering. Other merchants' messages are never
parsed beyond their ``merchant_id`` nor shown. While a scan runs, a concurrent scan does not see the
messages it holds: a listing is a snapshot, and the delivery log (``status=dead``) is the exact view.

A replay sends each chosen delivery back to the DeliveryQueue as a new message (a fresh receive
count: a fresh budget of 5 retries; attempt numbers continue in the log), and deletes its dead
letters only once that send succeeded: a failure in between leaves a duplicate, never a loss.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pollen.domain.deliveries import MAX_RECEIVES
from pollen.events.delivery import DeliveryMessage
from pollen.observability import logger
from pollen.services.container import Container
from pollen.storage.queues import DeadLetterReason, HeldMessage

HOLD_SECONDS = 30  # > the admin function's 10 s timeout
SCAN_LIMIT = 1000  # messages looked at per request (all merchants)
SCAN_SECONDS = 6.0  # leaves the 10 s function time to release, send and delete
REDRIVE_REASON = (
    f"moved by the queue's redrive policy after {MAX_RECEIVES} receives (the delivery function failed "
    "or timed out on it)"
)


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    delivery_id: str
    event_id: str
    event_type: str
    subscription_id: str
    integration_id: str
    reason: str
    outcome: str = Field(description="permanent (4xx), exhausted (retries used up) or redrive.")
    attempts: int = Field(description="Tries made so far, all replays included.")
    http_status: int | None = None
    dead_since: datetime
    replays: int = 0


class DeadLetterList(BaseModel):
    items: list[DeadLetter]
    truncated: bool = Field(
        description="The scan stopped before the end of the queue (it looks at "
        f"{SCAN_LIMIT} messages of all merchants at most); ask again later for the rest."
    )


class ReplayResult(BaseModel):
    replayed: int
    delivery_ids: list[str]
    not_found: list[str] = Field(default_factory=list, description="Asked for, but not in the dead letters.")
    failed: list[str] = Field(default_factory=list, description="Could not be queued; still dead letters.")
    truncated: bool = False


def _mine(held: list[HeldMessage], merchant_id: str) -> list[tuple[HeldMessage, DeliveryMessage]]:
    mine = []
    for message in held:
        if message.attributes.get("merchant_id", merchant_id) != merchant_id:
            continue  # another merchant's: not parsed, not shown
        try:
            parsed = DeliveryMessage.model_validate_json(message.body)
        except ValidationError:
            logger.error("unreadable dead letter", extra={"message_id": message.message_id})
            continue
        if parsed.merchant_id == merchant_id:
            mine.append((message, parsed))
    return mine


def _views(
    c: Container, merchant_id: str, mine: list[tuple[HeldMessage, DeliveryMessage]]
) -> list[DeadLetter]:
    """One view per delivery (a delivery may sit twice in the DLQ after a crash; shown once)."""
    unexplained = [m.delivery_id for h, m in mine if DeadLetterReason.from_attributes(h.attributes) is None]
    records = c.deliveries.get_many(merchant_id, unexplained) if unexplained else {}
    views: dict[str, DeadLetter] = {}
    for held, message in sorted(mine, key=lambda pair: pair[0].sent_at):
        reason = DeadLetterReason.from_attributes(held.attributes)
        if reason is None:
            record = records.get(message.delivery_id)
            last = record.attempts[-1] if record and record.attempts else None
            detail = f"; last attempt: {last.error}" if last and last.error else ""
            reason = DeadLetterReason(
                reason=REDRIVE_REASON + detail,
                outcome="redrive",
                attempts=last.attempt if last else message.attempt_offset + MAX_RECEIVES,
                http_status=last.http_status if last else None,
            )
        views[message.delivery_id] = DeadLetter(
            delivery_id=message.delivery_id,
            event_id=message.event_id,
            event_type=message.event_type,
            subscription_id=message.subscription_id,
            integration_id=message.integration_id,
            reason=reason.reason,
            outcome=reason.outcome,
            attempts=reason.attempts,
            http_status=reason.http_status,
            dead_since=reason.failed_at or held.sent_at,
            replays=message.replays,
        )
    return sorted(views.values(), key=lambda view: view.delivery_id, reverse=True)


def list_dead_letters(c: Container, merchant_id: str) -> DeadLetterList:
    held, truncated = c.queues.hold_dead_letters(
        hold_seconds=HOLD_SECONDS, max_messages=SCAN_LIMIT, time_budget_seconds=SCAN_SECONDS
    )
    try:
        return DeadLetterList(items=_views(c, merchant_id, _mine(held, merchant_id)), truncated=truncated)
    finally:
        c.queues.release(held)


def replay(c: Container, merchant_id: str, delivery_ids: list[str] | None, *, now: datetime) -> ReplayResult:
    """Queue the merchant's dead letters again (all, or those named), each with a fresh retry budget."""
    held, truncated = c.queues.hold_dead_letters(
        hold_seconds=HOLD_SECONDS, max_messages=SCAN_LIMIT, time_budget_seconds=SCAN_SECONDS
    )
    deleted: set[str] = set()
    try:
        mine = _mine(held, merchant_id)
        wanted = set(delivery_ids) if delivery_ids is not None else None
        chosen = [(h, m) for h, m in mine if wanted is None or m.delivery_id in wanted]
        views = {view.delivery_id: view for view in _views(c, merchant_id, chosen)}
        again: dict[str, DeliveryMessage] = {}
        for _, message in chosen:
            if message.delivery_id not in again:
                again[message.delivery_id] = message.model_copy(
                    update={
                        "attempt_offset": views[message.delivery_id].attempts,
                        "replays": message.replays + 1,
                        "routed_at": now,
                    }
                )
        failed = c.queues.send(list(again.values()))
        queued = [d for d in again if d not in failed]
        done = [h for h, m in chosen if m.delivery_id in queued]
        undeleted = c.queues.delete_dead_letters(done)
        deleted = {h.message_id for h in done} - undeleted
        if undeleted:
            logger.warning("replayed dead letters left as duplicates", extra={"count": len(undeleted)})
        try:
            c.deliveries.mark_replayed(merchant_id, queued, now=now)
        except Exception:  # the log catches up on the replayed message's first attempt
            logger.exception("could not mark replayed deliveries pending")
        logger.info("dead letters replayed", extra={"replayed": len(queued), "failed": len(failed)})
        return ReplayResult(
            replayed=len(queued),
            delivery_ids=sorted(queued),
            not_found=sorted(wanted - set(again)) if wanted is not None else [],
            failed=sorted(failed),
            truncated=truncated,
        )
    finally:
        c.queues.release([h for h in held if h.message_id not in deleted])
