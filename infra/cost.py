"""What one order's life costs at on-demand prices, from measured calls, item sizes and durations.

The life: Shopify's orders/create and orders/paid webhooks (delivered to the order function's URL,
the template's ShopifyWebhookUrl output: no HTTP API charge), the table's stream → event_router → SQS
→ integration_delivery delivering the order's ``wallet_transaction`` to one webhook integration, the
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

import contextlib
import dataclasses
import importlib
import itertools
import json
import math
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from functools import partial
from pathlib import Path
from typing import Any, Literal

import httpx
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

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
from pollen.integrations.shopify.webhooks import sign
from pollen.services.container import container, reset_container
from pollen.storage.analytics import SEEN_SECONDS
from pollen.storage.capacity import Usage, capacity_meter
from pollen.storage.client import (
    call_counter,
    dynamodb,
    reset_clients,
    sqs,
    sqs_call_counter,
    uncounted_dynamodb,
)
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

# On Lambda itself (an estimate printed beside the figure above): Lambda gives a function CPU in
# proportion to its memory, one vCPU at 1,769 MB, and bills wall time, waits included. The waits are
# played in the timed rounds: each DynamoDB and SQS call sleeps this long first, and the receiver
# answers after RECEIVER_SECONDS (assumed latencies, printed with the estimate).
ONE_VCPU_MB = 1769
AWS_CALL_SECONDS = 0.005
RECEIVER_SECONDS = 0.2

ROUTER, DELIVERY = "EventRouterFunction", "IntegrationDeliveryFunction"
AGGREGATOR = "AnalyticsAggregatorFunction"
WEBHOOKS = "OrderWebhooksFunction"  # Shopify delivers to its function URL (template.yaml, ShopifyWebhookUrl)
BUSY_ORDERS = 10  # a busy store: this many orders' records share the stream and queue batches


Ingress = Literal["http-api", "function-url", "event"]


@dataclass
class Step:
    """One kind of request or invocation of the life, as measured over a round of ``orders`` orders:
    calls and capacity from the metered round, billed milliseconds from each timed round."""

    name: str
    function: str
    ingress: Ingress  # what invokes it: the HTTP API, its function URL, or a stream or queue
    invocations: int = 0
    records: int = 0  # stream records or messages handed to the function
    calls: dict[str, int] = field(default_factory=dict)
    sqs: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    billed_ms: list[int] = field(default_factory=list)  # per timed round: sum of invocations' billed ms
    waited_ms: list[float] = field(default_factory=list)  # per timed round: wall time less CPU time
    moto_ms: list[float] = field(default_factory=list)  # per timed round: CPU time moto spent in it
    message_bytes: int = 0

    @property
    def round_ms(self) -> int:
        """The median round's billed milliseconds (each invocation rounded up to 1 ms)."""
        return math.ceil(statistics.median(self.billed_ms))

    @property
    def round_waited_ms(self) -> Decimal:
        """The median round's waits (the played latencies: calls, the receiver), 0 when not played."""
        return _d(round(statistics.median(self.waited_ms), 1)) if self.waited_ms else Decimal(0)

    @property
    def round_moto_ms(self) -> Decimal:
        """The median round's CPU time spent in moto (DynamoDB's and SQS's own work, on AWS not the
        function's), 0 when not timed."""
        return _d(round(statistics.median(self.moto_ms), 1)) if self.moto_ms else Decimal(0)


@dataclass
class OrderLife:
    steps: list[Step]
    orders: int  # orders in one round (their records share the stream and queue batches)
    memory_mb: dict[str, int]
    batch_size: dict[str, int]
    fact_slices: int = 1  # analytics 10-second slices the metered round's facts fell in


# ---- measuring ----------------------------------------------------------------------------------


