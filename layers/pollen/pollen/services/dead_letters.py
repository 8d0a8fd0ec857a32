"""Dead letters: one merchant's deliveries that died, listed and replayed from the table.

When the delivery function gives up on a delivery (a permanent 4xx, or the retry budget used up) it
writes the dead letter onto the delivery's own log item: the whole message and why it died. The
item moves to the merchant's ``dead`` list on GSI1 (``M#{m}#DLV#dead``), so listing is one Query of
the merchant's own partition and replaying touches only the merchant's own items: nothing one
merchant does can hide or delay another's dead letters (the shared SQS DLQ is never scanned).

The SQS DLQ stays the safety net: every dead letter is also copied there (the alarm counts them),
and a message the function could not handle at all (it crashed or timed out six times) reaches
it through the queue's redrive policy alone, with no index item. Those are an operator's: the
alarm fires, and SQS's own redrive (``start-message-move-task``) sends them back to the
DeliveryQueue. Copies in the DLQ expire after 14 days.

A "maybe delivered" letter (``outcome: uncertain``: the request went out and no answer came, to a
tool that does not drop duplicate real-time events) is replayed only when named: a replay of all
leaves it, listed in ``needs_confirmation``, since sending it again is right only once the merchant
has checked the tool and found the event missing.

A replay first claims each letter (``dead`` → ``pending``, conditional: two concurrent replays never
both take one), then sends the claimed messages to the DeliveryQueue with a fresh receive count (a
fresh budget of 5 retries; attempt numbers continue in the log). A letter whose send failed is put
back as it was: a failure in between leaves a letter to replay again, never a loss.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from pollen.events.delivery import DeliveryMessage
from pollen.observability import logger
from pollen.services.container import Container
from pollen.views.deliveries import LIST_LIMIT, DeadLetter, DeadLetterList, ReplayResult

REDRIVE_REASON = (
    "moved by the queue's redrive policy (the delivery function failed or timed out on it six times)"
)


def _parsed(merchant_id: str, item: dict[str, Any]) -> tuple[DeadLetter, DeliveryMessage] | None:
    index = item.get("dead_letter")
    if not isinstance(index, dict) or item.get("status") != "dead":
        return None
    try:
        message = DeliveryMessage.model_validate_json(str(index["message"]))
        failed_at = index.get("failed_at") or item.get("updated_at")
        view = DeadLetter(
            delivery_id=message.delivery_id,
            event_id=message.event_id,
            event_type=message.event_type,
            subscription_id=message.subscription_id,
            integration_id=message.integration_id,
            reason=str(index.get("reason", "-")),
            outcome=str(index.get("outcome", "exhausted")),
            attempts=int(index.get("attempts", 0)),
            http_status=int(index["http_status"]) if index.get("http_status") is not None else None,
            dead_since=datetime.fromisoformat(str(failed_at)),
            replays=int(item.get("replays", message.replays)),
        )
    except (KeyError, ValueError, ValidationError):
        logger.error("unreadable dead letter", extra={"delivery_id": item.get("delivery_id")})
        return None
    if message.merchant_id != merchant_id:
        return None
    return view, message


def list_dead_letters(c: Container, merchant_id: str) -> DeadLetterList:
    """Newest first; one Query per 1 MB of the merchant's own dead letters."""
    items, truncated = c.deliveries.dead_letters(merchant_id, limit=LIST_LIMIT)
    views = [parsed[0] for item in items if (parsed := _parsed(merchant_id, item)) is not None]
    return DeadLetterList(items=views, truncated=truncated)


def replay(c: Container, merchant_id: str, delivery_ids: list[str] | None, *, now: datetime) -> ReplayResult:
    """Queue the merchant's dead letters again (all, or those named), each with a fresh retry budget."""
    if delivery_ids is None:
        items, truncated = c.deliveries.dead_letters(merchant_id, limit=LIST_LIMIT)
    else:
        items, truncated = c.deliveries.get_items(merchant_id, delivery_ids[:LIST_LIMIT]), False
    letters: dict[str, tuple[dict[str, Any], DeadLetter, DeliveryMessage]] = {}
    unconfirmed: list[str] = []
    for item in items:
        parsed = _parsed(merchant_id, item)
        if parsed is None:
            continue
        if delivery_ids is None and parsed[0].outcome == "uncertain":
            unconfirmed.append(parsed[0].delivery_id)  # a replay of all never re-sends a maybe-delivered
            continue
        letters[parsed[1].delivery_id] = (item, *parsed)
    claimed = c.deliveries.claim_dead(merchant_id, sorted(letters), now=now)
    again = [
        letters[d][2].model_copy(
            update={
                "attempt_offset": letters[d][1].attempts,
                "replays": letters[d][2].replays + 1,
                "routed_at": now,
                "delay_seconds": 0,  # a replay goes now, whatever held the letter back before
            }
        )
        for d in claimed
    ]
    failed = c.queues.send(again)
    for delivery_id in sorted(failed):
        try:
            c.deliveries.restore_dead(merchant_id, letters[delivery_id][0], now=now)
        except Exception:
            logger.exception("could not put back a dead letter whose replay failed")
    queued = sorted(d for d in claimed if d not in failed)
    logger.info("dead letters replayed", extra={"replayed": len(queued), "failed": len(failed)})
    wanted = set(delivery_ids) if delivery_ids is not None else set()
    return ReplayResult(
        replayed=len(queued),
        delivery_ids=queued,
        not_found=sorted(wanted - set(claimed)),
        failed=sorted(failed),
        needs_confirmation=sorted(unconfirmed),
        truncated=truncated,
    )
