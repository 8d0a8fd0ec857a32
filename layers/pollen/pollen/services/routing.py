"""Routing: each outbox event becomes one queued delivery per matching subscription.

Per stream batch: the merchants' configs come from the warm cache (0 DynamoDB calls), the
deliveries' log items are created ``pending`` with one conditional ``PutItem`` each, up to 16 at once
(the items are independent, and a transaction would write them at twice the price), and the messages
go out with ``SendMessageBatch`` (10 a call). A record is reported failed, and so routed again by the
stream, when its config could not be read, one of its log items could not be written, or one of its
messages was not queued. Deliveries whose items were written go out even when another's was not:
a ``profile_updated`` item found ``pending`` on a re-route reads as already queued. For the same
reason a ``profile_updated`` message that is not queued has its item deleted at once (released), so
the re-routed record makes it again and queues it. A ledger entry's ``wallet_transaction`` (the entry
is the event) gets its customer's profile from one batched read of the customers whose events go
somewhere (:func:`with_customers`); when that read fails, those records are routed again.

Routing the same record again is safe: delivery ids are derived from event and subscription, so the
log keeps one item per delivery, and a delivery whose item shows it was already handled (anything but
``pending``) is not queued a second time.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from pollen.domain.deliveries import DeliveryStatus
from pollen.domain.integrations import EventsConfig
from pollen.domain.values import value
from pollen.events.deliverable import DELIVERABLE, WALLET_TRANSACTION
from pollen.events.delivery import DeliveryMessage
from pollen.events.envelope import OutboxEvent
from pollen.events.ledger import with_customer
from pollen.ids import stable_ulid
from pollen.observability import logger
from pollen.services.container import Container
from pollen.storage.deliveries import PendingNotWritten
from pollen.storage.event_config import events_config
from pollen.storage.merchant_config import MerchantConfig

_parsed_lock = threading.Lock()
_parsed: dict[str, tuple[MerchantConfig, EventsConfig]] = {}


def merchant_events(c: Container, merchant_id: str) -> EventsConfig | None:
    """The merchant's events config from the cached config; parsed once per cached config object."""
    config = c.config.get(merchant_id)
    if config is None:
        return None
    with _parsed_lock:
        hit = _parsed.get(merchant_id)
    if hit is not None and hit[0] is config:
        return hit[1]
    parsed = events_config(config)
    with _parsed_lock:
        _parsed[merchant_id] = (config, parsed)
    return parsed


@value
class RouteResult:
    failed: dict[str, str]  # record id -> why it must be routed again
    queued: int  # messages sent
    already_handled: int  # deliveries a re-routed record had queued before


PROFILE_UPDATED = "profile_updated"


def profile_update(event: OutboxEvent, *, window_minutes: int) -> OutboxEvent | None:
    """The debounced ``profile_updated`` a wallet change belongs to: one per customer per window,
    named by (window, customer), so every change in the window maps to the same event and delivery."""
    if event.event_type != WALLET_TRANSACTION or not event.customer_id:
        return None
    window = window_minutes * 60_000
    start_ms = int(event.occurred_at.timestamp() * 1000) // window * window
    customer = event.payload.get("customer")
    return OutboxEvent(
        event_id=stable_ulid(start_ms, f"{event.merchant_id}:{event.customer_id}"),
        event_type=PROFILE_UPDATED,
        merchant_id=event.merchant_id,
        customer_id=event.customer_id,
        occurred_at=datetime.fromtimestamp((start_ms + window) / 1000, tz=UTC),
        payload={
            "window_start": datetime.fromtimestamp(start_ms / 1000, tz=UTC).isoformat(),
            "customer": customer if isinstance(customer, dict) else {"customer_id": event.customer_id},
        },
    )


def _goes_somewhere(c: Container, event: OutboxEvent) -> bool:
    """Whether :func:`plan` makes any message of ``event``: its routes, or its ``profile_updated``'s,
    found without building the messages (the router asks this before reading customers)."""
    config = merchant_events(c, event.merchant_id)
    if config is None:
        return False
    if config.routes(event, DELIVERABLE):
        return True
    update = profile_update(event, window_minutes=c.settings.profile_sync_minutes)
    return update is not None and bool(config.routes(update, DELIVERABLE))


def plan(c: Container, event: OutboxEvent, *, now: datetime) -> list[DeliveryMessage]:
    """The messages ``event`` becomes (none when the switch is off or nothing subscribes), with the
    customer's debounced ``profile_updated``, held until its window ends, where it is subscribed."""
    config = merchant_events(c, event.merchant_id)
    if config is None:
        logger.warning("event of an unknown merchant", extra={"merchant_id": event.merchant_id})
        return []
    messages = [
        DeliveryMessage.for_route(
            event, subscription.subscription_id, integration.integration_id, routed_at=now
        )
        for subscription, integration in config.routes(event, DELIVERABLE)
    ]
    update = profile_update(event, window_minutes=c.settings.profile_sync_minutes)
    if update is not None:
        delay = max(0, min(900, int((update.occurred_at - now).total_seconds())))
        messages += [
            DeliveryMessage.for_route(
                update, subscription.subscription_id, integration.integration_id, routed_at=now
            ).model_copy(update={"delay_seconds": delay})
            for subscription, integration in config.routes(update, DELIVERABLE)
        ]
    logger.info(
        "outbox event",
        extra={"event_type": event.event_type, "event_id": event.event_id, "deliveries": len(messages)},
    )
    return messages


