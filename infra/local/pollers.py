"""Event source mappings, locally: DynamoDB stream and SQS pollers that invoke functions like Lambda.

Each poller is a daemon thread that stops when its ``stop`` event is set. They build the exact
records Lambda sends, apply the source's ``FilterCriteria``, batch by ``BatchSize`` and
``MaximumBatchingWindowInSeconds``, and honour ``ReportBatchItemFailures``:

* streams retry from the lowest failed sequence number (or the whole batch when the function
  raises, halving it first with ``BisectBatchOnFunctionError``) up to ``MaximumRetryAttempts``,
  then log the records as discarded and move on, in shard order;
* SQS deletes what succeeded (and what the filter dropped) and leaves failures in the queue, so
  their visibility timeout and the queue's redrive policy decide what happens next, as on AWS.

Local differences: streams start at ``TRIM_HORIZON`` whatever the template says (the local table is
as new as the mapping, so this is what AWS would have delivered), and one poller per source
invokes one batch at a time.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from infra.event_filters import record_matches, sqs_filter_view, validate_pattern
from infra.template import FunctionSpec, SqsSource, StreamSource

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger("pollen.local.pollers")

Invoker = Callable[[FunctionSpec, Any], Any]

ACTIVE_POLL_SECONDS = 0.2  # right after records arrived (Lambda polls a shard about 4 times a second)
IDLE_POLL_SECONDS = 1.0  # after a quiet spell; each moto get_records call keeps a new iterator alive
MAX_RETRY_BACKOFF_SECONDS = 10.0
VERIFY_SECONDS = 5.0  # how often an idle stream poller checks its iterator against a fresh one
STALLED_AFTER_SECONDS = 30.0  # no poll finished for this long (plus the function's timeout): stalled
LAGGING_AFTER_SECONDS = 60.0  # the oldest record not yet processed is older than this: lagging
WRITE_CHECK_SECONDS = 0.05  # how often an idle stream poller looks at the stream write counter


class _StreamWrites:
    """Counts records moto appends to any stream shard of this process (``StreamShard.add``).

    Where moto runs in the pollers' process (the local stack, in-process tests), an idle stream poller
    polls again as soon as a record was written (but no sooner than ``ACTIVE_POLL_SECONDS`` after its
    last poll, about as often as Lambda polls a shard) instead of after its idle interval: what it
    reads, and when batches are due, is unchanged; only a quiet poller's reaction to a new record is
    no longer up to a second late. With moto elsewhere the count never moves and pollers keep their
    intervals."""

    count = 0

    @classmethod
    def install(cls) -> None:
        """Idempotent; wraps moto's ``StreamShard.add`` for the whole process."""
        from moto.dynamodb.models.table import StreamShard  # noqa: PLC0415 - only where moto is in-process

        original = StreamShard.add
        if getattr(original, "__pollen_counted__", False):
            return

        def add(shard: Any, old: Any, new: Any) -> None:
            original(shard, old, new)
            cls.count += 1  # a lost increment under a race still differs from the count a poller saw

        add.__pollen_counted__ = True  # type: ignore[attr-defined]
        StreamShard.add = add  # type: ignore[method-assign,assignment]


