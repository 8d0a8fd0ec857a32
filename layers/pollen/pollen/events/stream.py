"""Reading outbox events back from DynamoDB Stream records."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from pollen.events.envelope import OUTBOX_ENTITY, OutboxEvent


class NotAnOutboxRecord(ValueError):
    """The stream filter should have kept this record away from the function."""


def outbox_event(record: DynamoDBRecord) -> OutboxEvent:
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image or image.get("entity") != OUTBOX_ENTITY:
        raise NotAnOutboxRecord(f"record {record.event_id} is not an outbox insert")
    return OutboxEvent.from_item(image)