def _subscribe(merchant_id: str) -> None:
    """One webhook integration subscribed to ``wallet_transaction`` (what the life delivers). Its ids are
    fixed: each life measured on the same stack subscribes again, and must still deliver once."""
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
        subscription_id="01JC0STC0STC0STC0STC0STC0S",
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
        self.billed = 0
        self.waited = 0.0
        self.moto = 0.0
        self.invocations = 0
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
        with self._timed():
            result = module.lambda_handler(payload, FakeLambdaContext(spec.function_name))
        self._take()
        return json.loads(json.dumps(result))

    @contextlib.contextmanager
    def _timed(self) -> Iterator[None]:
        """One invocation: its CPU time (every thread's) billed, rounded up to 1 ms; what its wall time
        adds to that (the played waits) kept apart for the estimate on Lambda."""
        cpu, wall, moto = time.process_time(), time.perf_counter(), moto_clock.seconds
        yield
        cpu_ms = (time.process_time() - cpu) * 1000
        self.billed += math.ceil(cpu_ms)
        self.waited += max(0.0, (time.perf_counter() - wall) * 1000 - cpu_ms)
        self.moto += (moto_clock.seconds - moto) * 1000
        self.invocations += 1

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

    def start(self) -> None:
        self.batch, self.calls, self.sqs, self.usage = [], {}, {}, Usage()
        self.billed, self.waited, self.moto, self.invocations = 0, 0.0, 0.0, 0

    def request(self, action: Callable[[], int]) -> None:
        """One HTTP request, measured like an invocation."""
        self._reset()
        with self._timed():
            status = action()
        self._take()
        if status >= 300:
            raise AssertionError(f"a request of the order's life answered {status}")

    def each(self, requests: list[Callable[[], int]]) -> None:
        for request in requests:
            self.request(request)

    def finish(self, step: Step, *, timed: bool) -> None:
        step.invocations, step.records = self.invocations, len(self.batch)
        step.calls, step.sqs, step.usage = self.calls, self.sqs, self.usage
        if step.function == DELIVERY:
            step.message_bytes = sum(len(str(r.get("body", ""))) for r in self.batch)
        if timed:
            step.billed_ms.append(self.billed)
            step.waited_ms.append(self.waited)
            step.moto_ms.append(self.moto)

    def drain(self, poller: StreamPoller) -> int:
        while poller.poll_once(flush=True):
            pass
        return 0

    def deliver(self) -> int:
        while self.queue.poll_once():
            pass
        return 0


def _get(api: InProcessApi, path: str, key: str) -> int:
    return api.get(path, key=key).status


def _webhook(api: InProcessApi, demo: DemoStore, topic: str, body: dict[str, Any]) -> int:
    raw = json.dumps(body).encode()
    headers = {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": demo.shopify.shop_domain,
        "x-shopify-webhook-id": str(uuid.uuid4()),
        "x-shopify-hmac-sha256": sign(demo.shopify.webhook_secret, raw),
    }
    return api.function_url(WEBHOOKS, "POST", "/webhooks/shopify", body=raw, headers=headers).status


def hold_caches() -> None:
    """Pin the config and key caches' clocks: the life is priced for a warm container with both
    cached (docs/design.md). Their re-reads happen once per TTL (30 s, 60 s) per container whatever
    the traffic; on a busy machine the rounds can outlast a TTL, and that one re-read would be
    charged to the few orders timed or metered."""
    c, now = container(), time.monotonic()
    c.config.clock = c.key_cache.clock = lambda: now


def release_caches() -> None:
    c = container()
    c.config.clock = c.key_cache.clock = time.monotonic


