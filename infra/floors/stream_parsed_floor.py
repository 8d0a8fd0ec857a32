"""The stream floor with a parsed boundary: :mod:`stream_floor` plus one pydantic model validating
each record's body, as Powertools' parser utility would. Not a limit: `make bench` prints how much
this costs over the plain stream floor, since every Pollen consumer validates what it reads with
pydantic models (the HTTP floor already includes a pydantic body)."""

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
from pydantic import BaseModel

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
sqs = boto3.client("sqs")
QUEUE_URL = os.environ.get("QUEUE_URL", "")


class Message(BaseModel):
    message_id: str
    body: dict[str, Any]


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    message = Message(message_id=record.message_id, body=record.json_body)
    sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps(message.body))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
