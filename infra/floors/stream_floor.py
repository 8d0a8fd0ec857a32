"""The stream/queue floor: what any traced Powertools batch consumer on AWS costs to import.

Tracer, Logger, Metrics, a ``BatchProcessor`` reporting partial failures and one boto3 client: the
same features every Pollen stream, queue and scheduled function has.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
sqs = boto3.client("sqs")
QUEUE_URL = os.environ.get("QUEUE_URL", "")


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps(record.json_body))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
