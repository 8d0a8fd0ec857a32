"""Orders move coins exactly once, in any order, under retries and races (the service layer on moto)."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest

from infra.seed import DemoStore
from pollen.domain.customers import CustomerData
from pollen.domain.orders import OrderData, OrderFacts, OrderLine, Refund, RefundLine
from pollen.services.adjustments import adjust
from pollen.services.container import container
from pollen.services.customers import get_customer, upsert_customer
from pollen.services.idempotency import Idempotency
from pollen.services.orders import record_order_fact
from pollen.storage.client import CallCounter
from tests.support.ledger import assert_ledgers_balance

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def order(
    order_id: str = "1001", customer_id: str | None = "c1", email: str | None = "jon@example.com"
) -> OrderData:
    """200.00 of merchandise after a 20.00 discount on line A; the gift card earns nothing."""
    return OrderData(
        order_id=order_id,
        customer_id=customer_id,
        email=email,
        currency="USD",
        lines=[
            OrderLine(
                line_id="A", product_id="p1", quantity=2, unit_price=Decimal("60.00"), discount=Decimal(20)
            ),
            OrderLine(line_id="B", product_id="p2", quantity=1, unit_price=Decimal("100.00")),
            OrderLine(line_id="G", product_id="gc", quantity=1, unit_price=Decimal("50.00"), gift_card=True),
        ],
        total=Decimal("265.00"),
    )


CREATE = OrderFacts(data=order())
PAID = OrderFacts(data=order(), paid=True)
REFUND = OrderFacts(
    refunds={"r1": Refund(refund_id="r1", lines=[RefundLine(line_id="B", quantity=1, subtotal=Decimal(50))])}
)
CANCEL = OrderFacts(cancelled=True)


def wallet_of(customer_id: str = "c1") -> tuple[int, int]:
    record = get_customer(container(), "demo-store", customer_id)
    return record.wallet.balance, record.wallet.pending


def test_unpaid_order_is_pending_then_paid_credits(demo: DemoStore, table_name: str) -> None:
    record_order_fact(container(), demo.merchant_id, "1001", CREATE, now=NOW)
    assert wallet_of() == (0, 200)
    outcome = record_order_fact(container(), demo.merchant_id, "1001", PAID, now=NOW)
    assert wallet_of() == (200, 0)
    assert [e.coins for e in outcome.entries] == [200]
    assert outcome.entries[0].expires_on == (NOW + timedelta(days=365)).date()
    assert assert_ledgers_balance(table_name) == 1


def test_same_webhook_twenty_times_credits_once(demo: DemoStore, table_name: str) -> None:
    for _ in range(20):
        record_order_fact(
            container(),
            demo.merchant_id,
            "1001",
            PAID,
            now=NOW,
            idempotency=Idempotency("shopify", "w-1", {}),
        )
    assert wallet_of() == (200, 0)
    assert assert_ledgers_balance(table_name) == 1


def test_same_fact_under_new_delivery_ids_changes_nothing(demo: DemoStore, table_name: str) -> None:
    for n in range(5):
        record_order_fact(
            container(),
            demo.merchant_id,
            "1001",
            PAID,
            now=NOW,
            idempotency=Idempotency("shopify", f"w-{n}", {}),
        )
    assert wallet_of() == (200, 0)
    assert_ledgers_balance(table_name)


@pytest.mark.parametrize("facts", list(itertools.permutations([CREATE, PAID, REFUND, CANCEL])))
def test_every_order_of_create_paid_refund_cancel_ends_in_the_same_wallet(
    demo: DemoStore, table_name: str, facts: tuple[OrderFacts, ...]
) -> None:
    for fact in facts:
        record_order_fact(
            container(), demo.merchant_id, "1001", fact, now=NOW, customer=CustomerData(customer_id="c1")
        )
    assert wallet_of() == (0, 0)
    assert_ledgers_balance(table_name)


@pytest.mark.parametrize("facts", list(itertools.permutations([CREATE, PAID, REFUND])))
def test_every_order_of_create_paid_refund_claws_back_half_of_line_b(
    demo: DemoStore, table_name: str, facts: tuple[OrderFacts, ...]
) -> None:
    for fact in facts:
        record_order_fact(
            container(), demo.merchant_id, "1001", fact, now=NOW, customer=CustomerData(customer_id="c1")
        )
    assert wallet_of() == (150, 0)
    assert_ledgers_balance(table_name)


def test_clawback_stops_at_zero_and_records_the_shortfall(demo: DemoStore, table_name: str) -> None:
    c = container()
    record_order_fact(c, demo.merchant_id, "1001", PAID, now=NOW)
    adjust(c, demo.merchant_id, "c1", -150, "spent elsewhere", now=NOW)  # 50 of the 200 coins remain
    outcome = record_order_fact(c, demo.merchant_id, "1001", CANCEL, now=NOW)
    assert wallet_of() == (0, 0)
    assert outcome.order.shortfall == 150
    assert assert_ledgers_balance(table_name) == 1


def test_a_profile_update_keeps_the_wallet_due_for_its_reminder(demo: DemoStore, table_name: str) -> None:
    c = container()
    record_order_fact(c, demo.merchant_id, "1001", PAID, now=NOW)
    reminder_day = (NOW + timedelta(days=365 - 14)).date().isoformat()
    assert _due_day(table_name).startswith(reminder_day)
    upsert_customer(
        c, demo.merchant_id, CustomerData(customer_id="c1", first_name="Ann"), now=NOW, source="api"
    )
    assert _due_day(table_name).startswith(reminder_day)


def _due_day(table_name: str) -> str:
    item = boto3.client("dynamodb").get_item(
        TableName=table_name, Key={"PK": {"S": "M#demo-store#C#c1"}, "SK": {"S": "CUSTOMER"}}
    )["Item"]
    return item["GSI2SK"]["S"]  # wallets are listed by due day on GSI2


def test_paid_order_webhook_costs_two_calls_warm(demo: DemoStore, calls: CallCounter) -> None:
    c = container()
    record_order_fact(c, demo.merchant_id, "1000", PAID, now=NOW)  # warms the config cache
    calls.reset()
    record_order_fact(
        c, demo.merchant_id, "1001", PAID, now=NOW, idempotency=Idempotency("shopify", "w-9", {})
    )
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}
    calls.reset()
    record_order_fact(
        c, demo.merchant_id, "1001", REFUND, now=NOW, idempotency=Idempotency("shopify", "w-10", {})
    )
    assert calls.total <= 2


def test_concurrent_facts_for_one_order_all_land(demo: DemoStore, table_name: str) -> None:
    c = container()
    record_order_fact(c, demo.merchant_id, "1001", CREATE, now=NOW)
    threads = [
        threading.Thread(
            target=record_order_fact, args=(c, demo.merchant_id, "1001", fact), kwargs={"now": NOW}
        )
        for fact in (PAID, REFUND, PAID, REFUND)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wallet_of() == (150, 0)
    assert_ledgers_balance(table_name)
