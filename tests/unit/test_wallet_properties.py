"""Properties of the wallet's lots and ledger (pollen/domain/wallet.py), over generated histories.

Whatever the sequence of credits, debits and expiry runs: the balance never goes negative, the lots sum
to it, the ledger entries add up to it with consecutive numbers, and a debit takes the soonest-expiring
coins first (a lot is touched only once every sooner lot is empty).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pollen.domain.wallet import NEVER, InsufficientCoins, LedgerEntry, Source, TxnType, Wallet

START = datetime(2026, 1, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Credit:
    coins: int
    day: int
    expiry_days: int | None


@dataclass(frozen=True)
class Debit:
    coins: int
    day: int


@dataclass(frozen=True)
class Expire:
    day: int


Step = Credit | Debit | Expire

steps = st.lists(
    st.one_of(
        st.builds(Credit, st.integers(1, 500), st.integers(0, 60), st.none() | st.integers(1, 45)),
        st.builds(Debit, st.integers(1, 700), st.integers(0, 60)),
        st.builds(Expire, st.integers(0, 120)),
    ),
    max_size=25,
)


def _sooner(lot: str) -> tuple[bool, str]:
    return (lot == NEVER, lot)


def _apply(wallet: Wallet, step: Step) -> tuple[Wallet, LedgerEntry | None]:
    now = START + timedelta(days=step.day)
    if isinstance(step, Credit):
        return wallet.credit(
            step.coins, type=TxnType.REWARD, source=Source.ORDER, reference="o", now=now,
            expiry_days=step.expiry_days,
        )  # fmt: skip
    if isinstance(step, Debit):
        return wallet.debit(step.coins, type=TxnType.REDEEM, source=Source.REDEMPTION, reference="c", now=now)
    return wallet.expire(now.date(), now=now)


@given(steps)
def test_balance_lots_and_ledger_agree_after_any_history(history: list[Step]) -> None:
    wallet = Wallet(customer_id="c-1")
    ledger: list[LedgerEntry] = []
    for step in history:
        try:
            wallet, entry = _apply(wallet, step)
        except InsufficientCoins:
            assert isinstance(step, Debit)
            assert step.coins > wallet.balance
            continue
        if entry is not None:
            ledger.append(entry)
        assert wallet.balance >= 0
        assert sum(wallet.lots.values()) == wallet.balance
        assert all(coins > 0 for coins in wallet.lots.values())
    assert sum(entry.signed for entry in ledger) == wallet.balance
    assert [entry.seq for entry in ledger] == list(range(1, len(ledger) + 1))
    assert wallet.ledger_seq == len(ledger)
    running = 0
    for entry in ledger:
        running += entry.signed
        assert entry.balance_after == running
    assert wallet.balance == wallet.lifetime_earned - wallet.lifetime_redeemed - wallet.lifetime_expired


lots = st.dictionaries(
    st.sampled_from([NEVER, *(f"2026-02-{d:02d}" for d in range(1, 29))]), st.integers(1, 300), max_size=8
)


@given(lots, st.data())
def test_a_debit_takes_the_soonest_expiring_coins_first(
    before_lots: dict[str, int], data: st.DataObject
) -> None:
    balance = sum(before_lots.values())
    wallet = Wallet(customer_id="c-1", balance=balance, lots=before_lots)
    if balance == 0:
        with pytest.raises(InsufficientCoins):
            wallet.debit(1, type=TxnType.REDEEM, source=Source.REDEMPTION, reference="c", now=START)
        return
    coins = data.draw(st.integers(1, balance))
    after, entry = wallet.debit(
        coins, type=TxnType.REDEEM, source=Source.REDEMPTION, reference="c", now=START
    )
    taken = {lot: n - after.lots.get(lot, 0) for lot, n in before_lots.items()}
    assert sum(taken.values()) == coins == entry.coins
    assert set(after.lots) <= set(before_lots)  # a debit never creates a lot
    for lot, n in taken.items():
        if n > 0:
            sooner = [other for other in before_lots if _sooner(other) < _sooner(lot)]
            assert all(other not in after.lots for other in sooner), f"{lot} touched before {sooner} emptied"


@given(lots, st.integers(1, 28))
def test_expiry_takes_exactly_the_lots_due(before_lots: dict[str, int], day: int) -> None:
    wallet = Wallet(customer_id="c-1", balance=sum(before_lots.values()), lots=before_lots)
    today = date(2026, 2, day)
    after, entry = wallet.expire(today, now=START)
    due = {lot: n for lot, n in before_lots.items() if lot != NEVER and date.fromisoformat(lot) <= today}
    assert after.lots == {lot: n for lot, n in before_lots.items() if lot not in due}
    assert (entry.coins if entry else 0) == sum(due.values())
    assert after.lifetime_expired == sum(due.values())
    assert (entry is None) == (not due)


@given(lots, st.integers(1, 1000))
def test_an_overdraw_is_refused_and_changes_nothing(before_lots: dict[str, int], extra: int) -> None:
    wallet = Wallet(customer_id="c-1", balance=sum(before_lots.values()), lots=before_lots)
    with pytest.raises(InsufficientCoins):
        wallet.debit(
            wallet.balance + extra, type=TxnType.REDEEM, source=Source.REDEMPTION, reference="c", now=START
        )
    assert wallet.lots == before_lots
