"""Routes events (from the table's stream, filtered to outbox and ledger inserts) to integrations.

A ledger entry's insert is its own ``wallet_transaction`` event (pollen.events.ledger): its payload's
customer is filled from the customer's item when it is routed somewhere. The whole batch is routed at
once (one read of those customers, log items put concurrently, messages in batches of 10; see
:mod:`pollen.services.routing`); the batch processor then reports each record that failed, or that
is not an event, so the stream routes it again instead of dropping it.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

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
from pollen.observability import lambda_entry, metrics
from pollen.services import routing
from pollen.services.container import container
from pollen.services.stream_events import stream_event

processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


class RoutingFailed(RuntimeError):
    """This record's deliveries were not all queued; the stream delivers it again."""


def _sequence_number(record: DynamoDBRecord) -> str:
    return str(record.dynamodb.sequence_number if record.dynamodb else record.event_id)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    events: list[tuple[str, OutboxEvent]] = []
    from_ledger: set[str] = set()
    for record in DynamoDBStreamEvent(event).records:
        try:
            read = stream_event(record)
        except ValueError:
            continue  # reported failed by the record handler below
        if read is None:
            continue  # a ledger entry written with an outbox item of its own: that item's record routes it
        record_id = _sequence_number(record)
        events.append((record_id, read.event))
        if read.from_ledger:
            from_ledger.add(record_id)
    result = routing.route(container(), events, now=utcnow(), from_ledger=from_ledger)
    metrics.add_metric(name="OutboxEventsRouted", unit=MetricUnit.Count, value=len(events))
    metrics.add_metric(name="DeliveriesQueued", unit=MetricUnit.Count, value=result.queued)

    def record_handler(record: DynamoDBRecord) -> None:
        stream_event(record)  # raises for a record that is neither an outbox nor a ledger insert
        reason = result.failed.get(_sequence_number(record))
        if reason is not None:
            raise RoutingFailed(reason)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
