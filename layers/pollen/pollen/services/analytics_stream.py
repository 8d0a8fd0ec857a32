"""What the analytics aggregator counts of one DynamoDB stream record: an outbox event, a ledger
entry's insert (its own ``wallet_transaction``), an order item's own image (its order fact,
docs/design.md "Cost per order") or a delivery-log attempt."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from pollen.events.envelope import OUTBOX_ENTITY
from pollen.events.stream import NotAnOutboxRecord, outbox_event
from pollen.services.analytics import StreamFact, order_image_event
from pollen.services.stream_events import ledger_record_event
from pollen.storage.codec import plain
from pollen.storage.customers import LEDGER_ENTITY
from pollen.storage.keys import DELIVERY_ENTITY, item_merchant
from pollen.storage.order_images import ORDER_ENTITY


def read_fact(record: DynamoDBRecord) -> StreamFact | None:
    """The record as a fact to count (None: a delivery item of no merchant, an order without data, a
    ledger entry written with an outbox item of its own, which counts it). Anything but an outbox
    event, a ledger entry, an order item or a delivery log item is refused: the stream filter should
    have kept it away. A ledger entry's event has the id its outbox item would have had: a fact is
    counted once by that id whichever record brings it (pollen.storage.analytics)."""
    image = (record.dynamodb.new_image if record.dynamodb else None) or {}
    entity = image.get("entity")
    record_id = str(record.dynamodb.sequence_number if record.dynamodb else record.event_id)
    if entity == OUTBOX_ENTITY:
        event = outbox_event(record)
        return StreamFact(record_id, event.merchant_id, event=event)
    if entity == LEDGER_ENTITY:
        wallet = ledger_record_event(record)
        return StreamFact(record_id, wallet.merchant_id, event=wallet) if wallet else None
    if entity == ORDER_ENTITY:
        order = order_image_event(plain(image))
        return StreamFact(record_id, order.merchant_id, event=order) if order else None
    if entity == DELIVERY_ENTITY:
        item = plain(image)
        merchant_id = item_merchant(item)
        return StreamFact(record_id, merchant_id, delivery=item) if merchant_id else None
    raise NotAnOutboxRecord(
        f"record {record.event_id} is not an outbox event, a ledger entry, an order or a delivery attempt"
    )
