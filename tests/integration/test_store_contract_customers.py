"""The unit of work's store keeps the same rules for customer profiles on the table and on the fake:
a profile saves with the look-ups that follow it, at the version read, and guest orders wait under
their email until a customer claims them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pollen.domain.customers import Customer, CustomerRecord, new_record
from pollen.domain.orders import OrderData, OrderFacts, OrderRecord
from pollen.domain.wallet import Source, TxnType, Wallet
from pollen.ids import new_ulid
from pollen.storage.errors import ConditionFailed
from pollen.storage.orders import put_order
from pollen.storage.ports import (
    ContactOwner,
    ContactRef,
    CustomerRef,
    DueWallet,
    DueWalletRef,
    OrderRef,
    SaveCustomer,
    SaveOrder,
    SaveProfile,
    Store,
    UnlinkContact,
)
from pollen.storage.unit_of_work import DynamoStore
from tests.support.fakes import FakeStore

M = "m-profiles"
NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)


def person(customer_id: str, **fields: object) -> Customer:
    return Customer.model_validate(
        {"customer_id": customer_id, "created_at": NOW, "updated_at": NOW, **fields}
    )


def save(after: CustomerRecord, before: CustomerRecord | None) -> SaveProfile:
    return SaveProfile(
        after, before.customer if before else None, before.version if before else None, 0, date(2026, 5, 1)
    )


def order(order_id: str, email: str | None) -> OrderRecord:
    data = OrderData(order_id=order_id, email=email, currency="USD")
    return OrderRecord(order_id=order_id, facts=OrderFacts(data=data))


def contacts(store: Store, *refs: ContactRef) -> dict[ContactRef, ContactOwner]:
    found = store.read(M, list(refs))
    return {ref: owner for ref in refs if isinstance(owner := found.get(ref), ContactOwner)}


def test_a_new_profile_links_its_verified_email_and_its_phone(store: Store) -> None:
    ann = new_record(person("ann", email="Ann@Example.com", email_verified=True, phone="+1 555 0100"))
    bo = new_record(person("bo", email="bo@example.com", phone="none"))  # unverified; nothing to dial
    store.commit(M, [save(ann, None)])  # one customer per commit, as every use case saves
    store.commit(M, [save(bo, None)])
    assert store.read(M, [CustomerRef("ann"), CustomerRef("bo")]) == {
        CustomerRef("ann"): ann,
        CustomerRef("bo"): bo,
    }
    email, phone = ContactRef("email", "ann@example.com"), ContactRef("phone", "+15550100")
    unverified = ContactRef("email", "bo@example.com")
    assert contacts(store, email, phone, unverified) == {
        email: ContactOwner("ann"),
        phone: ContactOwner("ann"),
    }


def test_a_profile_saves_only_at_the_version_read_and_a_new_one_only_once(store: Store) -> None:
    first = new_record(person("cy", email="cy@example.com", email_verified=True))
    store.commit(M, [save(first, None)])
    with pytest.raises(ConditionFailed) as taken:
        store.commit(
            M, [save(new_record(person("cy", email="other@example.com", email_verified=True)), None)]
        )
    assert taken.value.labels == ["customer"]
    moved = first.with_profile(person("cy", email="cy@new.example", email_verified=True))
    store.commit(M, [save(moved, first)])
    with pytest.raises(ConditionFailed) as stale:
        store.commit(M, [save(first.with_profile(person("cy", phone="+15550199")), first)])  # at v1 again
    assert stale.value.labels == ["customer"]
    assert store.get(M, CustomerRef("cy")) == moved
    new, other = ContactRef("email", "cy@new.example"), ContactRef("email", "other@example.com")
    assert contacts(store, new, other, ContactRef("phone", "+15550199")) == {new: ContactOwner("cy")}


def test_guest_orders_wait_under_their_email_until_claimed(store: Store) -> None:
    orders = [
        order("g1", "Guest@Example.com"),
        order("g2", "guest@example.com").model_copy(update={"customer_id": "ann"}),  # claimed
        order("g3", None),
    ]
    if isinstance(store, FakeStore):
        for record in orders:
            store.items[(M, OrderRef(record.order_id))] = record
    else:
        assert isinstance(store, DynamoStore)
        for record in orders:  # what the order path writes
            tx = store._table.transaction()
            put_order(tx, M, record, expected_version=0)
            tx.commit()
    assert store.guest_orders(M, " guest@example.COM") == ["g1"]
    assert store.guest_orders(M, "nobody@example.com") == []


def test_an_order_saves_only_at_the_version_read(store: Store) -> None:
    first = order("o1", "ann@example.com").model_copy(update={"version": 1})
    store.commit(M, [SaveOrder(first, 0)])
    with pytest.raises(ConditionFailed) as again:
        store.commit(M, [SaveOrder(first, 0)])  # a second "new" order with that id
    assert again.value.labels == ["order"]
    second = first.model_copy(update={"version": 2, "customer_id": "ann"})
    store.commit(M, [SaveOrder(second, 1)])
    with pytest.raises(ConditionFailed) as stale:
        store.commit(M, [SaveOrder(first.model_copy(update={"version": 2}), 1)])
    assert stale.value.labels == ["order"]
    assert store.get(M, OrderRef("o1")) == second


def test_a_look_up_is_unlinked_only_while_it_is_the_customers(store: Store) -> None:
    ann = new_record(person("ann", email="ann@example.com", email_verified=True, phone="+15550100"))
    store.commit(M, [save(ann, None)])
    email, phone = ContactRef("email", "ann@example.com"), ContactRef("phone", "+15550100")
    with pytest.raises(ConditionFailed) as not_hers:
        store.commit(M, [UnlinkContact(email, "bo"), UnlinkContact(phone, "ann")])
    assert not_hers.value.labels == ["contact-link-email"]
    assert contacts(store, email, phone) == {email: ContactOwner("ann"), phone: ContactOwner("ann")}  # none
    store.commit(M, [UnlinkContact(email, "ann"), UnlinkContact(phone, "ann")])
    assert contacts(store, email, phone) == {}
    with pytest.raises(ConditionFailed):
        store.commit(M, [UnlinkContact(email, "ann")])  # gone: nothing points at her any more


def test_the_due_jobs_read_shows_the_day_the_wallet_is_indexed_under(store: Store) -> None:
    """The due-items job decides whether an index entry is stale from it (services/expiry.py)."""
    wallet, entry = Wallet(customer_id="dee").credit(
        50, type=TxnType.ADJUST, source=Source.ADMIN, reference="r", now=NOW, expiry_days=30
    )
    dee = CustomerRecord(person("dee"), wallet.model_copy(update={"version": 1}))
    store.commit(M, [SaveCustomer(dee, None, (entry,), (new_ulid(),), 7)])  # reminders a week ahead
    store.commit(M, [save(new_record(person("eli")), None)])  # no coins: not indexed
    found = store.read(M, [DueWalletRef("dee"), DueWalletRef("eli"), DueWalletRef("nobody")])
    assert found == {
        DueWalletRef("dee"): DueWallet(dee, "2026-05-24"),  # 31 May, less the week
        DueWalletRef("eli"): DueWallet(new_record(person("eli")), None),
    }
