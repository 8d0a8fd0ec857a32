"""Folds outbox events and delivery-log attempts into daily rollup items (docs/design.md invariant 4).

The whole batch is folded at once, not record by record: per merchant one transaction with one write
per local day touched (plus a marker per fact, which makes redelivery, retries, split batches and
replays count nothing twice). So Powertools' per-record BatchProcessor does not fit; the handler
answers the same partial-batch response shape itself. A record that cannot be read, or whose
merchant's write failed, is reported; the stream retries from it, and markers skip what did commit.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.clock import utcnow
from pollen.events.envelope import OUTBOX_ENTITY
from pollen.events.stream import NotAnOutboxRecord, outbox_event
from pollen.observability import lambda_entry, logger, metrics
from pollen.services.analytics import StreamFact, aggregate, order_image_event
from pollen.services.container import container
from pollen.storage.codec import plain
from pollen.storage.deliveries import DELIVERY_ENTITY
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
    if entity == ORDER_ENTITY:  # the order item's own image is its order fact (no outbox item)
        order = order_image_event(plain(image))
        return StreamFact(record_id, order.merchant_id, event=order) if order else None
    if entity == DELIVERY_ENTITY:
        item = plain(image)
        pk = str(item.get("PK", ""))
        merchant_id = pk.split("#")[1] if pk.startswith("M#") else ""
        return StreamFact(record_id, merchant_id, delivery=item) if merchant_id else None
    raise NotAnOutboxRecord(
        f"record {record.event_id} is not an outbox event, an order or a delivery attempt"
    )


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    facts: list[StreamFact] = []
    failures: list[str] = []
    for raw in event.get("Records", []):
        record = DynamoDBRecord(raw)
        try:
            fact = read_fact(record)
        except Exception:
            logger.exception("unreadable stream record", extra={"event_id": record.event_id})
            failures.append(str(record.dynamodb.sequence_number if record.dynamodb else record.event_id))
            continue
        if fact is not None:
            facts.append(fact)
    results, failed = aggregate(container(), facts, utcnow())
    failures.extend(sorted(failed))
    applied = sum(r.applied for r in results.values())
    duplicates = sum(r.duplicates for r in results.values())
    metrics.add_metric(name="RollupFactsApplied", unit=MetricUnit.Count, value=applied)
    if duplicates:
        metrics.add_metric(name="RollupFactsAlreadyCounted", unit=MetricUnit.Count, value=duplicates)
    logger.info(
        "stream batch folded",
        extra={
            "records": len(event.get("Records", [])),
            "applied": applied,
            "duplicates": duplicates,
            "failed": len(failures),
        },
    )
    return {"batchItemFailures": [{"itemIdentifier": f} for f in failures]}
