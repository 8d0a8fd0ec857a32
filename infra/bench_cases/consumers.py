"""The stream consumers (event_router, analytics_aggregator), the SQS delivery consumer and the
scheduled jobs, invoked in-process with the batches Lambda would send them.

Batches are real: orders go through the Shopify webhook, the local stack's own pollers read the
table's stream (or the DeliveryQueue) and build the Lambda event, and the case invokes the function's
handler with it. Outbound HTTP goes to an ``httpx.MockTransport`` receiver (as in the tests).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import threading
from typing import Any

import httpx

from infra.apigw import FakeLambdaContext
from infra.bench_cases import Bench, Case
from infra.bench_cases.orders import deliver, shopify_order
from infra.local.pollers import SqsPoller, StreamPoller
from infra.template import FunctionSpec, describe_functions
from tests.support.flow import Receiver, configure, subscription, wallet_event, webhook, write_outbox

ROUTER, AGGREGATOR, DELIVERY = (
    "EventRouterFunction",
    "AnalyticsAggregatorFunction",
    "IntegrationDeliveryFunction",
)
BATCH_ORDERS = 5  # orders per stream batch: each writes its ledger, order and outbox items


class _Capture:
    """A poller whose 'invocation' keeps the event, so the case can time the handler alone."""

    def __init__(self, spec: FunctionSpec, queue_url: str | None = None) -> None:
        self.spec = spec
        self.events: list[dict[str, Any]] = []
        stop = threading.Event()
        if spec.stream_sources:
            source = dataclasses.replace(spec.stream_sources[0], batching_window_seconds=0)
            self.stream: StreamPoller | None = StreamPoller(
                spec, source, self._keep, stop=stop, retry_backoff=lambda _: 0.0
            )
            self.queue: SqsPoller | None = None
        else:
            sqs = dataclasses.replace(spec.sqs_sources[0], batching_window_seconds=0)
            self.stream = None
            self.queue = SqsPoller(spec, sqs, self._keep, stop=stop, wait_seconds=0, queue_url=queue_url)

    def _keep(self, spec: FunctionSpec, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(json.loads(json.dumps(event)))  # as it travels: JSON
        return {"batchItemFailures": []}

    def take(self) -> dict[str, Any]:
        """Every record written since the last take (stream), or one batch (queue), as one event."""
        if self.stream is not None:
            while self.stream.poll_once(flush=True):
                pass
        elif self.queue is not None:
            self.queue.poll_once()
        records = [record for event in self.events for record in event["Records"]]
        self.events.clear()
        return {"Records": records}

    def invoke(self, event: dict[str, Any]) -> int:
        """The function's handler on ``event``: 200 when no record failed."""
        if not event["Records"]:
            return 204
        handler = getattr(importlib.import_module(self.spec.module), self.spec.handler_attr)
        result = handler(event, FakeLambdaContext(self.spec.function_name, timeout_seconds=self.spec.timeout))
        return 200 if not (result or {}).get("batchItemFailures") else 500


class Pipeline:
    """The demo store subscribed to wallet_transaction events (a webhook receiver answering 200), with
    capture pollers on the router's and aggregator's streams and on the DeliveryQueue."""

    def __init__(self, bench: Bench) -> None:
        resolver = bench.resources.resolver(
            bench.template, parameters={"Stage": "dev"}, stack_name="pollen-test"
        )
        specs = {spec.logical_id: spec for spec in describe_functions(bench.template, resolver)}
        self.router = _Capture(specs[ROUTER])
        self.aggregator = _Capture(specs[AGGREGATOR])
        self.delivery = _Capture(specs[DELIVERY], bench.resources.queues["DeliveryQueue"].url)
        self.router.take()  # what earlier rows wrote was routed before anyone subscribed: nothing to send
        self.aggregator.invoke(self.aggregator.take())  # fold the earlier rows' facts in, untimed
        configure(
            bench.demo.merchant_id,
            [webhook("bench-hooks", url="https://hooks.example.com/pollen")],
            [subscription("wallet_transaction", "bench-hooks")],
        )
        self.receiver = Receiver().install()

    def orders(self, bench: Bench) -> None:
        for _ in range(BATCH_ORDERS):
            if deliver(bench, "orders/paid", shopify_order(bench)) != 200:
                raise AssertionError("bench set-up: orders/paid")

    def route(self) -> None:
        if self.router.invoke(self.router.take()) >= 500:
            raise AssertionError("bench set-up: the router failed")

    def deliver_all(self) -> None:
        while (event := self.delivery.take())["Records"]:
            self.delivery.invoke(event)


def pipeline(bench: Bench) -> Pipeline:
    if "pipeline" not in bench.state:
        bench.state["pipeline"] = Pipeline(bench)
    found: Pipeline = bench.state["pipeline"]
    return found


def dead_letters(bench: Bench, count: int) -> list[str]:
    """``count`` deliveries the receiver refuses with a 400: each lands in the DeliveryDLQ at once."""
    line = pipeline(bench)
    line.route()
    line.deliver_all()
    Receiver(answer=lambda _: httpx.Response(400, text="no such list")).install()
    try:
        events = [wallet_event(bench.demo.merchant_id, f"dl-{bench.n()}") for _ in range(count)]
        write_outbox(events)
        line.route()
        line.deliver_all()
    finally:
        line.receiver.install()
    return [e.event_id for e in events]


def _router_batch(bench: Bench) -> dict[str, Any]:
    line = pipeline(bench)
    line.route()  # what set-up and earlier rows left on the stream
    line.orders(bench)
    return line.router.take()


def _aggregator_batch(bench: Bench) -> dict[str, Any]:
    line = pipeline(bench)
    line.aggregator.invoke(line.aggregator.take())
    line.orders(bench)
    return line.aggregator.take()


def _delivery_batch(bench: Bench) -> dict[str, Any]:
    line = pipeline(bench)
    line.deliver_all()
    write_outbox(wallet_event(bench.demo.merchant_id, f"d-{bench.n()}") for _ in range(10))
    line.route()
    return line.delivery.take()


def _job(cadence: str) -> Any:
    def call(bench: Bench, _: object) -> int:
        module = importlib.import_module("functions.scheduled_jobs.app")
        summary = module.lambda_handler(
            {"jobs": cadence}, FakeLambdaContext("scheduled-jobs", timeout_seconds=900)
        )
        return 200 if summary["cadence"] == cadence else 500

    return call


CASES = [
    # No round-trip budget: the router puts one conditional PutItem per delivery (BATCH_ORDERS here),
    # concurrently, where it used one TransactWriteItems: half the write units, which is what is held
    # (tests/integration/test_order_cost.py); the calls overlap, so their count is not the latency.
    Case(
        f"function:{ROUTER}",
        f"stream batch of {BATCH_ORDERS} paid orders",
        lambda b, event: pipeline(b).router.invoke(event),
        _router_batch,
        runs=10,
    ),
    Case(
        f"function:{AGGREGATOR}",
        f"stream batch of {BATCH_ORDERS} paid orders",
        lambda b, event: pipeline(b).aggregator.invoke(event),
        _aggregator_batch,
        runs=10,
    ),
    Case(
        f"function:{DELIVERY}",
        "SQS batch of 10 webhook deliveries",
        lambda b, event: pipeline(b).delivery.invoke(event),
        _delivery_batch,
        runs=10,
    ),
    Case("job:hourly", "every shard of the due index", _job("hourly"), runs=3),
    Case("job:daily", "", _job("daily"), runs=3),
]
