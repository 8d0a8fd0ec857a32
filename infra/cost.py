"""What one order's life costs at on-demand prices, from measured calls, item sizes and durations.

The life: Shopify's orders/create and orders/paid webhooks, the table's stream → event_router → SQS →
integration_delivery delivering the order's ``wallet_transaction`` to one webhook integration, the
analytics aggregator folding what the stream shows it, one balance read and one history read. Every
step runs the real handler in-process on moto (:func:`measure_order_life`); :func:`price` turns the
measurements into dollars per million orders, line by line (docs/design.md "Cost per order").

Assumptions (printed with the figure):
- Stream- and queue-triggered functions are billed per invocation, amortised over the records one order
  contributes and the configured batch size at an assumed fill (``fill``; a busy store fills batches,
  the worst case is 1 record per invocation, printed too). Each invocation's duration is charged as the
  measured warm duration of handling this order's records alone, rounded up to 1 ms (conservative: a
  full batch shares one invocation's fixed overhead).
- SQS: the router's SendMessageBatch carries up to 10 messages (and each 64 KB of a batch is one more
  request); Lambda's poller receives up to the function's batch size per ReceiveMessage and deletes a
  batch with one DeleteMessageBatch. The poller's idle long polls are a fixed monthly cost (about
  $0.26/month per queue at 20 s waits and 5 pollers), not a per-order one, and are left out.
- Durations are the CPU time the handler (and moto standing in for DynamoDB) takes in this process,
  median of the warm runs: CPU time, not wall time, so a busy machine does not inflate the bill.
- DynamoDB Streams reads by Lambda are free; CloudWatch, X-Ray and data transfer are left out.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import httpx
from moto import mock_aws

from infra.apigw import FakeLambdaContext
from infra.aws_resources import LocalResources, create_resources
from infra.inprocess import InProcessApi
from infra.local.pollers import SqsPoller, StreamPoller
from infra.moto_atomic import make_dynamodb_writes_atomic
from infra.seed import DemoStore, seed_demo_store
from infra.template import FunctionSpec, describe_functions, load_template
from pollen.clock import utcnow
from pollen.domain.integrations import Integration, IntegrationKind, Subscription
from pollen.events.catalogue import EventFilters
from pollen.ids import new_ulid
from pollen.integrations.shopify.webhooks import sign
from pollen.services.container import container, reset_container
from pollen.storage.capacity import Usage, capacity_meter
from pollen.storage.client import call_counter, reset_clients, sqs_call_counter, uncounted_dynamodb
from pollen.storage.event_config import events_settings_item, integration_item, subscription_item

ROOT = Path(__file__).resolve().parents[1]
BUDGET = Decimal("10.00")  # dollars per million orders (issue 12)

# us-east-1 on-demand prices
HTTP_API_PER_M = Decimal("1.00")
LAMBDA_REQUEST_PER_M = Decimal("0.20")
LAMBDA_GB_SECOND = Decimal("0.0000133334")  # arm64
WRU_PER_M = Decimal("0.625")
RRU_PER_M = Decimal("0.125")
SQS_PER_M = Decimal("0.40")
SQS_CHUNK = 64 * 1024
SQS_SEND_BATCH = 10

ROUTER, DELIVERY = "EventRouterFunction", "IntegrationDeliveryFunction"
AGGREGATOR = "AnalyticsAggregatorFunction"
BUSY_FILL = 1.0  # a busy store's batches are full


@dataclass
class Step:
    """One request or invocation of the life, as measured (capacity and calls from the last run)."""

    name: str
    function: str
    http: bool  # behind the HTTP API
    records: int = 1  # stream records or messages this order contributed to the invocation
    calls: dict[str, int] = field(default_factory=dict)
    sqs: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    durations_ms: list[float] = field(default_factory=list)
    message_bytes: int = 0

    @property
    def duration_ms(self) -> int:
        """The median warm duration, rounded up to Lambda's 1 ms billing granularity."""
        return math.ceil(statistics.median(self.durations_ms))


@dataclass
class OrderLife:
    steps: list[Step]
    memory_mb: dict[str, int]
    batch_size: dict[str, int]


# ---- measuring ----------------------------------------------------------------------------------


