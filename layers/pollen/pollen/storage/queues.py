"""The DeliveryQueue and its DLQ: the only code that talks to SQS.

Dead letters copied to the DLQ carry why they died as message attributes (``reason``, ``outcome``,
``attempts``, ``http_status``, ``failed_at``) next to the delivery message itself, for an operator
reading the queue. A message the queue's redrive policy moved (the function failed to handle it six
times) has none of these; the delivery log names its last error. Dead letters are listed and
replayed from their index in the table (:mod:`pollen.services.dead_letters`), never by receiving
from this queue, which every merchant shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pollen.clock import isoformat
from pollen.domain.values import value
from pollen.events.delivery import DeliveryMessage
from pollen.observability import logger
from pollen.storage import client

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

BATCH = 10  # SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch take 10 entries
REASON_LIMIT = 1000


class QueueNotConfigured(RuntimeError):
    """The function was deployed without the queue URL it needs (template.yaml sets them)."""


@value
class DeadLetterReason:
    reason: str
    outcome: str  # "permanent" | "exhausted" | "uncertain"
    attempts: int
    http_status: int | None = None
    failed_at: datetime | None = None

    def attributes(self) -> dict[str, MessageAttributeValueTypeDef]:
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            "reason": {"DataType": "String", "StringValue": self.reason[:REASON_LIMIT] or "-"},
            "outcome": {"DataType": "String", "StringValue": self.outcome},
            "attempts": {"DataType": "Number", "StringValue": str(self.attempts)},
        }
        if self.http_status is not None:
            attributes["http_status"] = {"DataType": "Number", "StringValue": str(self.http_status)}
        if self.failed_at is not None:
            attributes["failed_at"] = {"DataType": "String", "StringValue": isoformat(self.failed_at)}
        return attributes

    @classmethod
    def from_attributes(cls, attributes: dict[str, str]) -> DeadLetterReason | None:
        if "reason" not in attributes:
            return None
        status = attributes.get("http_status")
        failed_at = attributes.get("failed_at")
        return cls(
            reason=attributes["reason"],
            outcome=attributes.get("outcome", "exhausted"),
            attempts=int(attributes.get("attempts", "0")),
            http_status=int(status) if status else None,
            failed_at=datetime.fromisoformat(failed_at) if failed_at else None,
        )


def _message_attributes(message: DeliveryMessage) -> dict[str, MessageAttributeValueTypeDef]:
    return {
        "merchant_id": {"DataType": "String", "StringValue": message.merchant_id},
        "delivery_id": {"DataType": "String", "StringValue": message.delivery_id},
        "event_type": {"DataType": "String", "StringValue": message.event_type},
    }


class DeliveryQueues:
    def __init__(self, queue_url: str | None, dlq_url: str | None) -> None:
        self._queue_url = queue_url
        self._dlq_url = dlq_url

    @property
    def queue_url(self) -> str:
        if not self._queue_url:
            raise QueueNotConfigured("DELIVERY_QUEUE_URL is not set")
        return self._queue_url

    @property
    def dlq_url(self) -> str:
        if not self._dlq_url:
            raise QueueNotConfigured("DELIVERY_DLQ_URL is not set")
        return self._dlq_url

    def send(self, messages: Sequence[DeliveryMessage]) -> set[str]:
        """Queue ``messages`` with SendMessageBatch (10 a call); returns the delivery ids not queued."""
        failed: set[str] = set()
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            try:
                response = client.sqs().send_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[_entry(index, message) for index, message in enumerate(chunk)],
                )
            except (ClientError, BotoCoreError) as exc:
                logger.warning("SendMessageBatch failed", extra={"error": str(exc), "messages": len(chunk)})
                failed.update(message.delivery_id for message in chunk)
                continue
            for failure in response.get("Failed", []):
                message = chunk[int(failure["Id"])]
                logger.warning(
                    "message not queued",
                    extra={"delivery_id": message.delivery_id, "code": failure.get("Code")},
                )
                failed.add(message.delivery_id)
        return failed

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        """Keep a received message invisible for ``delay_seconds``: SQS hands it back then."""
        client.sqs().change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_seconds
        )

    def dead_letter(self, message: DeliveryMessage, reason: DeadLetterReason) -> None:
        client.sqs().send_message(
            QueueUrl=self.dlq_url,
            MessageBody=message.model_dump_json(),
            MessageAttributes={**_message_attributes(message), **reason.attributes()},
        )


def _entry(index: int, message: DeliveryMessage) -> SendMessageBatchRequestEntryTypeDef:
    entry: SendMessageBatchRequestEntryTypeDef = {
        "Id": str(index),
        "MessageBody": message.model_dump_json(),
        "MessageAttributes": _message_attributes(message),
    }
    if message.delay_seconds:  # a debounced event waits for the end of its window
        entry["DelaySeconds"] = message.delay_seconds
    return entry
