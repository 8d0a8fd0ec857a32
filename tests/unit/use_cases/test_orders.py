"""The order use case on the fakes: an order fact is one read and one commit; a webhook delivery
counts once, replayed or raced; facts in any order end in the same wallet; a trigger award counts
its usage under the same guard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pollen.domain.customers import CustomerData
from pollen.domain.errors import Conflict
from pollen.domain.merchants import Merchant
from pollen.domain.orders import OrderData, OrderFacts, OrderLine
from pollen.domain.triggers import Trigger
from pollen.domain.wallet import Source, TxnType
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from pollen.services.orders import record_order_fact
from pollen.services.triggers import award_trigger
from pollen.storage.ports import ContactRef, TriggerUsageRef
from tests.support.fakes import FakeConfigs, FakeStore
from tests.unit.use_cases.conftest import FIVE_OFF, NOW, PROGRAM, M, with_coins

PRICE = Decimal("25.00")  # the default program: 1 coin per whole unit spent


def data(order_id: str, customer_id: str | None = "ann", **fields: object) -> OrderData:
    line = OrderLine(line_id="l1", quantity=2, unit_price=PRICE)
    return OrderData.model_validate(
        {"order_id": order_id, "customer_id": customer_id, "currency": "USD", "lines": [line], **fields}
    )


def delivery(webhook_id: str, body: object) -> Idempotency:
    return Idempotency("shopify", webhook_id, body)


def coins(store: FakeStore, customer_id: str) -> tuple[int, int]:
    wallet = store.customer(M, customer_id).wallet
    return wallet.balance, wallet.pending


def test_a_paid_order_credits_its_buyer_in_one_read_and_one_commit(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann")
    store.calls.log.clear()
    outcome = record_order_fact(c, M, "o1", OrderFacts(data=data("o1"), paid=True), now=NOW)
    assert store.calls.log == ["read", "commit"]
    assert (outcome.wallet.balance if outcome.wallet else None, coins(store, "ann")) == (50, (50, 0))
    (entry,) = store.ledger[(M, "ann")]
    assert (entry.type, entry.source, entry.reference, entry.coins) == (
        TxnType.REWARD,
        Source.ORDER,
        "o1",
        50,
    )
    (event,) = store.events("wallet_transaction")
    assert (event.payload["coins"], event.payload["reference"]) == (50, "o1")
    assert store.order(M, "o1").applied_credited == 50


def test_a_first_time_buyer_is_created_with_the_look_ups_of_their_signed_email(
    c: Container, store: FakeStore
) -> None:
    buyer = CustomerData(customer_id="new", email="New@Example.com")
    fact = OrderFacts(data=data("o2", customer_id="new", email="New@Example.com"))
    record_order_fact(c, M, "o2", fact, now=NOW, customer=buyer, source="shopify")
    assert store.calls.log == ["read", "commit"]
    assert coins(store, "new") == (0, 50)  # created, not paid yet: pending
    assert store.read(M, [ContactRef("email", "new@example.com")])


def test_a_replayed_delivery_writes_nothing_and_says_so(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann")
    fact = OrderFacts(data=data("o3"), paid=True)
    record_order_fact(c, M, "o3", fact, now=NOW, delivery=delivery("w-1", {"id": 3}))
    store.calls.log.clear()
    again = record_order_fact(c, M, "o3", fact, now=NOW, delivery=delivery("w-1", {"id": 3}))
    assert again.duplicate
    assert store.calls.log == ["read"]
    assert coins(store, "ann") == (50, 0)


def test_a_raced_duplicate_delivery_counts_once(c: Container, store: FakeStore) -> None:
    """Another container commits the same delivery between this one's read and its write: this write
    loses the order's version race, reads again, finds the delivery applied and answers duplicate."""
    with_coins(store, "ann")
    fact = OrderFacts(data=data("o4"), paid=True)
    answers = []
    store.before_commit.append(
        lambda: answers.append(record_order_fact(c, M, "o4", fact, now=NOW, delivery=delivery("w-2", {})))
    )
    answers.append(record_order_fact(c, M, "o4", fact, now=NOW, delivery=delivery("w-2", {})))
    assert [a.duplicate for a in answers] == [False, True]
    assert coins(store, "ann") == (50, 0)
    assert len(store.ledger[(M, "ann")]) == 1


@pytest.mark.parametrize(
    "order", [("create", "paid", "cancel"), ("cancel", "paid", "create"), ("paid", "cancel")]
)
def test_facts_in_any_order_end_in_the_same_wallet(
    c: Container, store: FakeStore, order: tuple[str, ...]
) -> None:
    with_coins(store, "ann")
    facts = {
        "create": OrderFacts(data=data("o5")),
        "paid": OrderFacts(data=data("o5"), paid=True),
        "cancel": OrderFacts(cancelled=True),
    }
    for name in order:
        record_order_fact(c, M, "o5", facts[name], now=NOW)
    assert coins(store, "ann") == (0, 0)
    assert sum(e.signed for e in store.ledger.get((M, "ann"), [])) == 0


def test_a_trigger_award_counts_its_usage_under_the_same_guard(
    c: Container, store: FakeStore, configs: FakeConfigs
) -> None:
    trigger = Trigger(trigger_id="signup", name="Sign up", coins=20, frequency="once")
    configs.put(Merchant(merchant_id=M, name="Shop", created_at=NOW), PROGRAM, [FIVE_OFF], triggers=[trigger])
    with_coins(store, "bo")
    store.calls.log.clear()
    status, answer = award_trigger(c, M, "bo", "signup", now=NOW)
    assert (status, answer.balance) == (201, 20)
    assert store.calls.log == ["read", "commit"]
    assert store.read(M, [TriggerUsageRef("bo", "signup")])
    with pytest.raises(Conflict):
        award_trigger(c, M, "bo", "signup", now=NOW)
    assert coins(store, "bo") == (20, 0)