def _subscribe(merchant_id: str) -> None:
    """One webhook integration subscribed to ``wallet_transaction`` (what the life delivers)."""
    c = container()
    now = utcnow()
    hooks = Integration(
        integration_id="costhooks",
        kind=IntegrationKind.WEBHOOK,
        enabled=True,
        url="https://hooks.example.com/pollen",
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # noqa: S106 - a test receiver's secret
        created_at=now,
        updated_at=now,
    )
    sub = Subscription(
        subscription_id=new_ulid(),
        event="wallet_transaction",
        integration_id="costhooks",
        name_prefix="",
        filters=EventFilters.model_validate({}),
        enabled=True,
        created_at=now,
        updated_at=now,
    )
    c.table.put(integration_item(merchant_id, hooks))
    c.table.put(subscription_item(merchant_id, sub))
    c.table.put(events_settings_item(merchant_id, enabled=True, updated_at=now))
    c.config.invalidate(merchant_id)


class _Runner:
    def __init__(self, template: dict[str, Any], resources: LocalResources, api: InProcessApi) -> None:
        resolver = resources.resolver(template, parameters={"Stage": "dev"}, stack_name="pollen-cost")
        self.specs = {spec.logical_id: spec for spec in describe_functions(template, resolver)}
        self.api = api
        self.stop = threading.Event()
        self.batch: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        self.sqs: dict[str, int] = {}
        self.usage = Usage()
        self.elapsed = 0.0
        self.router = self._stream(ROUTER)
        self.aggregator = self._stream(AGGREGATOR)
        delivery = self.specs[DELIVERY]
        self.queue = SqsPoller(
            delivery,
            dataclasses.replace(delivery.sqs_sources[0], batching_window_seconds=0),
            self._collect,
            stop=self.stop,
            wait_seconds=0,
            queue_url=resources.queues["DeliveryQueue"].url,
        )
        self.delivered = 0

    def _stream(self, logical_id: str) -> StreamPoller:
        spec = self.specs[logical_id]
        return StreamPoller(
            spec,
            dataclasses.replace(spec.stream_sources[0], batching_window_seconds=0),
            self._collect,
            stop=self.stop,
            retry_backoff=lambda _: 0.0,
        )

    def _collect(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        """Hand the batch to the real handler, measured (the pollers build the events Lambda sends)."""
        self.batch.extend(event["Records"])
        module = importlib.import_module(spec.module)
        payload = json.loads(json.dumps(event))
        self._reset()
        started = time.process_time()
        result = module.lambda_handler(payload, FakeLambdaContext(spec.function_name))
        self.elapsed += (time.process_time() - started) * 1000
        self._take()
        return json.loads(json.dumps(result))

    def _reset(self) -> None:
        call_counter.reset()
        sqs_call_counter.reset()
        capacity_meter.reset()

    def _take(self) -> None:
        for op, n in call_counter.snapshot().items():
            self.calls[op] = self.calls.get(op, 0) + n
        for op, n in sqs_call_counter.snapshot().items():
            self.sqs[op] = self.sqs.get(op, 0) + n
        self.usage.add(capacity_meter.usage.snapshot())

    def measure(self, step: Step, action: Callable[[], int]) -> None:
        """Run ``action`` (which invokes through the pollers, or an HTTP request) and record it."""
        self.batch, self.calls, self.sqs, self.usage, self.elapsed = [], {}, {}, Usage(), 0.0
        if step.http:
            self._reset()
            started = time.process_time()
            status = action()
            self.elapsed = (time.process_time() - started) * 1000
            self._take()
            if status >= 300:
                raise AssertionError(f"{step.name} answered {status}")
        else:
            action()
            step.records = len(self.batch)
            if step.function == DELIVERY:
                step.message_bytes = sum(len(str(r.get("body", ""))) for r in self.batch)
        step.calls, step.sqs, step.usage = self.calls, self.sqs, self.usage
        step.durations_ms.append(self.elapsed)

    def drain(self, poller: StreamPoller) -> int:
        while poller.poll_once(flush=True):
            pass
        return 0

    def deliver(self) -> int:
        while self.queue.poll_once():
            pass
        return 0


def _webhook(api: InProcessApi, demo: DemoStore, topic: str, body: dict[str, Any]) -> int:
    raw = json.dumps(body).encode()
    headers = {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": demo.shopify.shop_domain,
        "x-shopify-webhook-id": str(uuid.uuid4()),
        "x-shopify-hmac-sha256": sign(demo.shopify.webhook_secret, raw),
    }
    return api.post("/webhooks/shopify", body=raw, headers=headers).status


def measure_order_life(
    template: dict[str, Any], resources: LocalResources, api: InProcessApi, demo: DemoStore, *, runs: int = 5
) -> OrderLife:
    """Run the life ``runs`` times after one warm-up, metering capacity (needs moto running)."""
    fixtures = ROOT / "tests" / "fixtures" / "shopify"
    created = json.loads((fixtures / "orders_create.json").read_text())
    paid = json.loads((fixtures / "orders_paid.json").read_text())
    merchant_id, read = demo.merchant_id, demo.api_keys.read
    customer = str(paid["customer"]["id"])
    _subscribe(merchant_id)
    container().http.install(httpx.MockTransport(lambda request: httpx.Response(200)))
    runner = _Runner(template, resources, api)
    runner.drain(runner.router)  # what set-up wrote is not this life's
    runner.drain(runner.aggregator)
    runner.deliver()
    steps = [
        Step("orders/create webhook", "OrderWebhooksFunction", http=True),
        Step("orders/paid webhook", "OrderWebhooksFunction", http=True),
        Step("event_router (stream)", ROUTER, http=False),
        Step("integration_delivery (SQS)", DELIVERY, http=False),
        Step("analytics_aggregator (stream)", AGGREGATOR, http=False),
        Step("GET wallet (balance)", "WalletFunction", http=True),
        Step("GET transactions (history)", "WalletFunction", http=True),
    ]
    try:
        for n in range(runs + 2):
            metered = n == runs + 1  # the last run meters capacity; the others time the handlers
            if metered:
                capacity_meter.enable(uncounted_dynamodb)
            create = {**created, "id": 50_000_000 + n}
            pay = {**paid, "id": 50_000_000 + n}
            actions: list[Callable[[], int]] = [
                lambda: _webhook(api, demo, "orders/create", create),  # noqa: B023 - called at once
                lambda: _webhook(api, demo, "orders/paid", pay),  # noqa: B023 - called at once
                lambda: runner.drain(runner.router),
                runner.deliver,
                lambda: runner.drain(runner.aggregator),
                lambda: api.get(f"/v1/customers/{customer}/wallet", key=read).status,
                lambda: api.get(f"/v1/customers/{customer}/transactions", key=read).status,
            ]
            for step, action in zip(steps, actions, strict=True):
                durations = list(step.durations_ms)
                runner.measure(step, action)
                if n == 0 or metered:  # the warm-up run is not timed, nor the metered one
                    step.durations_ms = durations
    finally:
        capacity_meter.disable()
    return OrderLife(
        steps,
        memory_mb={s.function: runner.specs[s.function].memory_size for s in steps},
        batch_size={
            ROUTER: runner.specs[ROUTER].stream_sources[0].batch_size,
            AGGREGATOR: runner.specs[AGGREGATOR].stream_sources[0].batch_size,
            DELIVERY: runner.specs[DELIVERY].sqs_sources[0].batch_size,
        },
    )


# ---- pricing ------------------------------------------------------------------------------------


@dataclass
class Line:
    step: str
    what: str
    quantity: Decimal  # per order
    unit_price_per_m: Decimal  # dollars per million of the unit

    @property
    def dollars_per_m(self) -> Decimal:
        return self.quantity * self.unit_price_per_m


@dataclass
class Priced:
    lines: list[Line]
    fill: float

    @property
    def total(self) -> Decimal:
        return sum((line.dollars_per_m for line in self.lines), Decimal(0))

    def by_kind(self) -> dict[str, Decimal]:
        kinds: dict[str, Decimal] = {}
        for line in self.lines:
            kind = line.what.split(" ", 1)[0]
            kinds[kind] = kinds.get(kind, Decimal(0)) + line.dollars_per_m
        return kinds

    def units(self, what: str) -> Decimal:
        return sum((line.quantity for line in self.lines if line.what.startswith(what)), Decimal(0))


def _d(value: float) -> Decimal:
    return Decimal(str(value))


def price(life: OrderLife, *, fill: float = BUSY_FILL) -> Priced:
    """Dollars per million orders, line by line. ``fill``: share of each batch size actually used."""
    lines: list[Line] = []
    for step in life.steps:
        memory_gb = Decimal(life.memory_mb[step.function]) / 1024
        if step.http:
            invocations = Decimal(1)
            lines.append(Line(step.name, "API request (HTTP API)", Decimal(1), HTTP_API_PER_M))
        else:
            per_batch = Decimal(max(1, math.floor(life.batch_size[step.function] * fill)))
            records = Decimal(step.records)
            invocations = records / per_batch if records else Decimal(0)
        if invocations:
            lines.append(Line(step.name, "Lambda requests", invocations, LAMBDA_REQUEST_PER_M))
            # the measured duration of this order's records, once per order (not per invocation)
            gb_s = memory_gb * Decimal(step.duration_ms) / 1000
            lines.append(
                Line(
                    step.name,
                    f"Lambda GB-s ({step.duration_ms} ms x {memory_gb} GB)",
                    gb_s,
                    LAMBDA_GB_SECOND * 1_000_000,
                )
            )
        usage = step.usage
        if usage.wru:
            lines.append(Line(step.name, "DynamoDB WRU (table)", Decimal(usage.wru), WRU_PER_M))
        if usage.gsi_wru:
            lines.append(Line(step.name, "DynamoDB WRU (GSI1)", Decimal(usage.gsi_wru), WRU_PER_M))
        if usage.rru:
            lines.append(Line(step.name, "DynamoDB RRU", _d(usage.rru), RRU_PER_M))
        sent = step.sqs.get("SendMessageBatch", 0) + step.sqs.get("SendMessage", 0)
        if step.function == ROUTER and step.records:
            messages = Decimal(_messages_sent(life))
            per_send = Decimal(max(1, math.floor(SQS_SEND_BATCH * fill)))
            lines.append(
                Line(
                    step.name,
                    f"SQS SendMessageBatch ({messages} msg / {per_send})",
                    max(messages / per_send, _chunks(life)) if sent else Decimal(0),
                    SQS_PER_M,
                )
            )
        if step.function == DELIVERY and step.records:
            per_batch = Decimal(max(1, math.floor(life.batch_size[DELIVERY] * fill)))
            share = Decimal(step.records) / per_batch
            batches = f"({step.records} msg / {per_batch})"
            lines.append(Line(step.name, f"SQS ReceiveMessage {batches}", share, SQS_PER_M))
            lines.append(Line(step.name, f"SQS DeleteMessageBatch {batches}", share, SQS_PER_M))
    return Priced(lines, fill)


def _delivery(life: OrderLife) -> Step:
    return next(s for s in life.steps if s.function == DELIVERY)


def _messages_sent(life: OrderLife) -> int:
    return _delivery(life).records


def _chunks(life: OrderLife) -> Decimal:
    """A send batch is billed per 64 KB: this order's share of the chunks its messages fill."""
    return Decimal(_delivery(life).message_bytes) / SQS_CHUNK


def money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.0001'), rounding=ROUND_CEILING)}"


def report(life: OrderLife) -> list[str]:
    """The arithmetic, line by line: busy batches, then the worst case (batch fill 1)."""
    out = ["Per-order cost (one order's life; $ per million orders, us-east-1 on-demand):"]
    busy = price(life)
    for step in life.steps:
        usage = step.usage
        calls = ", ".join(f"{op} x{n}" for op, n in sorted(step.calls.items())) or "-"
        out.append(
            f"  {step.name}: {step.records} record(s), {calls}; {usage.wru} WRU + {usage.gsi_wru} GSI WRU, "
            f"{usage.rru:g} RRU; {step.duration_ms} ms at {life.memory_mb[step.function]} MB"
        )
        for op, key, size in usage.written:
            out.append(f"      wrote {key} ({op}): {size} B")
    out.append("  line items (quantity per order x $ per million = $ per million orders):")
    for line in busy.lines:
        out.append(
            f"    {line.step:32} {line.what:44} {line.quantity.normalize():>12} x {line.unit_price_per_m:>8}"
            f" = {money(line.dollars_per_m)}"
        )
    for kind, dollars in sorted(busy.by_kind().items()):
        out.append(f"  {kind:10} {money(dollars)}")
    out.append(
        f"  TOTAL {money(busy.total)} per million orders (budget {money(BUDGET)}); "
        f"batches full (router {life.batch_size[ROUTER]}, aggregator {life.batch_size[AGGREGATOR]}, "
        f"delivery {life.batch_size[DELIVERY]}, SQS send {SQS_SEND_BATCH})"
    )
    worst = price(life, fill=0.0)
    out.append(f"  worst case, every batch holding one record: {money(worst.total)} per million orders")
    return out


def main() -> int:
    """Measure and print the life on a fresh moto stack (as `make bench` does); 1 when over budget."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto accepts any credentials
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    make_dynamodb_writes_atomic()
    template = load_template(ROOT / "template.yaml")
    with mock_aws():
        resources = create_resources(template, prefix="pollen-cost")
        resolver = resources.resolver(template, parameters={"Stage": "dev"}, stack_name="pollen-cost")
        for spec in describe_functions(template, resolver):
            os.environ.update({k: v for k, v in spec.env.items() if k != "POWERTOOLS_SERVICE_NAME"})
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        reset_clients()
        reset_container()
        demo = seed_demo_store("http://bench")
        api = InProcessApi(template, resources)
        life = measure_order_life(template, resources, api, demo)
    for line in report(life):
        print(line)
    return 0 if price(life).total <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
