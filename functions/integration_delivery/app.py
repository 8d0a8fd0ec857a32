"""Delivers queued events to Klaviyo, Omnisend or signed webhooks (see :mod:`pollen.services.delivery`).

A batch's messages are delivered side by side: the invocation waits for the slowest receiver, not
for the sum of them (a receiver may take up to the 10 s request limit).

A message is acknowledged once it is delivered, skipped or parked in the DLQ with its reason; a
failed try that has retries left is reported failed after its visibility timeout was set to the
backoff, so SQS hands it back then. Anything unexpected (an unreadable message, DynamoDB down) is
reported failed too: the queue's redrive policy moves a message that keeps failing to the DLQ.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

import threading
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.clock import utcnow
from pollen.concurrent_batch import ConcurrentBatchProcessor
from pollen.observability import lambda_entry, metrics
from pollen.services import delivery
from pollen.services.container import container

BATCH_SIZE = 5  # template.yaml's DeliveryQueue event source: every message of a batch at once
processor = ConcurrentBatchProcessor(
    event_type=EventType.SQS, raise_on_entire_batch_failure=False, workers=BATCH_SIZE
)
_counting = threading.Lock()  # Powertools' metric set is not thread-safe


def _count(name: str) -> None:
    with _counting:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def record_handler(record: SQSRecord) -> None:
    c = container()
    received = delivery.Received(
        body=record.body,
        receive_count=int(record.attributes.approximate_receive_count),
        receipt_handle=record.receipt_handle,
        message_id=record.message_id,
    )
    try:
        status = delivery.handle_message(c, received, now=utcnow())
    except delivery.RetryLater:
        _count("DeliveriesRetrying")
        raise
    _count(f"Deliveries{status.value.capitalize()}")


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    container()  # built here, not by the first of the batch's threads to need it
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
