"""A ledger entry is its own ``wallet_transaction`` event (docs/design.md, "Cost per order"): a wallet
change writes no outbox item; the event router turns the entry's insert into the event, its customer
read (once per batch, only when routed somewhere) from the customer's item; the aggregator counts it
once, by its event id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import boto3
import pytest

from infra.aws_resources import LocalResources
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain.customers import CustomerData
from pollen.events.catalogue import WalletTransactionPayload
from pollen.events.delivery import DeliveryMessage
from pollen.ids import ulid_ms
from pollen.services.adjustments import adjust
from pollen.services.container import container, reset_container
from pollen.services.customers import upsert_customer
from pollen.storage import client
from pollen.storage.codec import deserialize, serialize
from pollen.storage.customers import CustomerStore
from pollen.storage.keys import Key, customer_key
from tests.support.analytics import Aggregator
from tests.support.flow import Flow, configure, subscription, webhook

PROFILE = {"customer_id", "email", "phone", "first_name", "last_name"}


@pytest.fixture
def flow(template: dict[str, Any], aws: LocalResources, monkeypatch: pytest.MonkeyPatch) -> Flow:
    monkeypatch.setenv("DELIVERY_RETRY_SCALE", "0")
    reset_container()
    return Flow(template, aws)


@pytest.fixture
def sent() -> Iterable[list[DeliveryMessage]]:
    """Every message the router queued (SendMessageBatch), parsed."""
    messages: list[DeliveryMessage] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        messages.extend(DeliveryMessage.model_validate_json(e["MessageBody"]) for e in params["Entries"])

    sqs = client.sqs()
    sqs.meta.events.register("provide-client-params.sqs.SendMessageBatch", record)
    yield messages
    sqs.meta.events.unregister("provide-client-params.sqs.SendMessageBatch", record)


def items(table_name: str) -> list[dict[str, Any]]:
    return [deserialize(i) for i in boto3.client("dynamodb").scan(TableName=table_name)["Items"]]


def ledger(table_name: str, customer_id: str) -> list[dict[str, Any]]:
    return [
        i
        for i in items(table_name)
        if i.get("entity") == "ledger" and str(i["PK"]).endswith(f"#C#{customer_id}")
    ]


def fund(merchant_id: str, customer_id: str, coins: int, email: str | None = None) -> None:
    c = container()
    data = CustomerData(
        customer_id=customer_id, email=email or f"{customer_id}@example.com", first_name="Ann"
    )
    upsert_customer(c, merchant_id, data, now=utcnow(), source="api")
    adjust(c, merchant_id, customer_id, coins, "goodwill", now=utcnow())


def stream_event(flow: Flow, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Items' inserts as Lambda hands them to the router (again)."""
    out = []
    for n, item in enumerate(records):
        image = serialize(item)
        out.append(
            {
                "eventID": str(n),
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "Keys": {"PK": image["PK"], "SK": image["SK"]},
                    "NewImage": image,
                    "SequenceNumber": str(900 + n),
                    "SizeBytes": 1,
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": flow.stream.source.stream_arn,
            }
        )
    return {"Records": out}


def router_calls(flow: Flow) -> dict[str, int]:
    total: dict[str, int] = {}
    for invocation in flow.calls("EventRouterFunction"):
        for name, n in invocation.dynamodb.items():
            total[name] = total.get(name, 0) + n
    return total


def test_a_wallet_change_writes_no_outbox_item_and_its_entry_names_the_event(
    demo: DemoStore, table_name: str
) -> None:
    fund(demo.merchant_id, "ann", 120)

    assert [i for i in items(table_name) if i.get("event_type") == "wallet_transaction"] == []
    (entry,) = ledger(table_name, "ann")
    assert ulid_ms(str(entry["event_id"]))  # a ULID: every receiver's dedupe id, and its time
    assert (entry["coins"], entry["pending"]) == (120, 0)
    assert not {"email", "phone", "first_name", "last_name", "customer"} & set(entry)  # no PII


