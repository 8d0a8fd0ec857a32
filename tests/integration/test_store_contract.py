"""The unit of work's store, the table (moto) and the in-memory fake side by side: the fake the
use-case tests run on (tests/unit/use_cases) must keep the rules the table keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pollen.domain.api_keys import ApiKey, Scope
from pollen.domain.coupons import Coupon
from pollen.domain.customer_tokens import Keyring, new_secret
from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.integrations import Integration, IntegrationKind, Subscription
from pollen.domain.orders import OrderRecord
from pollen.domain.reviews import ReviewRecord
from pollen.domain.rewards import RewardType
from pollen.domain.wallet import Wallet
from pollen.domain.widget import StoredWidgetSettings
from pollen.model import BaseModel
from pollen.services.idempotency import Idempotency
from pollen.services.unit_of_work import UnitOfWork, Units, run
from pollen.storage.errors import ConditionFailed, DuplicateRequest
from pollen.storage.orders import put_order
from pollen.storage.ports import (
    AddApiKey,
    CouponRef,
    CustomerRef,
    DeleteSubscription,
    IntegrationRef,
    KeyringRef,
    OrderRef,
    ReceiptRef,
    ReviewRef,
    RevokeApiKey,
    SaveCoupon,
    SaveCustomer,
    SaveIntegration,
    SaveKeyring,
    SaveSubscription,
    SaveWidgetSettings,
    SettleReview,
    Store,
    WriteReceipt,
)
from pollen.storage.receipts import Receipt, fingerprint
from pollen.storage.reviews import review_item
from pollen.storage.unit_of_work import DynamoStore
from tests.support.fakes import FakeStore

M = "m-contract"
NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)


def customer(customer_id: str, version: int = 0) -> CustomerRecord:
    person = Customer(customer_id=customer_id, created_at=NOW, updated_at=NOW)
    return CustomerRecord(person, Wallet(customer_id=customer_id, version=version))


def coupon(code: str, version: int = 1) -> Coupon:
    return Coupon(
        code=code,
        customer_id="c1",
        reward_id="r",
        reward_type=RewardType.FREE_SHIPPING,
        currency="USD",
        coins=0,
        created_at=NOW,
        expires_at=NOW,
        transaction_id="t",
        version=version,
    )


def save(record: CustomerRecord, expected: int | None) -> SaveCustomer:
    return SaveCustomer(record, expected, (), (), 0)


def receipt(key: str) -> Receipt:
    return Receipt(
        merchant_id=M,
        scope="s",
        idempotency_key=key,
        request_fingerprint=fingerprint({"a": 1}),
        status=201,
        response={"ok": True},
        created_at=NOW,
    )


def test_a_read_returns_what_exists(store: Store) -> None:
    store.commit(M, [save(customer("c1"), None), SaveCoupon(coupon("AAAA-BBBB-CCCC"), None)])
    found = store.read(M, [CustomerRef("c1"), CouponRef("AAAA-BBBB-CCCC"), CustomerRef("nobody")])
    assert set(found) == {CustomerRef("c1"), CouponRef("AAAA-BBBB-CCCC")}
    assert store.get(M, CustomerRef("nobody")) is None


def test_a_new_aggregate_must_not_exist_and_a_failed_commit_writes_nothing(store: Store) -> None:
    store.commit(M, [save(customer("c1"), None)])
    with pytest.raises(ConditionFailed) as failed:
        store.commit(M, [SaveCoupon(coupon("AAAA-BBBB-DDDD"), None), save(customer("c1"), None)])
    assert failed.value.labels == ["customer"]
    assert store.get(M, CouponRef("AAAA-BBBB-DDDD")) is None


def test_a_save_is_guarded_by_the_version_read(store: Store) -> None:
    store.commit(M, [save(customer("c1"), None)])
    store.commit(M, [save(customer("c1", version=1), 0)])
    with pytest.raises(ConditionFailed) as stale:
        store.commit(M, [save(customer("c1", version=1), 0)])
    assert stale.value.labels == ["customer"]
    got = store.get(M, CustomerRef("c1"))
    assert isinstance(got, CustomerRecord)
    assert got.version == 1


def test_an_existing_receipt_makes_the_commit_a_duplicate(store: Store) -> None:
    store.commit(M, [WriteReceipt(receipt("k1"))])
    with pytest.raises(DuplicateRequest) as dup:
        store.commit(M, [save(customer("c9"), None), WriteReceipt(receipt("k1"))])
    assert Receipt.from_item(dup.value.receipt).response == {"ok": True}
    assert store.get(M, CustomerRef("c9")) is None
    assert isinstance(store.get(M, ReceiptRef("s", "k1")), Receipt)


def test_revoking_an_absent_key_fails_with_an_empty_image(store: Store) -> None:
    key = ApiKey(
        merchant_id=M, key_id="k1", name="n", scope=Scope.READ, key_hash="h", hint="x", created_at=NOW
    )
    store.commit(M, [AddApiKey(key)])
    store.commit(M, [RevokeApiKey("k1", NOW)])
    with pytest.raises(ConditionFailed) as again:
        store.commit(M, [RevokeApiKey("k1", NOW)])
    assert again.value.items["api_key"]  # it exists: already revoked
    with pytest.raises(ConditionFailed) as absent:
        store.commit(M, [RevokeApiKey("nope", NOW)])
    assert not absent.value.items["api_key"]


def test_widget_settings_move_one_version_at_a_time(store: Store) -> None:
    def at(version: int) -> SaveWidgetSettings:
        return SaveWidgetSettings(StoredWidgetSettings(version=version, updated_at=NOW))

    with pytest.raises(ConditionFailed) as ahead:
        store.commit(M, [at(2)])  # none stored yet: only version 1 may be written
    assert ahead.value.labels == ["widget-settings"]
    store.commit(M, [at(1)])
    with pytest.raises(ConditionFailed) as stale:
        store.commit(M, [at(1)])  # someone wrote version 1 since: a second writer from 0 fails
    assert stale.value.labels == ["widget-settings"]
    store.commit(M, [at(2)])


def test_the_token_keyring_is_created_once_and_rotated_one_version_at_a_time(store: Store) -> None:
    first = Keyring(secrets=[new_secret(NOW)], version=1)
    store.commit(M, [SaveKeyring(first)])
    with pytest.raises(ConditionFailed) as twice:
        store.commit(M, [SaveKeyring(Keyring(secrets=[new_secret(NOW)], version=1))])  # a second "first"
    assert twice.value.labels == ["token-keys"]
    assert store.get(M, KeyringRef()) == first
    rotated = first.rotated(NOW, timedelta(hours=1))
    store.commit(M, [SaveKeyring(rotated)])
    with pytest.raises(ConditionFailed):
        store.commit(M, [SaveKeyring(first.rotated(NOW, timedelta(0)))])  # rotated from the old one
    assert store.read(M, [KeyringRef()]) == {KeyringRef(): rotated}


def test_events_config_is_saved_over_what_was_read_and_sends_only_to_integrations_that_exist(
    store: Store,
) -> None:
    later = NOW + timedelta(minutes=1)
    hook = Integration(
        integration_id="hook", kind=IntegrationKind.WEBHOOK, enabled=True, url="https://hooks.example.com/p",
        secret="whsec_x", created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    store.commit(M, [SaveIntegration(hook, None)])
    with pytest.raises(ConditionFailed) as exists:
        store.commit(M, [SaveIntegration(hook, None)])  # a second create
    assert exists.value.labels == ["integration"]
    moved = hook.model_copy(update={"enabled": False, "updated_at": later})
    store.commit(M, [SaveIntegration(moved, NOW)])
    with pytest.raises(ConditionFailed):
        store.commit(M, [SaveIntegration(hook, NOW)])  # read before the change above: stale
    assert store.get(M, IntegrationRef("hook")) == moved

    def subscription(subscription_id: str, integration_id: str) -> Subscription:
        return Subscription(
            subscription_id=subscription_id, event="wallet_transaction", integration_id=integration_id,
            created_at=NOW, updated_at=NOW,
        )  # fmt: skip

    with pytest.raises(ConditionFailed) as nowhere:
        store.commit(M, [SaveSubscription(subscription("s0", "gone"), None)])
    assert nowhere.value.labels == ["integration"]
    store.commit(M, [SaveSubscription(subscription("s1", "hook"), None)])
    assert [s.subscription_id for s in store.subscriptions(M)] == ["s1"]
    store.commit(M, [DeleteSubscription("s1")])
    with pytest.raises(ConditionFailed) as absent:
        store.commit(M, [DeleteSubscription("s1")])
    assert absent.value.labels == ["subscription"]
    assert store.subscriptions(M) == []


class Answer(BaseModel):
    version: int


def test_run_replays_a_request_by_its_receipt(store: Store) -> None:
    store.commit(M, [save(customer("c1"), None)])
    key = Idempotency("s", "k2", {"a": 1})
    runs: list[int] = []

    def use_case(uow: UnitOfWork) -> tuple[int, Answer]:
        record = uow.customers.require("c1")
        runs.append(record.version)
        uow.stage(save(customer("c1", version=record.version + 1), record.version))
        return 201, Answer(version=record.version + 1)

    first = run(Units(store), M, use_case, Answer, now=NOW, idempotency=key)
    again = run(Units(store), M, use_case, Answer, now=NOW, idempotency=key)
    assert first == again == (201, Answer(version=1))
    assert runs == [0]  # the retry was answered from the receipt, before any decision


def review(order_id: str, status: str = "pending") -> ReviewRecord:
    return ReviewRecord.model_validate(
        {
            "order_id": order_id,
            "customer_id": "c1",
            "status": status,
            "basis": "paid",
            "scheduled_at": NOW,
            "due_on": (NOW + timedelta(days=7)).date(),
        }
    )


def test_a_review_request_is_settled_once_and_read_with_its_order(store: Store) -> None:
    if isinstance(store, FakeStore):
        store.items[(M, ReviewRef("o1"))] = review("o1")
        store.items[(M, OrderRef("o1"))] = OrderRecord(order_id="o1", customer_id="c1")
    else:
        assert isinstance(store, DynamoStore)
        table = store._table  # the job reads what the order path and the webhook wrote
        table.put(review_item(M, review("o1")))
        tx = table.transaction()
        put_order(tx, M, OrderRecord(order_id="o1", customer_id="c1"), expected_version=0)
        tx.commit()
    found = store.read(M, [ReviewRef("o1"), OrderRef("o1"), ReviewRef("o2")])
    assert set(found) == {ReviewRef("o1"), OrderRef("o1")}
    assert isinstance(found[OrderRef("o1")], OrderRecord)
    store.commit(M, [SettleReview(review("o1", "sent"))])
    with pytest.raises(ConditionFailed) as again:
        store.commit(M, [SettleReview(review("o1", "skipped"))])
    assert again.value.labels == ["review-request"]
    settled = store.get(M, ReviewRef("o1"))
    assert isinstance(settled, ReviewRecord)
    assert settled.status == "sent"
