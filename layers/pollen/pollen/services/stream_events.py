"""The events a DynamoDB Stream record carries, for the event router and the analytics aggregator:
an outbox item's insert, or a ledger entry's insert, which is its own ``wallet_transaction`` event
(:mod:`pollen.events.ledger`; docs/design.md, "Cost per order")."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from pollen.domain.values import value
from pollen.events.envelope import OutboxEvent
from pollen.events.stream import NotAnOutboxRecord, outbox_event
from pollen.storage.codec import plain
from pollen.storage.customers import LEDGER_ENTITY, ledger_event


@value
class StreamEvent:
    """An event read from a record; ``from_ledger``: its payload's ``customer`` names the id only
    (the router fills it from the customer's item)."""

    event: OutboxEvent
    from_ledger: bool


def _image(record: DynamoDBRecord) -> dict[str, object]:
    return (record.dynamodb.new_image if record.dynamodb else None) or {}


def is_ledger_record(record: DynamoDBRecord) -> bool:
    return _image(record).get("entity") == LEDGER_ENTITY


def ledger_record_event(record: DynamoDBRecord) -> OutboxEvent | None:
    """A ledger entry's insert as its ``wallet_transaction`` (customer by id only); None for an entry
    written with an outbox item of its own, before entries carried their event's id (that item's
    record carries the event: counting or routing this one too would do it twice)."""
    if not is_ledger_record(record) or record.get("eventName") != "INSERT":
        raise NotAnOutboxRecord(f"record {record.event_id} is not a ledger insert")
    # Numbers arrive as Decimal: back to int, as the entry was written.
    return ledger_event(plain(_image(record)))


def stream_event(record: DynamoDBRecord) -> StreamEvent | None:
    """The event a record carries (None: a ledger entry whose event is its outbox item's); raises
    :class:`NotAnOutboxRecord` for anything else."""
    if is_ledger_record(record):
        event = ledger_record_event(record)
        return StreamEvent(event, from_ledger=True) if event is not None else None
    return StreamEvent(outbox_event(record), from_ledger=False)