def measure_order_life(
    template: dict[str, Any],
    resources: LocalResources,
    api: InProcessApi,
    demo: DemoStore,
    *,
    orders: int = 1,
    runs: int = 5,
    captured: bool = False,
    latency: bool = False,
) -> OrderLife:
    """Run rounds of ``orders`` lives side by side (every webhook, then the stream and the queue, then
    the reads): one warm-up round, ``runs`` timed rounds, one metered round (needs moto running).

    Shopify's sample orders/create is ``authorized`` (manual capture; unpaid methods such as cash on
    delivery or a bank deposit arrive ``pending`` and cost the same): its coins are pending until
    orders/paid. ``captured``: the order is created ``paid`` (a payment captured at checkout, Shopify
    Payments' default), so orders/create credits it and orders/paid brings nothing new. ``latency``:
    play the waits of :data:`AWS_CALL_SECONDS` and :data:`RECEIVER_SECONDS` and time moto apart
    (:data:`moto_clock`), for the estimate on Lambda. Timing moto somehow makes moto itself slower
    (orders/paid's rounds gain ~50% CPU, all of it in moto): the figure prices a life measured without."""
    fixtures = ROOT / "tests" / "fixtures" / "shopify"
    created = json.loads((fixtures / "orders_create.json").read_text())
    if captured:
        created = {**created, "financial_status": "paid"}
    paid = json.loads((fixtures / "orders_paid.json").read_text())
    merchant_id, read = demo.merchant_id, demo.api_keys.read
    _subscribe(merchant_id)
    container().http.install(httpx.MockTransport(partial(_receive, latency=latency)))
    _play_latency(on=latency)
    if latency:
        moto_clock.install()
    runner = _Runner(template, resources, api)
    runner.drain(runner.router)  # what set-up wrote is not this life's
    runner.drain(runner.aggregator)
    runner.deliver()
    steps = [
        Step("orders/create webhook", WEBHOOKS, ingress="function-url"),
        Step("orders/paid webhook", WEBHOOKS, ingress="function-url"),
        Step("event_router (stream)", ROUTER, ingress="event"),
        Step("integration_delivery (SQS)", DELIVERY, ingress="event"),
        Step("analytics_aggregator (stream)", AGGREGATOR, ingress="event"),
        Step("GET wallet (balance)", "WalletFunction", ingress="http-api"),
        Step("GET transactions (history)", "WalletFunction", ingress="http-api"),
    ]
    buyers = [_LIFE_CUSTOMERS + k for k in range(orders)]  # each order of a round its own customer
    wallets = [f"/v1/customers/{b}/wallet" for b in buyers]
    histories = [f"/v1/customers/{b}/transactions" for b in buyers]
    serial = itertools.count(next(_ORDER_IDS))
    stamping, fact_slices, last_slice = 0.0, 1, 0
    try:
        for n in range(runs + 2):
            metered = n == runs + 1  # the last round meters capacity; the others time the handlers
            if n == 1:
                hold_caches()  # the warm-up round filled them
            if metered:
                _await_fresh_slice(last_slice, needed=2 * stamping + 1.0)
                capacity_meter.enable(uncounted_dynamodb)
            stamped = time.time()
            ids = [next(serial) for _ in range(orders)]
            rounds: list[Callable[[], object]] = [
                partial(
                    runner.each,
                    [
                        partial(_webhook, api, demo, "orders/create", _bought_by(created, i, b))
                        for i, b in zip(ids, buyers, strict=True)
                    ],
                ),
                partial(
                    runner.each,
                    [
                        partial(_webhook, api, demo, "orders/paid", _bought_by(paid, i, b))
                        for i, b in zip(ids, buyers, strict=True)
                    ],
                ),
                partial(runner.drain, runner.router),
                runner.deliver,
                partial(runner.drain, runner.aggregator),
                partial(runner.each, [partial(_get, api, path, read) for path in wallets]),
                partial(runner.each, [partial(_get, api, path, read) for path in histories]),
            ]
            for index, (step, action) in enumerate(zip(steps, rounds, strict=True)):
                runner.start()
                action()
                runner.finish(step, timed=0 < n <= runs)  # the warm-up round is not timed
                if index == 1:  # both webhooks done: every fact of the round has its time
                    stamping, last_slice = max(stamping, time.time() - stamped), _slice_of(time.time())
                    if metered:
                        fact_slices = _slice_of(time.time()) - _slice_of(stamped) + 1  # every slice spanned
    finally:
        capacity_meter.disable()
        release_caches()
        _play_latency(on=False)
        moto_clock.uninstall()
    return OrderLife(
        steps,
        orders=orders,
        memory_mb={s.function: runner.specs[s.function].memory_size for s in steps},
        batch_size={
            ROUTER: runner.specs[ROUTER].stream_sources[0].batch_size,
            AGGREGATOR: runner.specs[AGGREGATOR].stream_sources[0].batch_size,
            DELIVERY: runner.specs[DELIVERY].sqs_sources[0].batch_size,
        },
        fact_slices=fact_slices,
    )


_playing = threading.Event()