def _wire(value: Any) -> Any:
    """A boto3-deserialised DynamoDB value in the JSON form Lambda sends (binary as base64)."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def lambda_stream_record(raw: Mapping[str, Any], *, stream_arn: str, region: str) -> dict[str, Any]:
    """A ``GetRecords`` record reshaped as the record of a Lambda DynamoDB Streams event."""
    source = raw["dynamodb"]
    dynamodb: dict[str, Any] = {}
    created = source.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    elif created is not None:
        dynamodb["ApproximateCreationDateTime"] = float(created)
    for key in ("Keys", "NewImage", "OldImage"):
        if key in source:
            dynamodb[key] = _wire(source[key])
    dynamodb["SequenceNumber"] = str(source["SequenceNumber"])
    dynamodb["SizeBytes"] = int(source.get("SizeBytes", 0))
    dynamodb["StreamViewType"] = source.get("StreamViewType", "NEW_IMAGE")
    record: dict[str, Any] = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion", region),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:
        record["userIdentity"] = dict(raw["userIdentity"])
    return record


def lambda_sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """A ``ReceiveMessage`` message reshaped as the record of a Lambda SQS event."""
    attributes = {
        name: str(value)
        for name, value in (message.get("Attributes") or {}).items()
        if name
        not in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
    }
    ordered = {
        name: str(message["Attributes"][name])
        for name in (
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
        )
        if name in (message.get("Attributes") or {})
    }
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {**ordered, **attributes},
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = _wire(value["BinaryValue"])
    shaped["stringListValues"] = list(value.get("StringListValues") or [])
    shaped["binaryListValues"] = [_wire(item) for item in value.get("BinaryListValues") or []]
    shaped["dataType"] = value.get("DataType", "String")
    return shaped


def _iso(epoch_seconds: float, *, milliseconds: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    if milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _failed_ids(result: Any) -> list[Any] | None:
    """Item identifiers from a ``batchItemFailures`` response; None means "the whole batch"."""
    if result is None or not isinstance(result, Mapping) or result.get("batchItemFailures") is None:
        return []
    failures = result["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    ids = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier:
            return None
        ids.append(identifier)
    return ids


class _Poller:
    """A polling loop on its own daemon thread, stopped by ``stop``."""

    sleeps_when_idle = True  # False when poll_once long-polls by itself

    kind = "poller"

    def __init__(self, name: str, stop: threading.Event, *, timeout: float = 0.0) -> None:
        self.name = name
        self.stop_event = stop
        self.thread = threading.Thread(target=self.run, name=name, daemon=True)
        self.timeout = timeout
        self.heartbeat = time.time()  # the loop was last seen alive (a poll or an invocation ended)
        self.last_progress: float | None = None  # records were last read or delivered
        self.records = 0
        self.errors = 0
        self.last_error: tuple[float, str] | None = None

    def beat(self) -> None:
        self.heartbeat = time.time()

    def failed(self, message: str) -> None:
        self.errors += 1
        self.last_error = (time.time(), message)

    def lag_seconds(self) -> float:
        """Age of the oldest record read or known to be waiting but not processed yet."""
        return 0.0

    def status(self) -> dict[str, Any]:
        """What ``/v1/health`` shows for this poller locally."""
        now = time.time()
        lag = round(self.lag_seconds(), 1)
        if not self.thread.is_alive():
            state = "stopped" if self.stop_event.is_set() else "dead"
        elif now - self.heartbeat > STALLED_AFTER_SECONDS + self.timeout:
            state = "stalled"
        elif lag > LAGGING_AFTER_SECONDS:
            state = "lagging"
        else:
            state = "ok"
        return {
            "name": self.name,
            "source": self.kind,
            "state": state,
            "lag_seconds": lag,
            "last_poll": _iso(self.heartbeat),
            "last_progress": _iso(self.last_progress) if self.last_progress else None,
            "records": self.records,
            "errors": self.errors,
            "last_error": (
                {"at": _iso(self.last_error[0]), "message": self.last_error[1]} if self.last_error else None
            ),
        }

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def poll_once(self) -> int:
        raise NotImplementedError

    def due_in(self) -> float | None:
        """Seconds until buffered work is due, if any is waiting."""
        return None

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` between polls, or until stopped."""
        self.stop_event.wait(seconds)

    def run(self) -> None:
        interval = ACTIVE_POLL_SECONDS
        while not self.stop_event.is_set():
            try:
                handled = self.poll_once()
            except Exception as exc:
                if self.stop_event.is_set():
                    return
                self.failed(f"{type(exc).__name__}: {exc}")
                log.exception("%s: polling failed; retrying in %.0f s", self.name, IDLE_POLL_SECONDS)
                self.stop_event.wait(IDLE_POLL_SECONDS)
                continue
            self.beat()
            if handled:
                self.records += handled
                self.last_progress = time.time()
            if handled:
                interval = ACTIVE_POLL_SECONDS
            delay = interval if self.sleeps_when_idle else 0.0
            due = self.due_in()
            if due is not None:
                delay = min(delay, due)
            if delay > 0:
                self.pause(delay)
            if not handled:
                interval = min(IDLE_POLL_SECONDS, interval * 1.5)


