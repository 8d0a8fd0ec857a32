"""Drive the event flow on moto in-process: outbox items → stream → event_router → DeliveryQueue →
integration_delivery, with the local stack's own pollers building the events Lambda would send.

Functions run in this process (the real handlers); each invocation's DynamoDB and SQS calls are
recorded, so tests can hold them to a budget.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import httpx

from infra.apigw import FakeLambdaContext
from infra.aws_resources import LocalResources
from infra.local.pollers import SqsPoller, StreamPoller
from infra.onboard import onboard
from infra.seed import DEMO_PROGRAM
from infra.template import FunctionSpec, describe_functions
from pollen.clock import utcnow
from pollen.domain.deliveries import DeliveryRecord
from pollen.domain.integrations import Integration, IntegrationKind, Subscription
from pollen.events.catalogue import EventFilters
from pollen.events.delivery import DeliveryMessage
from pollen.events.envelope import OutboxEvent
from pollen.ids import new_ulid
from pollen.services.container import container
from pollen.storage.client import call_counter, sqs_call_counter
from pollen.storage.codec import serialize
from pollen.storage.event_config import events_settings_item, integration_item, subscription_item

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Invocation:
    function: str
    records: int
    result: Any
    dynamodb: dict[str, int]
    sqs: dict[str, int]


class Flow:
    """The router and the delivery function, fed by :class:`StreamPoller` and :class:`SqsPoller`."""

    def __init__(self, template: dict[str, Any], resources: LocalResources) -> None:
        self.resources = resources
        resolver = resources.resolver(template, parameters={"Stage": "dev"}, stack_name="pollen-test")
        specs = {spec.logical_id: spec for spec in describe_functions(template, resolver)}
        router, delivery = specs["EventRouterFunction"], specs["IntegrationDeliveryFunction"]
        stop = threading.Event()
        self.stream = StreamPoller(
            router,
            dataclasses.replace(router.stream_sources[0], batching_window_seconds=0),
            self.invoke,
            stop=stop,
            retry_backoff=lambda _: 0.0,
        )
        self.queue = SqsPoller(
            delivery,
            dataclasses.replace(delivery.sqs_sources[0], batching_window_seconds=0),
            self.invoke,
            stop=stop,
            wait_seconds=0,
            queue_url=resources.queues["DeliveryQueue"].url,
        )
        self.invocations: list[Invocation] = []
        self.sqs = boto3.client("sqs")

    def invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        module = importlib.import_module(spec.module)
        payload = json.loads(json.dumps(event))
        result = module.lambda_handler(payload, FakeLambdaContext(spec.function_name))
        self.invocations.append(
            Invocation(
                spec.logical_id,
                len(payload["Records"]),
                result,
                call_counter.snapshot(),
                sqs_call_counter.snapshot(),
            )
        )
        return json.loads(json.dumps(result))

    def route(self) -> None:
        """Hand every new outbox record of the stream to the router."""
        while self.stream.poll_once(flush=True):
            pass

    def settle(self) -> None:
        """Route what set-up wrote (merchants' own events) and forget those invocations."""
        self.route()
        self.invocations.clear()

    def in_flight(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.resources.queues["DeliveryQueue"].url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def deliver_all(self, max_polls: int = 2_000) -> int:
        """Poll the DeliveryQueue until it is empty (retries need zero delays); returns the polls."""
        for polls in range(max_polls):
            if not self.queue.poll_once() and self.in_flight() == 0:
                return polls
        raise AssertionError("the DeliveryQueue did not drain")

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every message in the DeliveryDLQ (received, then made visible again)."""
        url = self.resources.queues["DeliveryDLQ"].url
        messages: list[dict[str, Any]] = []
        while True:
            received = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not received:
                break
            messages.extend(dict(m) for m in received)
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return messages

    def calls(self, function: str) -> list[Invocation]:
        return [i for i in self.invocations if i.function == function]


# ---- configuration and events -------------------------------------------------------------------


def webhook(integration_id: str = "hooks", *, enabled: bool = True, url: str | None = None) -> Integration:
    now = utcnow()
    return Integration(
        integration_id=integration_id,
        kind=IntegrationKind.WEBHOOK,
        enabled=enabled,
        url=url or f"https://{integration_id}.example.com/pollen",
        secret=WEBHOOK_SECRET,
        created_at=now,
        updated_at=now,
    )


def subscription(
    event: str,
    integration_id: str = "hooks",
    *,
    prefix: str = "",
    filters: dict[str, list[str]] | None = None,
    enabled: bool = True,
    subscription_id: str | None = None,
) -> Subscription:
    now = utcnow()
    return Subscription(
        subscription_id=subscription_id or new_ulid(),
        event=event,
        integration_id=integration_id,
        name_prefix=prefix,
        filters=EventFilters.model_validate(filters or {}),
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )


def configure(
    merchant_id: str,
    integrations: Iterable[Integration],
    subscriptions: Iterable[Subscription],
    *,
    enabled: bool = True,
) -> None:
    """Store the merchant's events config (as the admin API does) and drop this container's cache;
    the merchant is created first when it does not exist."""
    c = container()
    if c.config.get(merchant_id) is None:
        onboard(merchant_id, merchant_id, DEMO_PROGRAM)
    for integration in integrations:
        c.table.put(integration_item(merchant_id, integration))
    for sub in subscriptions:
        c.table.put(subscription_item(merchant_id, sub))
    c.table.put(events_settings_item(merchant_id, enabled=enabled, updated_at=utcnow()))
    c.config.invalidate(merchant_id)


def wallet_event(
    merchant_id: str,
    customer_id: str,
    *,
    transaction_type: str = "reward",
    operation: str = "credit",
    coins: int = 10,
    occurred_at: datetime | None = None,
    email: str | None = None,
) -> OutboxEvent:
    when = occurred_at or utcnow()
    return OutboxEvent(
        event_type="wallet_transaction",
        merchant_id=merchant_id,
        customer_id=customer_id,
        occurred_at=when.replace(microsecond=when.microsecond // 1000 * 1000),  # as the outbox item keeps it
        payload={
            "transaction_id": new_ulid(),
            "transaction_type": transaction_type,
            "operation": operation,
            "coins": coins,
            "balance_after": coins,
            "source": "adjustment",
            "reference": None,
            "expires_on": None,
            "note": None,
            "pending": 0,
            "customer": {
                "customer_id": customer_id,
                "email": email or f"{customer_id}@example.com",
                "phone": None,
                "first_name": None,
                "last_name": None,
            },
        },
    )


def write_outbox(events: Iterable[OutboxEvent]) -> None:
    """Put outbox items as a business transaction would (BatchWriteItem: the stream sees inserts)."""
    ddb = boto3.client("dynamodb")
    table = container().table.name
    items = [event.to_item() for event in events]
    for start in range(0, len(items), 25):
        request: Any = {table: [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + 25]]}
        while request:
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or None


@dataclass
class Receiver:
    """A webhook receiver (httpx.MockTransport) that records every request and answers per ``answer``
    (which may raise ``httpx.TimeoutException`` to play a receiver that never answers)."""

    answer: Callable[[httpx.Request], httpx.Response] = field(default=lambda request: httpx.Response(200))
    requests: list[httpx.Request] = field(default_factory=list)
    statuses: list[tuple[str, int | None]] = field(default_factory=list)  # (webhook-id, status | None)

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            try:
                response = self.answer(request)
            except httpx.TimeoutException:
                self.statuses.append((request.headers["webhook-id"], None))
                raise
            self.statuses.append((request.headers["webhook-id"], response.status_code))
            return response

        return httpx.MockTransport(handle)

    def install(self) -> Receiver:
        container().http.install(self.transport())
        return self

    def delivered(self) -> Counter[str]:
        """Event id → how many 2xx answers it got."""
        return Counter(event_id for event_id, status in self.statuses if status and 200 <= status < 300)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]


def one_delivery(
    flow: Flow, receiver: Receiver, merchant_id: str, *, events: int = 1
) -> list[DeliveryMessage]:
    """A webhook subscription to ``wallet_transaction`` answered by ``receiver``, and ``events`` reward
    events written and routed (one customer each); returns their delivery messages."""
    sub = subscription("wallet_transaction")
    configure(merchant_id, [webhook()], [sub])
    flow.settle()
    receiver.install()
    written = [wallet_event(merchant_id, f"c-{n}") for n in range(1, events + 1)]
    write_outbox(written)
    flow.route()
    return [
        DeliveryMessage.for_route(e, sub.subscription_id, "hooks", routed_at=e.occurred_at) for e in written
    ]


def delivery_record(merchant_id: str, delivery_id: str) -> DeliveryRecord:
    """The delivery log's record of ``delivery_id`` (one BatchGetItem)."""
    return container().deliveries.get_many(merchant_id, [delivery_id])[delivery_id]
