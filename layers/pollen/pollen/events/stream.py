"""Reading outbox events back from DynamoDB Stream records."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from pollen.events.envelope import OUTBOX_ENTITY, OutboxEvent
from pollen.storage.codec import plain


class NotAnOutboxRecord(ValueError):
    """The stream filter should have kept this record away from the function."""


def outbox_event(record: DynamoDBRecord) -> OutboxEvent:
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image or image.get("entity") != OUTBOX_ENTITY:
        raise NotAnOutboxRecord(f"record {record.event_id} is not an outbox insert")
    # Numbers arrive as Decimal: back to int, so the event serialises as it was written (120, not "120").
    return OutboxEvent.from_item(plain(image))
