"""Redeeming and cancelling coupons, as use cases on fakes: the same rules the moto tests
(tests/integration/test_redemption_*.py) prove end to end, checked here in milliseconds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pollen.domain.coupons import CouponNotCancellable, CouponStatus
from pollen.domain.errors import NotFound
from pollen.domain.wallet import InsufficientCoins, TxnType
from pollen.events.catalogue import CouponCreatedPayload, WalletTransactionPayload, parse_payload
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency, IdempotencyKeyReused
from pollen.services.redemption import RedeemRequest, cancel_coupon, compensate, redeem
from tests.support.fakes import FakeStore

from .conftest import NOW, M, with_coins

FIVE = RedeemRequest(reward_id="five-off", coins=None, cart_total=None, channel="api")


def test_a_redemption_is_one_read_and_one_commit(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 250)
    status, result = redeem(c, M, "ann", FIVE, now=NOW)
    assert (status, result.balance, result.transaction.type) == (201, 150, TxnType.REDEEM)
    assert (store.calls.reads, store.calls.commits) == (1, 1)
    coupon = store.coupon(M, result.coupon.code)
    assert coupon is not None
    assert coupon.stored_status == CouponStatus.ISSUED
    assert coupon.version == 1
    assert store.customer(M, "ann").wallet.balance == 150


def test_the_outbox_gets_the_catalogues_typed_payloads(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 250)
    _, result = redeem(c, M, "ann", FIVE, now=NOW)
    [created] = store.events("coupon_created")
    payload = parse_payload(created)
    assert isinstance(payload, CouponCreatedPayload)
    assert (payload.code, payload.coins, payload.value, payload.customer.email) == (
        result.coupon.code,
        100,
        Decimal("5.00"),
        "ann@example.com",
    )
    [wallet] = store.events("wallet_transaction")
    assert isinstance(parse_payload(wallet), WalletTransactionPayload)
    assert wallet.payload["balance_after"] == 150
    assert wallet.payload["transaction_type"] == "redeem"


def test_too_few_coins_change_nothing(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 50)
    with pytest.raises(InsufficientCoins):
        redeem(c, M, "ann", FIVE, now=NOW)
    assert store.calls.commits == 0
    assert store.outbox == []
    assert store.customer(M, "ann").wallet.balance == 50


def test_an_unknown_customer_or_reward_is_a_404(c: Container, store: FakeStore) -> None:
    with pytest.raises(NotFound, match="customer"):
        redeem(c, M, "nobody", FIVE, now=NOW)
    with pytest.raises(NotFound, match="reward"):
        redeem(c, M, "nobody", RedeemRequest("gone", None, None, "api"), now=NOW)


def test_a_retried_request_answers_the_same_and_debits_once(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 250)
    key = Idempotency("redeem:ann", "k-1", {"reward_id": "five-off"})
    first = redeem(c, M, "ann", FIVE, now=NOW, idempotency=key)
    again = redeem(c, M, "ann", FIVE, now=NOW, idempotency=key)
    assert again == first
    assert store.customer(M, "ann").wallet.balance == 150
    assert len(store.events("coupon_created")) == 1
    with pytest.raises(IdempotencyKeyReused):
        redeem(c, M, "ann", FIVE, now=NOW, idempotency=Idempotency("redeem:ann", "k-1", {"other": 1}))


def test_a_retry_racing_its_first_attempt_is_answered_from_the_receipt(
    c: Container, store: FakeStore
) -> None:
    """Both attempts read no receipt; the second to commit finds it and replays the first's answer."""
    with_coins(store, "ann", 250)
    key = Idempotency("redeem:ann", "k-2", {"reward_id": "five-off"})
    answers = []
    store.before_commit.append(lambda: answers.append(redeem(c, M, "ann", FIVE, now=NOW, idempotency=key)))
    late = redeem(c, M, "ann", FIVE, now=NOW, idempotency=key)
    assert late == answers[0]
    assert store.customer(M, "ann").wallet.balance == 150


def test_a_concurrent_wallet_change_is_retried_on_the_new_version(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 250)
    store.before_commit.append(lambda: redeem(c, M, "ann", FIVE, now=NOW))  # someone else, first
    _, result = redeem(c, M, "ann", FIVE, now=NOW)
    assert result.balance == 50
    assert store.customer(M, "ann").wallet.balance == 50
    assert store.calls.log == ["read", "commit", "read", "commit", "read", "commit"]


def test_cancelling_gives_the_coins_back_to_their_lots(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 60, 60)  # the sooner lot is emptied first
    lots_before = dict(store.customer(M, "ann").wallet.lots)
    _, redeemed = redeem(c, M, "ann", FIVE, now=NOW)
    result = cancel_coupon(c, M, "ann", redeemed.coupon.code, now=NOW)
    assert (result.balance, result.transaction.type, result.coupon.status) == (
        120,
        TxnType.REFUND,
        CouponStatus.CANCELLED,
    )
    assert store.customer(M, "ann").wallet.lots == lots_before
    coupon = store.coupon(M, redeemed.coupon.code)
    assert coupon is not None
    assert coupon.version == 2
    assert coupon.cancel_reason == "cancelled"
    assert len(store.events("coupon_cancelled")) == 1
    with pytest.raises(CouponNotCancellable):
        cancel_coupon(c, M, "ann", redeemed.coupon.code, now=NOW)


def test_only_the_owner_can_cancel(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 250)
    with_coins(store, "bob", 10)
    _, redeemed = redeem(c, M, "ann", FIVE, now=NOW)
    with pytest.raises(NotFound, match="coupon"):
        cancel_coupon(c, M, "bob", redeemed.coupon.code, now=NOW)
    assert store.customer(M, "ann").wallet.balance == 150


def test_a_compensated_redemption_is_undone_once_and_frees_its_key(c: Container, store: FakeStore) -> None:
    """What the Shopify saga does when Shopify surely has no discount (here without Shopify: the
    coupon is put in the pending state by hand)."""
    with_coins(store, "ann", 250)
    key = Idempotency("redeem:ann", "k-3", {"reward_id": "five-off"})
    _, redeemed = redeem(c, M, "ann", FIVE, now=NOW, idempotency=key)
    issued = store.coupon(M, redeemed.coupon.code)
    assert issued is not None
    pending = issued.model_copy(update={"shopify": "pending"})
    store.items[(M, next(r for (m, r) in store.items if getattr(r, "code", None) == issued.code))] = pending
    compensate(c, M, pending, now=NOW, reason="shopify_rejected", idempotency=key)
    compensate(c, M, pending, now=NOW, reason="shopify_rejected", idempotency=key)  # settled: no-op
    after = store.coupon(M, issued.code)
    assert after is not None
    assert (after.stored_status, after.shopify, after.version) == (
        CouponStatus.CANCELLED,
        "failed",
        2,
    )
    assert store.customer(M, "ann").wallet.balance == 250
    status, again = redeem(c, M, "ann", FIVE, now=NOW, idempotency=key)  # the key may try again
    assert status == 201
    assert again.coupon.code != issued.code
    assert again.balance == 150
