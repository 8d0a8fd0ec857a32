"""The DeliveryQueue and its DLQ: the only code that talks to SQS.

Dead letters carry why they died as message attributes (``reason``, ``outcome``, ``attempts``,
``http_status``, ``failed_at``) next to the delivery message itself, so listing them needs nothing
else. A message the queue's redrive policy moved (the function failed to handle it six times) has
none of these; the delivery log names its last error.

SQS has no "peek": :meth:`DeliveryQueues.hold_dead_letters` receives the DLQ's messages with a short
visibility timeout (longer than a function may run, so a concurrent scan never takes the same
message) and the caller hands back what it did not delete with :meth:`release` (visibility 0).
Receiving a dead letter changes nothing else: the DLQ has no redrive policy of its own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pollen.clock import isoformat
from pollen.events.delivery import DeliveryMessage
from pollen.observability import logger
from pollen.storage import client

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

BATCH = 10  # SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch take 10 entries
REASON_LIMIT = 1000


class QueueNotConfigured(RuntimeError):
    """The function was deployed without the queue URL it needs (template.yaml sets them)."""


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class HeldMessage:
    """A message received (and held invisible) from a queue."""

    message_id: str
    receipt_handle: str
    body: str
    sent_at: datetime
    receive_count: int
    attributes: dict[str, str] = field(default_factory=dict)


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

    def hold_dead_letters(
        self, *, hold_seconds: int, max_messages: int, time_budget_seconds: float
    ) -> tuple[list[HeldMessage], bool]:
        """Receive every dead letter (up to ``max_messages`` or the time budget), holding each invisible
        for ``hold_seconds``. Returns them and whether the scan stopped before the queue was empty."""
        held: list[HeldMessage] = []
        deadline = time.monotonic() + time_budget_seconds
        while len(held) < max_messages:
            if time.monotonic() >= deadline:
                return held, True
            response = client.sqs().receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=min(BATCH, max_messages - len(held)),
                VisibilityTimeout=hold_seconds,
                WaitTimeSeconds=1,  # long polling asks every SQS server: empty means empty
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            if not received:
                return held, False
            held.extend(_held(raw) for raw in received)
        return held, True

    def release(self, messages: Sequence[HeldMessage]) -> None:
        """Make held messages visible again at once."""
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            try:
                response = client.sqs().change_message_visibility_batch(
                    QueueUrl=self.dlq_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                        for i, m in enumerate(chunk)
                    ],
                )
            except (ClientError, BotoCoreError) as exc:  # they come back when the hold ends anyway
                logger.warning("could not release dead letters", extra={"error": str(exc)})
                continue
            if response.get("Failed"):
                logger.warning("could not release dead letters", extra={"failed": response["Failed"]})

    def delete_dead_letters(self, messages: Sequence[HeldMessage]) -> set[str]:
        """Delete held dead letters; returns the message ids that could not be deleted."""
        failed: set[str] = set()
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            response = client.sqs().delete_message_batch(
                QueueUrl=self.dlq_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                failed.add(chunk[int(failure["Id"])].message_id)
        return failed


def _held(raw: Any) -> HeldMessage:
    system = raw.get("Attributes") or {}
    attributes = {
        name: str(value.get("StringValue", ""))
        for name, value in (raw.get("MessageAttributes") or {}).items()
        if "StringValue" in value
    }
    return HeldMessage(
        message_id=raw["MessageId"],
        receipt_handle=raw["ReceiptHandle"],
        body=raw.get("Body", ""),
        sent_at=datetime.fromtimestamp(int(system.get("SentTimestamp", "0")) / 1000, UTC),
        receive_count=int(system.get("ApproximateReceiveCount", "0")),
        attributes=attributes,
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
