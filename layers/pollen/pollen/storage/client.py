"""Lazily created boto3 clients and the DynamoDB and SQS call counters.

Clients are built on first use, not at import, so an import costs no client construction and
tests can set up moto first. The counters hook botocore's ``before-call`` event, so every
DynamoDB (and SQS) API call made through these clients is counted, per thread (one invocation =
one thread). Endpoints come from the environment (``AWS_ENDPOINT_URL`` points at moto locally).
:func:`concurrently` runs calls on a few threads and counts (and meters) them as the caller's.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar, cast

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from pollen.storage.capacity import CapacityMeter, Usage


class CallCounter:
    """DynamoDB API calls made on the current thread since the last :meth:`reset`."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _counts(self) -> Counter[str]:
        counts: Counter[str] | None = getattr(self._local, "counts", None)
        if counts is None:
            counts = Counter()
            self._local.counts = counts
        return counts

    def reset(self) -> None:
        self._local.counts = Counter()

    def record(self, operation: str) -> None:
        self._counts()[operation] += 1

    def add(self, counts: Mapping[str, int]) -> None:
        """Count calls another thread made for this one (:func:`concurrently`)."""
        self._counts().update(counts)

    @property
    def total(self) -> int:
        return sum(self._counts().values())

    def snapshot(self) -> dict[str, int]:
        return dict(self._counts())


call_counter = CallCounter()
sqs_call_counter = CallCounter()

_lock = threading.Lock()
_clients: dict[str, Any] = {}
MAX_CONCURRENT = 16  # calls :func:`concurrently` runs at once; each client keeps as many connections
T = TypeVar("T")


def _count_call(model: Any, **_: Any) -> None:
    call_counter.record(model.name)


def _meter() -> CapacityMeter | None:
    """The capacity meter, if anything imported it: only the bench and the budget tests do, to turn
    it on, so a function never imports the metering code (docs/design.md, "Cold start")."""
    module = sys.modules.get("pollen.storage.capacity")
    return cast("CapacityMeter", module.capacity_meter) if module is not None else None


def _meter_before(params: dict[str, Any], model: Any, **_: Any) -> None:
    meter = _meter()
    if meter is not None and meter.enabled:
        meter.before(model.name, params)


def _meter_after(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    meter = _meter()
    if meter is not None and meter.enabled:
        meter.after(model.name, parsed, ok=http_response.status_code < 300 and "Error" not in parsed)


def _count_sqs_call(model: Any, **_: Any) -> None:
    sqs_call_counter.record(model.name)


def _client(service: str) -> Any:
    client = _clients.get(service)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(service)
        if client is None:
            config = Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=2,
                # 5 s against AWS; the local stack allows its stand-in more (a starved laptop).
                read_timeout=float(os.environ.get("POLLEN_AWS_READ_TIMEOUT_SECONDS", "5")),
                tcp_keepalive=True,
                max_pool_connections=MAX_CONCURRENT,  # one per call :func:`concurrently` runs
            )
            client = boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
            if service == "dynamodb":
                client.meta.events.register("before-call.dynamodb", _count_call)
                client.meta.events.register("before-parameter-build.dynamodb", _meter_before)
                client.meta.events.register("after-call.dynamodb", _meter_after)
            elif service == "sqs":
                client.meta.events.register("before-call.sqs", _count_sqs_call)
            _clients[service] = client
    return client


def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def sqs() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


def uncounted_dynamodb() -> DynamoDBClient:
    """A DynamoDB client outside the counters (the capacity meter sizes items with it)."""
    client: DynamoDBClient = boto3.session.Session().client("dynamodb")
    return client


def reset_clients(keep: Callable[[str, Any], bool] | None = None) -> None:
    """Forget cached clients (tests switching between moto back-ends), or those ``keep(service,
    client)`` does not keep."""
    with _lock:
        for service, client in list(_clients.items()):
            if keep is None or not keep(service, client):
                del _clients[service]


def concurrently(calls: Sequence[Callable[[], T]], *, workers: int = MAX_CONCURRENT) -> list[T]:
    """Each of ``calls``' results, in order, with at most ``workers`` running at once (boto3 clients
    are thread-safe). Every call has finished when this returns; the first exception one raised is
    raised then. Their DynamoDB and SQS calls are counted, and metered, as this thread's: the counters
    are per thread (one invocation = one thread), and these calls are the invocation's."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(workers, len(calls))) as pool:
        runs = list(pool.map(_counted, calls))
    meter = _meter()
    for _, counts, sqs_counts, usage in runs:
        call_counter.add(counts)
        sqs_call_counter.add(sqs_counts)
        if meter is not None and usage is not None:
            meter.usage.add(usage)
    for outcome, *_ in runs:
        if isinstance(outcome, _Raised):
            raise outcome.error
    return [cast("T", outcome) for outcome, *_ in runs]


class _Raised:
    def __init__(self, error: Exception) -> None:
        self.error = error


def _counted(call: Callable[[], T]) -> tuple[T | _Raised, dict[str, int], dict[str, int], Usage | None]:
    """``call`` on a pool thread, from fresh counters: its outcome, and the calls and capacity it used."""
    call_counter.reset()
    sqs_call_counter.reset()
    meter = _meter()
    if meter is not None and meter.enabled:
        meter.reset()
    else:
        meter = None
    outcome: T | _Raised
    try:
        outcome = call()
    except Exception as exc:
        outcome = _Raised(exc)
    usage = meter.usage.snapshot() if meter is not None else None
    return outcome, call_counter.snapshot(), sqs_call_counter.snapshot(), usage
