"""Manual adjustments as a use case on fakes: load → adjust_wallet → commit."""

from __future__ import annotations

import pytest

from pollen.domain.wallet import InsufficientCoins, TxnType
from pollen.services.adjustments import adjust
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from tests.support.fakes import FakeStore

from .conftest import NOW, M, with_coins


def test_coins_added_and_taken_with_their_reason(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 100)
    status, added = adjust(c, M, "ann", 50, "goodwill", now=NOW)
    _, taken = adjust(c, M, "ann", -120, "correction", now=NOW)
    assert (status, added.balance, taken.balance) == (201, 150, 30)
    assert [t.type for t in taken.transactions] == [TxnType.ADJUST]
    assert taken.transactions[0].note == "correction"
    assert [e.payload["coins"] for e in store.events("wallet_transaction")] == [50, 120]


def test_taking_more_than_the_balance_changes_nothing(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 10)
    with pytest.raises(InsufficientCoins):
        adjust(c, M, "ann", -11, "too much", now=NOW)
    assert store.calls.commits == 0


def test_a_retried_adjustment_is_applied_once(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 10)
    key = Idempotency("adjust:ann", "k", {"coins": 5})
    first = adjust(c, M, "ann", 5, "x", now=NOW, idempotency=key)
    assert adjust(c, M, "ann", 5, "x", now=NOW, idempotency=key) == first
    assert store.customer(M, "ann").wallet.balance == 15
    assert (store.calls.reads, store.calls.commits) == (2, 1)
