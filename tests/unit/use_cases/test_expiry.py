"""The due-items job's wallets on the fakes: expire what is due and announce what is about to be, in
one read and one write; nothing written when the index was behind; two runs at once expire once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pollen.domain.customers import due_day
from pollen.domain.wallet import TxnType
from pollen.services.container import Container
from pollen.services.expiry import settle_customer
from tests.support.fakes import FakeStore
from tests.unit.use_cases.conftest import M, with_coins

# with_coins: lots of 40 and 2 coins expiring on 31 March and 30 April; the program reminds 7 days ahead


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T06:00:00").replace(tzinfo=UTC)


def test_a_due_lot_expires_in_one_read_and_one_write(c: Container, store: FakeStore) -> None:
    with_coins(store, "ann", 40, 2)
    assert settle_customer(c, M, "ann", at("2026-04-01")) == (40, 0)
    assert store.calls.log == ["read", "commit"]
    record = store.customer(M, "ann")
    assert (record.wallet.balance, list(record.wallet.lots.values())) == (2, [2])
    expired = store.ledger[(M, "ann")][-1]
    assert (expired.type, expired.coins, expired.balance_after) == (TxnType.EXPIRE, 40, 2)
    (event,) = store.events("wallet_transaction")
    assert (event.payload["transaction_type"], event.payload["coins"]) == ("expire", 40)
    assert store.due_index[(M, "ann")] == date(2026, 4, 23)  # the next lot, a week early


def test_a_lot_entering_the_window_is_announced_once(c: Container, store: FakeStore) -> None:
    with_coins(store, "bo", 40, 2)
    assert settle_customer(c, M, "bo", at("2026-03-25")) == (0, 1)
    (reminder,) = store.events("coins_expiring")
    assert reminder.payload | {"customer": None} == {
        "coins": 40,
        "expires_on": "2026-03-31",
        "days_left": 6,
        "balance": 42,
        "customer": None,
    }
    assert store.customer(M, "bo").wallet.reminded == ["2026-03-31"]
    store.calls.log.clear()
    assert settle_customer(c, M, "bo", at("2026-03-25")) == (0, 0)  # the same day again
    assert store.calls.log == ["read"]


def test_nothing_due_and_the_index_ahead_writes_nothing(c: Container, store: FakeStore) -> None:
    with_coins(store, "cy", 40)  # indexed under 31 March (the seed's program sends no reminders)
    assert settle_customer(c, M, "cy", at("2026-03-10")) == (0, 0)
    assert store.calls.log == ["read"]


def test_a_stale_index_entry_is_moved_by_one_write(c: Container, store: FakeStore) -> None:
    """Listed under a day that is not due under today's program: rewritten only to move the entry."""
    with_coins(store, "dee", 40)
    store.due_index[(M, "dee")] = date(2026, 3, 5)
    assert settle_customer(c, M, "dee", at("2026-03-10")) == (0, 0)
    assert store.calls.log == ["read", "commit"]
    record = store.customer(M, "dee")
    assert record.wallet.balance == 40
    assert store.due_index[(M, "dee")] == due_day(record.wallet, 7) == date(2026, 3, 24)
    assert store.events("wallet_transaction") == []


def test_two_runs_at_once_expire_the_lot_once(c: Container, store: FakeStore) -> None:
    """Another container's run settles the wallet between this run's read and its write: this write
    is refused (the version moved), the run reads again and finds nothing left to expire."""
    with_coins(store, "eve", 40, 2)
    results: list[tuple[int, int]] = []
    store.before_commit.append(lambda: results.append(settle_customer(c, M, "eve", at("2026-04-01"))))
    results.append(settle_customer(c, M, "eve", at("2026-04-01")))
    assert results == [(40, 0), (0, 0)]
    assert [e.type for e in store.ledger[(M, "eve")]].count(TxnType.EXPIRE) == 1
    assert store.customer(M, "eve").wallet.balance == 2