# ---- DynamoDB Streams ------------------------------------------------------------------------------------


class StreamPoller(_Poller):
    """Reads every shard of one stream for one ``DynamoDB`` event source of one function."""

    kind = "stream"

    def __init__(
        self,
        spec: FunctionSpec,
        source: StreamSource,
        invoke: Invoker,
        *,
        stop: threading.Event,
        region: str = "us-east-1",
        client: DynamoDBStreamsClient | None = None,
        retry_backoff: Callable[[int], float] | None = None,
    ) -> None:
        super().__init__(f"stream:{spec.logical_id}.{source.event_name}", stop, timeout=spec.timeout)
        for pattern in source.filter_patterns:
            validate_pattern(pattern)
        self.spec = spec
        self.source = source
        self.invoke = invoke
        self.region = region
        # Account-based endpoints ({account}.streams-ddb...) are unknown to moto's in-process mock; the
        # regional endpoint serves the same API on AWS.
        self.client: DynamoDBStreamsClient = client or boto3.client(
            "dynamodbstreams", region_name=region, config=Config(account_id_endpoint_mode="disabled")
        )
        self.retry_backoff = retry_backoff or (
            lambda attempt: min(MAX_RETRY_BACKOFF_SECONDS, 0.5 * 2**attempt)
        )
        self.account_id = (
            self.source.stream_arn.split(":")[4] if self.source.stream_arn.count(":") >= 5 else ""
        )
        self._destination_client: SQSClient | None = None
        self._iterators: dict[str, str] = {}
        self._finished_shards: set[str] = set()
        self._shard_of: dict[str, str] = {}
        self._buffer: list[dict[str, Any]] = []
        self._buffer_since = 0.0
        self._shards_checked = 0.0
        self._verified = 0.0
        self._last_read: dict[str, str] = {}  # shard -> last sequence number read
        self.checkpoints: dict[str, str] = {}  # shard -> last sequence number processed (or discarded)
        self._delivering: float | None = None  # creation time of the oldest record being invoked
        self._unread_since: float | None = None  # a record the iterator did not return was written then
        self._writes_seen = _StreamWrites.count

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less once a stream record was written (:class:`_StreamWrites`)."""
        seen = self._writes_seen  # as the last poll began: a record written during it counts
        deadline = time.monotonic() + seconds
        earliest = time.monotonic() + min(seconds, ACTIVE_POLL_SECONDS)
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now >= deadline or (now >= earliest and _StreamWrites.count != seen):
                return
            step = earliest - now if _StreamWrites.count != seen else WRITE_CHECK_SECONDS
            self.stop_event.wait(max(0.0, min(step, deadline - now)))

    def lag_seconds(self) -> float:
        created = [self._delivering, self._unread_since]
        if self._buffer:
            created.append(self._buffer[0]["dynamodb"].get("ApproximateCreationDateTime"))
        oldest = min((moment for moment in created if moment is not None), default=None)
        return max(0.0, time.time() - oldest) if oldest is not None else 0.0

    def resume_from(self, checkpoints: Mapping[str, str]) -> None:
        """Start each shard after its checkpoint (a restored local state) instead of the horizon."""
        self.checkpoints.update(checkpoints)
        self._last_read.update(checkpoints)

    def _fresh_iterator(self, shard_id: str) -> str:
        after = self._last_read.get(shard_id)
        position: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        return self.client.get_shard_iterator(StreamArn=self.source.stream_arn, ShardId=shard_id, **position)[
            "ShardIterator"
        ]

    def _read_shard(self, shard_id: str, iterator: str) -> dict[str, Any] | None:
        """One GetRecords; a shard that cannot be read is logged and gets a fresh iterator."""
        try:
            return dict(self.client.get_records(ShardIterator=iterator, Limit=1000))
        except Exception as exc:
            if self.stop_event.is_set():
                return None
            self.failed(f"cannot read {shard_id}: {type(exc).__name__}: {exc}")
            log.error(
                "%s: cannot read shard %s (%s); resuming after sequence number %s with a new iterator",
                self.name,
                shard_id,
                exc,
                self._last_read.get(shard_id, "(start)"),
            )
            try:
                self._iterators[shard_id] = self._fresh_iterator(shard_id)
            except Exception as again:
                log.error("%s: no new iterator for shard %s either: %s", self.name, shard_id, again)
                self._iterators.pop(shard_id, None)  # the next shard refresh starts it again
            return None

    def _verify(self) -> int:
        """An iterator that returned nothing is compared with a fresh one from the same position. If
        the fresh one sees a record, the old one is asked again (the record may have just arrived);
        if it still returns nothing it went blind (as when moto swapped a table): it is replaced and
        the error logged. Returns the records read on the way."""
        read = 0
        for shard_id in list(self._iterators):
            try:
                probe = self.client.get_records(ShardIterator=self._fresh_iterator(shard_id), Limit=1)
            except Exception as exc:
                log.warning("%s: could not verify shard %s: %s", self.name, shard_id, exc)
                continue
            records = probe.get("Records", [])
            if not records:
                self._unread_since = None
                continue
            if shard_id in self._iterators:
                again = self._take(shard_id, self._read_shard(shard_id, self._iterators[shard_id]))
                if again:
                    read += again
                    continue
            created = records[0]["dynamodb"].get("ApproximateCreationDateTime")
            self._unread_since = created.timestamp() if isinstance(created, datetime) else time.time()
            self.failed(f"the iterator of {shard_id} stopped returning records the shard holds")
            log.error(
                "%s: the iterator of shard %s returned nothing while the shard holds records after "
                "sequence number %s; switching to a new iterator",
                self.name,
                shard_id,
                self._last_read.get(shard_id, "(start)"),
            )
            self._iterators[shard_id] = self._fresh_iterator(shard_id)
        return read

    def poll_once(self, *, flush: bool = False) -> int:
        """Read what the shards hold, invoke for every batch that is due; returns records read."""
        self._writes_seen = _StreamWrites.count
        now = time.monotonic()
        if not self._iterators or now - self._shards_checked > 10:
            self._refresh_shards()
            self._shards_checked = now
        read = 0
        for shard_id, iterator in list(self._iterators.items()):
            read += self._take(shard_id, self._read_shard(shard_id, iterator))
        if read:
            self._unread_since = None
            self._verified = now
        elif now - self._verified > VERIFY_SECONDS:
            self._verified = now
            read += self._verify()
        self._deliver_due(flush=flush)
        return read

    def _take(self, shard_id: str, response: Mapping[str, Any] | None) -> int:
        """Move the shard's iterator on and buffer the records that match the filter."""
        if response is None:
            return 0
        next_iterator = response.get("NextShardIterator")
        if next_iterator:
            self._iterators[shard_id] = next_iterator
        else:
            self._iterators.pop(shard_id, None)
            self._finished_shards.add(shard_id)
        read = 0
        for raw in response.get("Records", []):
            read += 1
            record = lambda_stream_record(raw, stream_arn=self.source.stream_arn, region=self.region)
            sequence_number = record["dynamodb"]["SequenceNumber"]
            self._last_read[shard_id] = sequence_number
            self._shard_of[sequence_number] = shard_id
            if record_matches(self.source.filter_patterns, record):
                if not self._buffer:
                    self._buffer_since = time.monotonic()
                self._buffer.append(record)
            elif not self._buffer and self._delivering is None:
                self.checkpoints[shard_id] = sequence_number  # filtered out, nothing before it open
                self._shard_of.pop(sequence_number, None)
        return read

    def due_in(self) -> float | None:
        if not self._buffer:
            return None
        return max(0.0, self._buffer_since + self.source.batching_window_seconds - time.monotonic())

    def _refresh_shards(self) -> None:
        description = self.client.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._iterators or shard_id in self._finished_shards:
                continue
            self._iterators[shard_id] = self._fresh_iterator(shard_id)

    def _deliver_due(self, *, flush: bool) -> None:
        size = max(1, self.source.batch_size)
        while self._buffer and not self.stop_event.is_set():
            waited = time.monotonic() - self._buffer_since
            if len(self._buffer) < size and not flush and waited < self.source.batching_window_seconds:
                return
            batch, self._buffer = self._buffer[:size], self._buffer[size:]
            self._buffer_since = time.monotonic()
            self._delivering = batch[0]["dynamodb"].get("ApproximateCreationDateTime")
            try:
                self.deliver(batch)
            finally:
                self._delivering = None
            if self.stop_event.is_set():
                return  # not processed: the checkpoint stays before them
            for record in batch:
                sequence_number = record["dynamodb"]["SequenceNumber"]
                shard_id = self._shard_of.pop(sequence_number, None)
                if shard_id is not None:
                    self.checkpoints[shard_id] = sequence_number
            self.last_progress = time.time()

    def deliver(self, records: Sequence[dict[str, Any]]) -> None:
        """Invoke with ``records`` until they are processed, retried out or discarded, in order.

        A batch the function reports partly failed is retried from its lowest failed record; one
        the function raised on is retried whole, or split in two first with bisection (splitting does
        not use up retries, as on AWS). Past ``MaximumRetryAttempts`` the records are discarded and,
        with an ``OnFailure`` destination, reported there.
        """
        work: list[tuple[list[dict[str, Any]], int]] = [(list(records), 0)]
        while work and not self.stop_event.is_set():
            batch, retries = work.pop(0)
            remaining, raised = self._invoke(batch)
            if not remaining:
                continue
            if raised and self.source.bisect_on_error and len(remaining) > 1:
                half = len(remaining) // 2
                work[0:0] = [(remaining[:half], retries), (remaining[half:], retries)]
                continue
            if 0 <= self.source.maximum_retry_attempts <= retries:
                self._discard(remaining, retries + 1, raised)
                continue
            work.insert(0, (remaining, retries + 1))
            self.stop_event.wait(self.retry_backoff(retries))

    def _discard(self, records: list[dict[str, Any]], invocations: int, raised: bool) -> None:
        first, last = records[0]["dynamodb"]["SequenceNumber"], records[-1]["dynamodb"]["SequenceNumber"]
        log.error(
            "%s: discarding %d records (sequence numbers %s..%s) after %d invocations",
            self.name,
            len(records),
            first,
            last,
            invocations,
        )
        destination = self.source.on_failure_arn
        if not destination:
            return
        if ":sqs:" not in destination:
            log.warning("%s: only SQS on-failure destinations are emulated, not %s", self.name, destination)
            return
        self.destination_client().send_message(
            QueueUrl=self.destination_client().get_queue_url(QueueName=destination.rsplit(":", 1)[-1])[
                "QueueUrl"
            ],
            MessageBody=json.dumps(self.failure_record(records, invocations, raised)),
        )

    def failure_record(self, records: list[dict[str, Any]], invocations: int, raised: bool) -> dict[str, Any]:
        """The invocation record Lambda sends to an ``OnFailure`` destination for a stream batch."""
        arrivals = [record["dynamodb"].get("ApproximateCreationDateTime", time.time()) for record in records]
        function_arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.spec.function_name}"
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if raised else {}),
            },
            "version": "1.0",
            "timestamp": _iso(time.time(), milliseconds=True),
            "DDBStreamBatchInfo": {
                "shardId": self._shard_of.get(records[0]["dynamodb"]["SequenceNumber"], ""),
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(min(arrivals)),
                "approximateArrivalOfLastRecord": _iso(max(arrivals)),
                "batchSize": len(records),
                "streamArn": self.source.stream_arn,
            },
        }

    def destination_client(self) -> SQSClient:
        if self._destination_client is None:
            self._destination_client = boto3.client("sqs", region_name=self.region)
        return self._destination_client

    def _invoke(self, batch: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
        """Invoke once; returns the records still to process and whether the function raised."""
        started = time.monotonic()
        try:
            result = self.invoke(self.spec, {"Records": batch})
        except Exception as exc:
            self.beat()
            self.failed(f"function error: {exc}")
            log.error("%s: %d records -> function error: %s", self.name, len(batch), exc, exc_info=exc)
            return batch, True
        self.beat()
        elapsed_ms = (time.monotonic() - started) * 1000
        failed = _failed_ids(result) if self.source.report_batch_item_failures else []
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        if failed is None or any(identifier not in sequence_numbers for identifier in failed):
            log.warning("%s: invalid batchItemFailures %r; retrying the whole batch", self.name, result)
            return batch, False
        if not failed:
            log.info("%s: %d records ok (%.0f ms)", self.name, len(batch), elapsed_ms)
            return [], False
        lowest = min(sequence_numbers.index(identifier) for identifier in failed)
        log.warning(
            "%s: %d records, %d reported failed; retrying from %s",
            self.name,
            len(batch),
            len(failed),
            sequence_numbers[lowest],
        )
        return batch[lowest:], False


# ---- SQS -------------------------------------------------------------------------------------------------


class SqsPoller(_Poller):
    """Receives from one queue for one ``SQS`` event source of one function."""

    kind = "sqs"

    def __init__(
        self,
        spec: FunctionSpec,
        source: SqsSource,
        invoke: Invoker,
        *,
        stop: threading.Event,
        region: str = "us-east-1",
        queue_url: str | None = None,
        client: SQSClient | None = None,
        wait_seconds: int = 1,
    ) -> None:
        super().__init__(f"sqs:{spec.logical_id}.{source.event_name}", stop, timeout=spec.timeout)
        for pattern in source.filter_patterns:
            validate_pattern(pattern)
        self.spec = spec
        self.source = source
        self.invoke = invoke
        self.region = region
        self.client: SQSClient = client or boto3.client("sqs", region_name=region)
        self.wait_seconds = wait_seconds
        self.sleeps_when_idle = wait_seconds == 0
        self._queue_url = queue_url
        self._lag = 0.0

    def lag_seconds(self) -> float:
        return self._lag

    @property
    def queue_url(self) -> str:
        if self._queue_url is None:
            self._queue_url = self.client.get_queue_url(QueueName=self.source.queue_arn.rsplit(":", 1)[-1])[
                "QueueUrl"
            ]
        return self._queue_url

    def poll_once(self) -> int:
        """Receive one batch, invoke, delete what succeeded; returns the number of messages received."""
        messages = self._receive_batch()
        first_receipts = [
            int(message.get("Attributes", {}).get("SentTimestamp", 0)) / 1000
            for message in messages
            if str(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")) == "1"
        ]
        self._lag = max(0.0, time.time() - min(first_receipts)) if first_receipts else 0.0
        if not messages:
            return 0
        records = [
            lambda_sqs_record(message, queue_arn=self.source.queue_arn, region=self.region)
            for message in messages
        ]
        matched: list[dict[str, Any]] = []
        dropped: list[dict[str, Any]] = []
        for record in records:
            wanted = record_matches(self.source.filter_patterns, sqs_filter_view(record))
            (matched if wanted else dropped).append(record)
        done = dropped + self._invoke(matched) if matched else dropped
        self._delete_records(done)
        return len(messages)

    def _receive_batch(self) -> list[dict[str, Any]]:
        size = max(1, self.source.batch_size)
        deadline = time.monotonic() + self.source.batching_window_seconds
        messages: list[dict[str, Any]] = []
        while len(messages) < size and not self.stop_event.is_set():
            response = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, size - len(messages)),
                WaitTimeSeconds=0 if messages else self.wait_seconds,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            messages.extend(dict(message) for message in received)
            if not messages or time.monotonic() >= deadline:
                break
            if not received:
                self.stop_event.wait(min(0.1, max(0.0, deadline - time.monotonic())))
        return messages

    def _invoke(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Invoke once; returns the records that succeeded."""
        started = time.monotonic()
        try:
            result = self.invoke(self.spec, {"Records": records})
        except Exception as exc:
            self.beat()
            self.failed(f"function error: {exc}")
            log.error("%s: %d messages -> function error: %s", self.name, len(records), exc, exc_info=exc)
            return []
        self.beat()
        elapsed_ms = (time.monotonic() - started) * 1000
        failed = _failed_ids(result) if self.source.report_batch_item_failures else []
        message_ids = {record["messageId"] for record in records}
        if failed is None or any(identifier not in message_ids for identifier in failed):
            log.warning("%s: invalid batchItemFailures %r; the whole batch failed", self.name, result)
            return []
        if failed:
            log.warning("%s: %d messages, %d reported failed", self.name, len(records), len(failed))
        else:
            log.info("%s: %d messages ok (%.0f ms)", self.name, len(records), elapsed_ms)
        return [record for record in records if record["messageId"] not in failed]

    def _delete_records(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            response = self.client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                    for index, record in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                log.warning("%s: could not delete a message: %s", self.name, failure.get("Message"))


# ---- All of them -------------------------------------------------------------------------------------------


class Pollers:
    """One poller per stream and queue event source of ``functions``; ``start`` and ``stop`` them all."""

    def __init__(
        self,
        functions: Iterable[FunctionSpec],
        invoke: Invoker,
        *,
        region: str = "us-east-1",
        queue_urls: Mapping[str, str] | None = None,
    ) -> None:
        self.stop_event = threading.Event()
        self.threads: list[_Poller] = []
        functions = list(functions)
        if any(spec.stream_sources for spec in functions):
            with contextlib.suppress(ImportError):  # moto elsewhere: the pollers keep their intervals
                _StreamWrites.install()
        for spec in functions:
            for stream in spec.stream_sources:
                self.threads.append(StreamPoller(spec, stream, invoke, stop=self.stop_event, region=region))
            for queue in spec.sqs_sources:
                url = (queue_urls or {}).get(queue.queue_arn)
                self.threads.append(
                    SqsPoller(spec, queue, invoke, stop=self.stop_event, region=region, queue_url=url)
                )

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def status(self) -> list[dict[str, Any]]:
        return [poller.status() for poller in self.threads]

    def healthy(self) -> bool:
        return all(poller["state"] == "ok" for poller in self.status())

    def checkpoints(self) -> dict[str, dict[str, str]]:
        """Each stream poller's last processed sequence number per shard (for a local snapshot)."""
        streams = [poller for poller in self.threads if isinstance(poller, StreamPoller)]
        return {poller.name: dict(poller.checkpoints) for poller in streams}

    def resume_from(self, checkpoints: Mapping[str, Mapping[str, str]]) -> None:
        for poller in self.threads:
            if isinstance(poller, StreamPoller) and poller.name in checkpoints:
                poller.resume_from(checkpoints[poller.name])

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
