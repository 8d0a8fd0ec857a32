"""What the analytics aggregator counts of one DynamoDB stream record: an outbox event, an order item's
own image (its order fact, docs/design.md "Cost per order") or a delivery-log attempt."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from pollen.events.envelope import OUTBOX_ENTITY
from pollen.events.stream import NotAnOutboxRecord, outbox_event
from pollen.services.analytics import StreamFact, order_image_event
from pollen.storage.codec import plain
from pollen.storage.keys import DELIVERY_ENTITY, item_merchant
from pollen.storage.orders import ORDER_ENTITY


def read_fact(record: DynamoDBRecord) -> StreamFact | None:
    """The record as a fact to count (None: a delivery item of no merchant, an order without data).
    Anything but an outbox event, an order item or a delivery log item is refused: the stream filter
    should have kept it away."""
    image = (record.dynamodb.new_image if record.dynamodb else None) or {}
    entity = image.get("entity")
    record_id = str(record.dynamodb.sequence_number if record.dynamodb else record.event_id)
    if entity == OUTBOX_ENTITY:
        event = outbox_event(record)
        return StreamFact(record_id, event.merchant_id, event=event)
    if entity == ORDER_ENTITY:
        order = order_image_event(plain(image))
        return StreamFact(record_id, order.merchant_id, event=order) if order else None
    if entity == DELIVERY_ENTITY:
        item = plain(image)
        merchant_id = item_merchant(item)
        return StreamFact(record_id, merchant_id, delivery=item) if merchant_id else None
    raise NotAnOutboxRecord(
        f"record {record.event_id} is not an outbox event, an order or a delivery attempt"
    )
