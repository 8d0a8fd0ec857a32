"""Delivers queued events to Klaviyo, Omnisend or signed webhooks (see :mod:`pollen.services.delivery`).

A message is acknowledged once it is delivered, skipped or parked in the DLQ with its reason; a
failed try that has retries left is reported failed after its visibility timeout was set to the
backoff, so SQS hands it back then. Anything unexpected (an unreadable message, DynamoDB down) is
reported failed too: the queue's redrive policy moves a message that keeps failing to the DLQ.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.clock import utcnow
from pollen.observability import lambda_entry, metrics
from pollen.services import delivery
from pollen.services.container import container

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    received = delivery.Received(
        body=record.body,
        receive_count=int(record.attributes.approximate_receive_count),
        receipt_handle=record.receipt_handle,
        message_id=record.message_id,
    )
    try:
        status = delivery.handle_message(container(), received, now=utcnow())
    except delivery.RetryLater:
        metrics.add_metric(name="DeliveriesRetrying", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name=f"Deliveries{status.value.capitalize()}", unit=MetricUnit.Count, value=1)


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