class _MotoClock:
    """CPU time moto spends answering AWS calls, every thread's (its stand-in work is DynamoDB's and
    SQS's on AWS, and no function's bill): counted around moto's botocore stub while installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()
        self._real: Callable[..., Any] | None = None

    def install(self) -> None:
        if self._real is not None:
            return
        real = self._real = BotocoreStubber.__call__
        clock = self

        def timed(stubber: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return real(stubber, *args, **kwargs)
            finally:
                with clock._lock:
                    clock.seconds += time.thread_time() - started

        BotocoreStubber.__call__ = timed  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._real is not None:
            BotocoreStubber.__call__ = self._real  # type: ignore[method-assign]
            self._real = None


moto_clock = _MotoClock()


def _receive(request: httpx.Request, *, latency: bool) -> httpx.Response:
    """The webhook receiver: answers 200, after :data:`RECEIVER_SECONDS` when waits are played."""
    if latency:
        time.sleep(RECEIVER_SECONDS)
    return httpx.Response(200)


def _aws_call_wait(**_: Any) -> None:
    if _playing.is_set():
        time.sleep(AWS_CALL_SECONDS)


def _play_latency(*, on: bool) -> None:
    """Make every DynamoDB and SQS call of the functions' clients wait :data:`AWS_CALL_SECONDS` (or
    stop). The hook stays registered (once: a fixed unique id) and does nothing while off."""
    for client in (dynamodb(), sqs()):
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-call.{service}", _aws_call_wait, unique_id="pollen-cost-wait")
    if on:
        _playing.set()
    else:
        _playing.clear()


def _slice_of(at: float) -> int:
    return int(at) // SEEN_SECONDS


def _await_fresh_slice(last_slice: int, *, needed: float) -> None:
    """Start the metered round in a 10-second analytics slice of its own, with room for its facts when
    the machine is quick enough: the aggregator adds a batch's fact tokens to the item of each slice
    the facts fall in, so the same round costs 2 WRU more when it straddles a boundary and 2 WRU more
    per extra KB when an earlier round's tokens already fill its slice's item. Waits at most 10 s."""
    left = SEEN_SECONDS - time.time() % SEEN_SECONDS
    if _slice_of(time.time()) == last_slice or left < min(needed, SEEN_SECONDS):
        time.sleep(left + 0.05)


_ORDER_IDS = itertools.count(50_000_000, 1_000)
_LIFE_CUSTOMERS = 9_100_000_000  # the round's buyers: one customer per order, as in a real batch


def _bought_by(payload: dict[str, Any], order_id: int, buyer: int) -> dict[str, Any]:
    """Shopify's sample order as order ``order_id`` of customer ``buyer`` (their own email and phone).
    The warm-up round makes each buyer's first order, so the metered round is a returning customer's:
    the life of one order, not of a sign-up. A round's orders are different customers', so the
    router's read of their profiles is a read per order, as in a real store's batch."""
    email, phone = f"buyer{buyer}@example.com", f"+1613555{buyer % 10_000:04d}"
    customer = {**payload["customer"], "id": buyer, "email": email, "phone": phone}
    return {**payload, "id": order_id, "email": email, "phone": phone, "customer": customer}


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
    worst: bool

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


def cpu_share(memory_mb: int) -> Decimal:
    """How much slower than one full vCPU a function of ``memory_mb`` runs CPU-bound code on Lambda."""
    return max(Decimal(1), Decimal(ONE_VCPU_MB) / Decimal(memory_mb))


def price(life: OrderLife, *, worst: bool = False, on_lambda: bool = False) -> Priced:
    """Dollars per million orders, line by line, from a round of ``life.orders`` orders sharing the
    stream and queue batches. ``worst``: every stream or queue batch holds one record. ``on_lambda``:
    each invocation billed as Lambda would run it: its CPU time less moto's (AWS's work, not the
    function's) at the memory's share of a vCPU (:func:`cpu_share`), plus the waits played in the
    timed rounds (an estimate: see the report)."""
    k = Decimal(life.orders)
    lines: list[Line] = []
    for step in life.steps:
        memory_gb = Decimal(life.memory_mb[step.function]) / 1024
        records = Decimal(step.records) / k
        invocations = Decimal(step.invocations) / k
        if step.ingress == "http-api":
            lines.append(Line(step.name, "API request (HTTP API)", invocations, HTTP_API_PER_M))
        elif step.ingress == "function-url":
            lines.append(Line(step.name, "API request (function URL: no charge)", invocations, Decimal(0)))
        elif worst:
            invocations = records
        if invocations:
            lines.append(Line(step.name, "Lambda requests", invocations, LAMBDA_REQUEST_PER_M))
            ms = Decimal(step.round_ms) / k
            if on_lambda:
                own = max(Decimal(0), Decimal(step.round_ms) - step.round_moto_ms) / k
                memory = life.memory_mb[step.function]
                ms = (own * cpu_share(memory) + step.round_waited_ms / k).quantize(Decimal("0.1"))
            gb_s = memory_gb * ms / 1000
            what = f"Lambda GB-s ({ms.normalize():f} ms x {memory_gb.normalize():f} GB)"
            lines.append(Line(step.name, what, gb_s, LAMBDA_GB_SECOND * 1_000_000))
        usage = step.usage
        if usage.wru:
            lines.append(Line(step.name, "DynamoDB WRU (table)", Decimal(usage.wru) / k, WRU_PER_M))
        if usage.gsi_wru:
            lines.append(Line(step.name, "DynamoDB WRU (indexes)", Decimal(usage.gsi_wru) / k, WRU_PER_M))
        if usage.rru:
            lines.append(Line(step.name, "DynamoDB RRU", _d(usage.rru) / k, RRU_PER_M))
        if step.function == ROUTER:
            messages = _delivery(life)
            sends = Decimal(step.sqs.get("SendMessageBatch", 0) + step.sqs.get("SendMessage", 0))
            chunks = Decimal(math.ceil(messages.message_bytes / SQS_CHUNK))
            sent = Decimal(messages.records) if worst else max(sends, chunks)
            lines.append(Line(step.name, f"SQS SendMessageBatch ({sent} / {k} orders)", sent / k, SQS_PER_M))
        if step.function == DELIVERY and step.records:
            polls = Decimal(step.records if worst else step.invocations)
            batches = f"({polls} / {k} orders)"
            lines.append(Line(step.name, f"SQS ReceiveMessage {batches}", polls / k, SQS_PER_M))
            lines.append(Line(step.name, f"SQS DeleteMessageBatch {batches}", polls / k, SQS_PER_M))
    return Priced(lines, worst)


def _delivery(life: OrderLife) -> Step:
    return next(s for s in life.steps if s.function == DELIVERY)


def money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.0001'), rounding=ROUND_CEILING)}"


def report(
    busy: OrderLife, alone: OrderLife, captured: OrderLife | None = None, on_lambda: OrderLife | None = None
) -> list[str]:
    """The arithmetic, line by line, for a busy store (``busy``: a round of orders sharing batches),
    then a quiet one (``alone``: one order at a time) and the worst case (one record per batch), and
    what changes for orders created already paid (``captured``, a busy store's too)."""
    k = busy.orders
    out = [
        f"Per-order cost: one order's life, {k} orders at a time ($ per million orders, us-east-1 on-demand)"
    ]
    priced = price(busy)
    for step in busy.steps:
        usage = step.usage
        calls = ", ".join(f"{op} x{n}" for op, n in sorted(step.calls.items())) or "-"
        out.append(
            f"  {step.name}: {step.invocations} invocation(s), {step.records} record(s); {calls}; "
            f"{usage.wru} WRU + {usage.gsi_wru} GSI WRU, {usage.rru:g} RRU; {step.round_ms} ms billed"
            f" at {busy.memory_mb[step.function]} MB (all {k} orders)"
        )
        sizes: dict[str, list[int]] = {}
        for _, key, size in usage.written:
            kind = key.split("/", 1)[-1].split("#", 1)[0]
            sizes.setdefault(kind, []).append(size)
        for kind, found in sorted(sizes.items()):
            out.append(f"      wrote {len(found)} x {kind} item, {min(found)}-{max(found)} B")
    out.append("  line items (quantity per order x $ per million = $ per million orders):")
    for line in priced.lines:
        out.append(
            f"    {line.step:30} {line.what:40} {line.quantity.normalize():>10.4f} x "
            f"{line.unit_price_per_m.normalize():>8f} = {money(line.dollars_per_m)}"
        )
    for kind, dollars in sorted(priced.by_kind().items()):
        out.append(f"  {kind:10} {money(dollars)}")
    units = priced.units
    out.append(
        f"  per order: {units('DynamoDB WRU (table)').normalize():f} WRU + "
        f"{units('DynamoDB WRU (indexes)').normalize():f} GSI WRU, {units('DynamoDB RRU').normalize():f} RRU"
    )
    out.append(
        f"  TOTAL {money(priced.total)} per million orders (budget {money(BUDGET)}): {k} orders share "
        f"the batches (router {busy.batch_size[ROUTER]}, aggregator {busy.batch_size[AGGREGATOR]}, "
        f"delivery {busy.batch_size[DELIVERY]}, SQS send {SQS_SEND_BATCH})"
    )
    out.append(f"  one order at a time: {money(price(alone).total)} per million orders")
    out.append(
        f"  worst case, every stream/queue batch holding one record: {money(price(alone, worst=True).total)}"
    )
    if captured is not None:
        out.extend(captured_summary(busy, captured))
    if on_lambda is not None:
        out.extend(lambda_estimate(on_lambda, figure=priced))
    return out


def lambda_estimate(life: OrderLife, *, figure: Priced | None = None) -> list[str]:
    """What the life's Lambda line becomes on Lambda itself (``life`` measured with its waits played):
    the figure bills this machine's CPU time, moto's included, as the issue asks; Lambda runs the
    function's own at the memory's share of a vCPU and bills the waits too."""
    estimate = price(life, on_lambda=True)
    figure = figure or price(life)
    shares = sorted({(mb, cpu_share(mb)) for mb in life.memory_mb.values()})
    out = [
        "  on Lambda itself (an estimate): the CPU time less moto's (AWS's own work), at "
        + ", ".join(f"{mb} MB = 1/{share.quantize(Decimal('0.01'))} of a vCPU" for mb, share in shares)
        + f", plus the waits, played: {AWS_CALL_SECONDS * 1000:g} ms per DynamoDB or SQS call, "
        f"{RECEIVER_SECONDS * 1000:g} ms per receiver answer (assumed latencies)"
    ]
    for step in life.steps:
        gb_s = [
            line for line in estimate.lines if line.step == step.name and line.what.startswith("Lambda GB-s")
        ]
        if gb_s:
            k = life.orders
            line, waited = gb_s[0], (step.round_waited_ms / k).quantize(Decimal("0.1"))
            moto = (step.round_moto_ms / k).quantize(Decimal("0.1"))
            out.append(
                f"    {step.name:30} {line.what:40} (moto {moto:f} ms, waits {waited:f} ms) "
                f"{money(line.dollars_per_m)}"
            )
    lambda_figure, lambda_estimate_ = figure.by_kind()["Lambda"], estimate.by_kind()["Lambda"]
    out.append(
        f"    Lambda {money(lambda_estimate_)} instead of {money(lambda_figure)}: "
        f"TOTAL {money(figure.total - lambda_figure + lambda_estimate_)} per million orders"
    )
    return out


def captured_summary(authorized: OrderLife, captured: OrderLife) -> list[str]:
    """The same life for an order whose payment is captured at checkout, step by step where it differs.
    The budget holds the authorized life: the costlier, and a store's share of each is its own."""
    k = Decimal(captured.orders)

    def units(usage: Usage) -> str:
        return f"{(Decimal(usage.wru) / k).normalize():f} WRU, {(_d(usage.rru) / k).normalize():f} RRU"

    before = {step.name: step.usage for step in authorized.steps}
    out = ["  the same life, payment captured at checkout (orders/create arrives `paid`):"]
    for step in captured.steps:
        if units(before[step.name]) != units(step.usage):
            out.append(
                f"    {step.name}: {units(step.usage)} per order (authorized: {units(before[step.name])})"
            )
    totals = money(price(captured).total), money(price(authorized).total)
    out.append(f"    TOTAL {totals[0]} per million orders (authorized at creation: {totals[1]})")
    return out


def main(*, strict: bool = False) -> int:
    """Measure and print the life on a fresh moto stack (as `make bench` does); 1 when over budget
    and ``strict`` (``python -m infra.cost --strict``)."""
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
        busy = measure_order_life(template, resources, api, demo, orders=BUSY_ORDERS)
        alone = measure_order_life(template, resources, api, demo, orders=1)
        captured = measure_order_life(template, resources, api, demo, orders=BUSY_ORDERS, captured=True)
        waits = measure_order_life(template, resources, api, demo, orders=BUSY_ORDERS, latency=True)
    for line in report(busy, alone, captured, waits):
        print(line)
    over = price(busy).total > BUDGET
    if over:
        print(
            f"  OVER BUDGET: above {money(BUDGET)} (tests/integration/test_order_cost.py holds the ratchet)"
        )
    return 1 if over and strict else 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(strict="--strict" in sys.argv))
