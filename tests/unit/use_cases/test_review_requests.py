"""The due-items job's review requests on the fakes: one read (the request, its order and customer),
one write (settled with its typed ``review_request`` event), never twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pollen.domain.customers import Customer
from pollen.domain.orders import OrderFacts, OrderRecord
from pollen.domain.reviews import ReviewRecord
from pollen.domain.wallet import Wallet
from pollen.services.container import Container
from pollen.services.review_requests import send_due
from pollen.storage.ports import OrderRef, ReviewRef, SettleReview
from tests.support.fakes import FakeStore
from tests.unit.use_cases.conftest import NOW, M

DUE = {"merchant_id": M, "order_id": "o1", "customer_id": "ann"}
PRODUCT = {"product_id": "p1", "title": "Sweater", "quantity": 2}


@pytest.fixture(autouse=True)
def pending(store: FakeStore) -> None:
    store.items[(M, ReviewRef("o1"))] = ReviewRecord.model_validate(
        {
            "order_id": "o1",
            "customer_id": "ann",
            "basis": "fulfilled",
            "scheduled_at": NOW,
            "due_on": (NOW + timedelta(days=7)).date(),
            "products": [PRODUCT],
            "contact": {"email": "ann@shop.example"},
        }
    )
    store.items[(M, OrderRef("o1"))] = OrderRecord(
        order_id="o1", customer_id="ann", facts=OrderFacts(paid=True)
    )


def later(days: int) -> Any:
    return NOW + timedelta(days=days)


def status(store: FakeStore) -> str:
    record = store.items[(M, ReviewRef("o1"))]
    assert isinstance(record, ReviewRecord)
    return record.status


def test_a_due_request_is_sent_once_with_the_customer_as_stored(c: Container, store: FakeStore) -> None:
    customer = Customer(
        customer_id="ann", email="ann@example.com", first_name="Ann", created_at=NOW, updated_at=NOW
    )
    store.add_customer(M, customer, Wallet(customer_id="ann"))
    assert send_due(c, DUE, later(7)) == "sent"
    assert store.calls.log == ["read", "commit"]
    (event,) = store.events("review_request")
    assert event.customer_id == "ann"
    assert event.payload["days"] == 7
    assert event.payload["basis"] == "fulfilled"
    assert event.payload["products"][0] | PRODUCT == event.payload["products"][0]
    assert event.payload["customer"]["email"] == "ann@example.com"
    assert status(store) == "sent"
    assert send_due(c, DUE, later(8)) == "stale"  # a replayed job run sends nothing again
    assert len(store.events("review_request")) == 1


def test_without_a_stored_customer_the_event_names_the_buyer_as_the_order_did(
    c: Container, store: FakeStore
) -> None:
    assert send_due(c, DUE, later(7)) == "sent"
    (event,) = store.events("review_request")
    assert event.payload["customer"]["customer_id"] == "ann"
    assert event.payload["customer"]["email"] == "ann@shop.example"


def test_not_yet_due_writes_nothing(c: Container, store: FakeStore) -> None:
    assert send_due(c, DUE, later(6)) == "waiting"
    assert store.calls.log == ["read"]
    assert status(store) == "pending"


def test_a_cancelled_order_skips_the_request_without_an_event(c: Container, store: FakeStore) -> None:
    store.items[(M, OrderRef("o1"))] = OrderRecord(order_id="o1", facts=OrderFacts(paid=True, cancelled=True))
    assert send_due(c, DUE, later(7)) == "skipped"
    record = store.items[(M, ReviewRef("o1"))]
    assert isinstance(record, ReviewRecord)
    assert (record.status, record.reason) == ("skipped", "cancelled")
    assert store.events("review_request") == []


def test_a_concurrent_run_that_settles_it_first_wins(c: Container, store: FakeStore) -> None:
    record = store.items[(M, ReviewRef("o1"))]
    assert isinstance(record, ReviewRecord)
    store.before_commit.append(
        lambda: store.commit(M, [SettleReview(record.model_copy(update={"status": "sent"}))])
    )
    assert send_due(c, DUE, later(7)) == "stale"
    assert store.events("review_request") == []  # the racing run's event is its own; ours was not written
    assert send_due(c, {**DUE, "order_id": "gone"}, later(7)) == "stale"
