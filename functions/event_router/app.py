"""Routes outbox events (from the table's stream, filtered to outbox inserts) to integrations.

The whole batch is routed at once (log items put concurrently, messages in batches of 10; see
:mod:`pollen.services.routing`); the batch processor then reports each record that failed, or that
is not an outbox event, so the stream routes it again instead of dropping it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBStreamEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.clock import utcnow
from pollen.events.envelope import OutboxEvent
from pollen.events.stream import outbox_event
from pollen.observability import lambda_entry, metrics
from pollen.services import routing
from pollen.services.container import container

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


class RoutingFailed(RuntimeError):
    """This record's deliveries were not all queued; the stream delivers it again."""


def _sequence_number(record: DynamoDBRecord) -> str:
    return str(record.dynamodb.sequence_number if record.dynamodb else record.event_id)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    events: list[tuple[str, OutboxEvent]] = []
    for record in DynamoDBStreamEvent(event).records:
        try:
            events.append((_sequence_number(record), outbox_event(record)))
        except ValueError:
            continue  # reported failed by the record handler below
    result = routing.route(container(), events, now=utcnow())
    metrics.add_metric(name="OutboxEventsRouted", unit=MetricUnit.Count, value=len(events))
    metrics.add_metric(name="DeliveriesQueued", unit=MetricUnit.Count, value=result.queued)

    def record_handler(record: DynamoDBRecord) -> None:
        outbox_event(record)  # raises for a record that is not an outbox event
        reason = result.failed.get(_sequence_number(record))
        if reason is not None:
            raise RoutingFailed(reason)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