def with_customers(
    c: Container, records: Sequence[tuple[str, OutboxEvent]], from_ledger: Collection[str]
) -> tuple[list[tuple[str, OutboxEvent]], dict[str, str]]:
    """The records with each ledger entry's event (record ids in ``from_ledger``) given its customer's
    profile as the customer's item holds it now: one strongly consistent batched read for the distinct
    customers of the events that go somewhere, none when none does (a store without integrations pays
    no read). When the read fails, those records are returned as failed (routed again), not routed."""
    wanted: list[tuple[str, OutboxEvent]] = []
    for record_id, event in records:
        if record_id not in from_ledger or not event.customer_id:
            continue
        try:
            if _goes_somewhere(c, event):
                wanted.append((record_id, event))
        except Exception:  # noqa: S112 - a config read failed: routing reports this record below
            continue
    if not wanted:
        return list(records), {}
    # not at init: the delivery function imports this module for merchant_events only
    from pollen.storage.customers import CustomerStore  # noqa: PLC0415

    customers = {(event.merchant_id, event.customer_id or "") for _, event in wanted}
    try:
        found = CustomerStore(c.table).profiles(customers)
    except Exception as exc:
        logger.exception("cannot read the customers of ledger events", extra={"customers": len(customers)})
        failed = {record_id: f"customers not read: {exc}" for record_id, _ in wanted}
        return [(r, e) for r, e in records if r not in failed], failed
    filled = {
        record_id: with_customer(event, found.get((event.merchant_id, event.customer_id or "")))
        for record_id, event in wanted
    }
    return [(r, filled.get(r, e)) for r, e in records], {}


def route(
    c: Container,
    records: Sequence[tuple[str, OutboxEvent]],
    *,
    now: datetime,
    from_ledger: Collection[str] = (),
) -> RouteResult:
    """Route the batch's events; those of ``from_ledger`` records (ledger entries) get their
    customer's profile first (:func:`with_customers`)."""
    records, failed = with_customers(c, records, from_ledger)
    planned: list[tuple[str, DeliveryMessage]] = []
    for record_id, event in records:
        try:
            planned.extend((record_id, message) for message in plan(c, event, now=now))
        except Exception as exc:  # a config read failed: this record is routed again
            logger.exception("cannot route event", extra={"event_id": event.event_id})
            failed[record_id] = f"routing failed: {exc}"
    if not planned:
        return RouteResult(failed, 0, 0)

    unwritten: dict[str, Exception] = {}  # delivery id -> why its log item was not written
    try:
        existing = c.deliveries.create_pending([message for _, message in planned], now=now)
    except PendingNotWritten as exc:  # the others were written: they go out now (see above)
        logger.exception("cannot write the delivery log", extra={"deliveries": len(exc.errors)})
        existing, unwritten = exc.existing, exc.errors
    except Exception as exc:
        logger.exception("cannot write the delivery log", extra={"deliveries": len(planned)})
        existing, unwritten = {}, {message.delivery_id: exc for _, message in planned}

    to_send: list[tuple[str, DeliveryMessage]] = []
    seen: set[str] = set()
    for record_id, message in planned:
        if message.delivery_id in unwritten:
            failed[record_id] = f"delivery log not written: {unwritten[message.delivery_id]}"
            continue
        status = existing.get(message.delivery_id)
        if message.delivery_id in seen or (status is not None and status != DeliveryStatus.PENDING):
            continue  # queued before and already tried (or dead-lettered: replay is the way back)
        if status is not None and message.event_type == PROFILE_UPDATED:
            continue  # the window's update is queued already: this change rides on it
        seen.add(message.delivery_id)
        to_send.append((record_id, message))

    not_queued = _queue(c, [message for _, message in to_send])
    for record_id, message in to_send:
        if message.delivery_id in not_queued:
            failed[record_id] = f"delivery {message.delivery_id} not queued"
    handled = sum(1 for _, message in planned if message.delivery_id not in unwritten) - len(to_send)
    if handled:
        logger.info("re-routed record: deliveries already handled", extra={"deliveries": handled})
    return RouteResult(failed, len(to_send) - len(not_queued), handled)


def _queue(c: Container, messages: list[DeliveryMessage]) -> set[str]:
    """Send ``messages``; returns the delivery ids not queued (all of them when sending raised), whose
    ``profile_updated`` items are released first (:func:`_release_updates`)."""
    try:
        not_queued = c.queues.send(messages)
    except Exception:  # none known queued: their records are routed again
        logger.exception("cannot queue the deliveries", extra={"deliveries": len(messages)})
        not_queued = {message.delivery_id for message in messages}
    _release_updates(
        c, [m for m in messages if m.delivery_id in not_queued and m.event_type == PROFILE_UPDATED]
    )
    return not_queued


def _release_updates(c: Container, refused: list[DeliveryMessage]) -> None:
    """Delete the ``pending`` items of the ``profile_updated`` messages SQS refused. Such an item found
    ``pending`` reads as queued (the window's later changes ride on it), so it must not outlive its
    refused message: without it, the record (reported failed) creates and queues it again when routed
    again. Were the delete refused too, the item stays and that window's update is not sent; the next
    window's carries the profile as it is then."""
    if not refused:
        return
    try:
        errors = c.deliveries.release_pending(refused)
    except Exception as exc:
        errors = {message.delivery_id: exc for message in refused}
    if errors:
        logger.error(
            "profile update not queued and its pending item not released: its window is not sent",
            extra={"deliveries": sorted(errors), "error": str(next(iter(errors.values())))},
        )