def test_the_router_fills_each_customer_from_one_read_per_batch(
    demo: DemoStore, flow: Flow, sent: list[DeliveryMessage], table_name: str
) -> None:
    m = demo.merchant_id
    configure(m, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    for n, customer_id in enumerate(["ann", "bo", "cy"]):
        fund(m, customer_id, 10 * (n + 1))
    upsert_customer(
        container(), m, CustomerData(customer_id="bo", email="new@example.com"), now=utcnow(), source="api"
    )
    sent.clear()

    flow.route()

    wallet = {s.event.customer_id: s.event for s in sent if s.event_type == "wallet_transaction"}
    assert set(wallet) == {"ann", "bo", "cy"}
    assert wallet["bo"].payload["customer"]["email"] == "new@example.com"  # the profile as it is now
    assert wallet["ann"].payload["customer"] == {
        "customer_id": "ann",
        "email": "ann@example.com",
        "phone": None,
        "first_name": "Ann",
        "last_name": None,
    }
    assert router_calls(flow).get("BatchGetItem") == 1  # three customers, one read
    for customer, event in wallet.items():
        (entry,) = ledger(table_name, str(customer))
        assert event.event_id == entry["event_id"]
        assert event.occurred_at.isoformat().startswith(str(entry["created_at"])[:19])
        # the catalogue's payload, exactly as the outbox item carried it
        assert WalletTransactionPayload.model_validate(event.payload).model_dump(mode="json") == event.payload
        assert event.payload["transaction_id"] == entry["txn_id"]


def test_a_profile_updated_subscription_alone_has_the_router_read_the_customer(
    demo: DemoStore, flow: Flow, sent: list[DeliveryMessage]
) -> None:
    m = demo.merchant_id
    configure(m, [webhook()], [subscription("profile_updated")])
    flow.settle()
    fund(m, "ann", 10)
    sent.clear()

    flow.route()

    (update,) = sent  # the debounced profile_updated, made from the ledger entry's event
    assert update.event_type == "profile_updated"
    assert update.event.payload["customer"]["email"] == "ann@example.com"
    assert router_calls(flow).get("BatchGetItem") == 1


@pytest.mark.parametrize("nothing", ["no-subscription", "switch-off"])
def test_no_read_when_no_ledger_event_goes_anywhere(
    demo: DemoStore, flow: Flow, sent: list[DeliveryMessage], nothing: str
) -> None:
    m = demo.merchant_id
    subscriptions = (
        [subscription("customer_created")]
        if nothing == "no-subscription"
        else [subscription("wallet_transaction")]
    )
    configure(m, [webhook()], subscriptions, enabled=nothing != "switch-off")
    flow.settle()
    fund(m, "ann", 10)
    fund(m, "bo", 20)

    flow.route()

    assert [s for s in sent if s.event_type == "wallet_transaction"] == []
    assert "BatchGetItem" not in router_calls(flow)


def test_a_redelivered_ledger_record_names_the_same_event_and_delivery(
    demo: DemoStore, flow: Flow, sent: list[DeliveryMessage], table_name: str
) -> None:
    m = demo.merchant_id
    configure(m, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    fund(m, "ann", 10)
    flow.route()
    (entry,) = ledger(table_name, "ann")
    again = stream_event(flow, [entry])

    assert flow.invoke(flow.stream.spec, again) == {"batchItemFailures": []}

    first, second = [s for s in sent if s.event_type == "wallet_transaction"]
    assert first.event_id == second.event_id == entry["event_id"]
    assert (first.delivery_id, first.event) == (second.delivery_id, second.event)


def _route_while_customers_cannot_be_read(
    demo: DemoStore,
    flow: Flow,
    sent: list[DeliveryMessage],
    table_name: str,
    monkeypatch: pytest.MonkeyPatch,
    *subscribed: str,
) -> dict[str, Any]:
    """Ann's and Bo's ledger entries (records 900, 901) and their customer_created outbox items routed
    in one batch while the customers' read fails, with ``subscribed`` events subscribed; ``sent``
    holds what that batch queued."""
    m = demo.merchant_id
    configure(m, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    fund(m, "ann", 10)
    fund(m, "bo", 10)
    flow.route()
    configure(m, [webhook()], [subscription(event) for event in subscribed])
    flow.settle()
    sent.clear()
    entries = ledger(table_name, "ann") + ledger(table_name, "bo")
    outbox = [
        i for i in items(table_name) if i.get("entity") == "outbox" and i["event_type"] == "customer_created"
    ]

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("throttled")

    monkeypatch.setattr(CustomerStore, "profiles", broken)
    result: dict[str, Any] = flow.invoke(flow.stream.spec, stream_event(flow, [*entries, *outbox]))
    return result


def test_a_failed_customer_read_routes_the_ledger_records_again(
    demo: DemoStore, flow: Flow, sent: list[DeliveryMessage], table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _route_while_customers_cannot_be_read(
        demo, flow, sent, table_name, monkeypatch, "wallet_transaction", "coupon_created"
    )

    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["900", "901"]
    assert sent == []  # the other records had nothing to send (customer_created is not subscribed)


def test_a_failed_customer_read_still_routes_the_batch_s_other_events(
    demo: DemoStore, flow: Flow, sent: list[DeliveryMessage], table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the ledger records wait for the customers' read: the outbox records of the same batch go
    out at once."""
    result = _route_while_customers_cannot_be_read(
        demo, flow, sent, table_name, monkeypatch, "wallet_transaction", "customer_created"
    )

    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["900", "901"]
    created = [s.event.customer_id for s in sent if s.event_type == "customer_created"]
    assert sorted(c or "" for c in created) == ["ann", "bo"]
    assert [s for s in sent if s.event_type == "wallet_transaction"] == []


def test_a_deleted_customer_is_named_by_id_only(
    demo: DemoStore, flow: Flow, sent: list[DeliveryMessage], table_name: str
) -> None:
    m = demo.merchant_id
    configure(m, [webhook()], [subscription("wallet_transaction")])
    flow.settle()
    fund(m, "ann", 10)
    container().table.delete(customer_key(m, "ann"))

    flow.route()

    (message,) = [s for s in sent if s.event_type == "wallet_transaction"]
    for entry in ledger(table_name, "ann"):  # the ledger check of the teardown: gone with the customer
        container().table.delete(Key(entry["PK"], entry["SK"]))
    assert message.event.payload["customer"] == dict.fromkeys(PROFILE - {"customer_id"}) | {
        "customer_id": "ann"
    }


def test_the_aggregator_counts_a_ledger_entry_once(
    demo: DemoStore, template: dict[str, Any], aws: LocalResources, table_name: str
) -> None:
    agg = Aggregator(template, aws)
    agg.drain()
    agg.forget(demo.merchant_id)
    agg.records.clear()
    fund(demo.merchant_id, "ann", 70)

    agg.drain()
    once = agg.rollups(demo.merchant_id)
    credited = [day for key, day in once.items() if key.startswith("D#")]
    assert sum(int(day.get("coins_credited", 0)) for day in credited) == 70
    ledger_records = [r for r in agg.records if r["dynamodb"]["NewImage"]["entity"]["S"] == "ledger"]
    assert len(ledger_records) == 1

    agg.feed(ledger_records * 3, batch=2)  # redelivered, split
    assert agg.rollups(demo.merchant_id) == once

    # an entry written before entries carried their event: its outbox item's record counts it
    (old,) = ledger_records
    image = {k: v for k, v in old["dynamodb"]["NewImage"].items() if k not in ("event_id", "pending")}
    agg.feed([{**old, "dynamodb": {**old["dynamodb"], "NewImage": image, "SequenceNumber": "1"}}], batch=1)
    assert agg.rollups(demo.merchant_id) == once
