"""Delivers queued events to Klaviyo, Omnisend or signed webhooks (the events issue builds the adapters).

Until the adapters land, a message is validated and then reported as failed, so it is retried and
finally kept in the DeliveryDLQ for replay: nothing is acknowledged that was not delivered.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.events.delivery import DeliveryMessage, DeliveryNotAvailable
from pollen.observability import lambda_entry, logger

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    message = DeliveryMessage.model_validate_json(record.body)
    logger.warning("no delivery adapter yet", extra={"delivery_id": message.delivery_id})
    raise DeliveryNotAvailable(f"no adapter for integration {message.integration_id}")


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
