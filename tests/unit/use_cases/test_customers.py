"""Customer profiles on the fakes: create or update in one read and one write, with the look-ups that
follow the profile; nothing written for nothing new; a creation race ends as one customer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pollen.domain.customers import Customer, CustomerData
from pollen.domain.orders import OrderRecord
from pollen.domain.wallet import Wallet
from pollen.services.container import Container
from pollen.services.customers import upsert_customer
from pollen.storage.ports import ContactOwner, ContactRef, OrderRef
from tests.support.fakes import FakeStore
from tests.unit.use_cases.conftest import NOW, M, with_coins


def owner(store: FakeStore, kind: Literal["email", "phone"], value: str) -> str | None:
    found = store.read(M, [ContactRef(kind, value)]).get(ContactRef(kind, value))
    assert found is None or isinstance(found, ContactOwner)
    return found.customer_id if found else None


def test_a_new_customer_is_one_read_one_write_and_one_created_event(c: Container, store: FakeStore) -> None:
    data = CustomerData(customer_id="ann", email="Ann@Example.com", phone="+1 555 0100", birthday="03-09")
    result = upsert_customer(c, M, data, now=NOW, source="shopify", email_verified=True)
    assert result.created
    assert result.claimed_orders == []
    assert store.calls.log == ["read", "commit", "query"]  # the last: guest orders for the verified email
    record = store.customer(M, "ann")
    assert (record.version, record.wallet.balance, record.customer.email) == (1, 0, "ann@example.com")
    (event,) = store.events("customer_created")
    assert event.customer_id == "ann"
    assert event.payload["customer"]["email"] == "ann@example.com"
    store.calls.log.clear()
    assert (owner(store, "email", "ann@example.com"), owner(store, "phone", "+15550100")) == ("ann", "ann")
    assert store.birthdays[(M, "ann")] == date(2026, 3, 9)  # NOW is 1 March: this year's


def test_an_unverified_email_is_kept_but_links_nothing_and_claims_nothing(
    c: Container, store: FakeStore
) -> None:
    upsert_customer(c, M, CustomerData(customer_id="bo", email="bo@example.com"), now=NOW, source="api")
    assert store.customer(M, "bo").customer.email == "bo@example.com"
    assert store.calls.log == ["read", "commit"]  # no guest-order query: an app's email proves nothing
    assert owner(store, "email", "bo@example.com") is None


def test_the_same_profile_again_writes_nothing(c: Container, store: FakeStore) -> None:
    data = CustomerData(customer_id="cy", first_name="Cy")
    upsert_customer(c, M, data, now=NOW, source="api")
    store.calls.log.clear()
    again = upsert_customer(c, M, data, now=NOW + timedelta(hours=1), source="api")
    assert not again.created
    assert store.calls.log == ["read"]
    assert len(store.events("customer_created")) == 1


def test_an_update_keeps_the_wallet_and_moves_the_links(c: Container, store: FakeStore) -> None:
    with_coins(store, "dee", 40, 2)
    upsert_customer(
        c,
        M,
        CustomerData(customer_id="dee", email="dee@new.example"),
        now=NOW,
        source="shopify",
        email_verified=True,
    )
    record = store.customer(M, "dee")
    assert (record.wallet.balance, record.version, record.customer.email) == (
        42,
        3,
        "dee@new.example",
    )  # 2 + 1
    assert owner(store, "email", "dee@new.example") == "dee"
    assert store.events("customer_created") == []


def test_a_creation_race_ends_as_one_customer_updated_once(c: Container, store: FakeStore) -> None:
    """Another container creates the customer between this one's read and its write: the write is
    refused (the id is taken), the use case runs again on what is stored and updates it."""

    def other_container_creates() -> None:
        other = Customer(customer_id="eve", first_name="Eve", created_at=NOW, updated_at=NOW)
        store.add_customer(M, other, Wallet(customer_id="eve", version=1))

    store.before_commit.append(other_container_creates)
    result = upsert_customer(c, M, CustomerData(customer_id="eve", last_name="Ng"), now=NOW, source="api")
    assert not result.created
    assert store.calls.log == ["read", "commit", "read", "commit"]
    record = store.customer(M, "eve")
    assert (record.customer.first_name, record.customer.last_name, record.version) == ("Eve", "Ng", 2)
    assert store.events("customer_created") == []  # the other container's creation is not this one's


def test_a_verified_email_claims_only_its_own_guest_orders(c: Container, store: FakeStore) -> None:
    """The guest-order query runs on the store; an order already someone's is not a guest's."""
    store.items[(M, OrderRef("g1"))] = OrderRecord(order_id="g1", customer_id="someone-else")
    data = CustomerData(customer_id="fay", email="fay@example.com")
    result = upsert_customer(c, M, data, now=NOW, source="shopify", email_verified=True)
    assert store.calls.log == ["read", "commit", "query"]
    assert result.claimed_orders == []
    assert owner(store, "email", "fay@example.com") == "fay"
