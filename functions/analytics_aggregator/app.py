"""Folds outbox events into daily rollup items (docs/design.md invariant 4).

Rollup arithmetic arrives with the analytics issue; until then the aggregator validates and counts
every event, failing unreadable records alone (partial batch response) so none is skipped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.events.stream import outbox_event
from pollen.observability import lambda_entry, logger, metrics

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def record_handler(record: DynamoDBRecord) -> None:
    event = outbox_event(record)
    logger.debug("event for rollups", extra={"event_type": event.event_type, "event_id": event.event_id})
    metrics.add_metric(name="OutboxEventsAggregated", unit=MetricUnit.Count, value=1)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
