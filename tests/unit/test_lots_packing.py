"""The customer item's packed expiry lots (storage/lots.py): lossless, so expiry and FIFO are unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.wallet import NEVER, Source, TxnType, Wallet
from pollen.storage.capacity import plain_item_size
from pollen.storage.customers import customer_item, parse_customer_item
from pollen.storage.lots import pack, stored, unpack

START = datetime(2026, 1, 1, 12, tzinfo=UTC)

lot_days = st.dates(min_value=date(1970, 1, 1), max_value=date(2200, 12, 31)).map(date.isoformat)
lots_maps = st.dictionaries(st.one_of(lot_days, st.just(NEVER)), st.integers(1, 10**12), max_size=60)


@given(lots_maps)
def test_packing_is_lossless(lots: dict[str, int]) -> None:
    assert unpack(pack(lots)) == lots
    assert stored(pack(lots)) == lots


def test_items_written_before_packing_still_read() -> None:
    assert stored({"2026-02-01": 3, NEVER: 2}) == {"2026-02-01": 3, NEVER: 2}
    with pytest.raises(ValueError, match="encoding"):
        unpack("9.AA")


# one operation: (days later, credit or debit, coins, expiry days of a credit)
operations = st.lists(
    st.tuples(
        st.integers(0, 40),
        st.sampled_from(["credit", "debit"]),
        st.integers(1, 500),
        st.sampled_from([None, 1, 30, 365, 400]),
    ),
    max_size=40,
)


def _stored(wallet: Wallet) -> Wallet:
    customer = Customer(customer_id=wallet.customer_id, created_at=START, updated_at=START, source="api")
    item = customer_item("m1", CustomerRecord(customer, wallet), reminder_days=14)
    return parse_customer_item(item).wallet


@given(operations)
def test_packing_never_changes_what_expires_when(ops: list[tuple[int, str, int, int | None]]) -> None:
    """A wallet kept in the item (packed) and one kept in memory: after every credit, debit and any
    expiry run, the same lots, the same coins expiring on the same days, the same FIFO debits."""
    now = START
    kept = memory = Wallet(customer_id="c1")
    for later, kind, coins, expiry_days in ops:
        now += timedelta(days=later)
        if kind == "credit":
            memory, _ = memory.credit(
                coins,
                type=TxnType.REWARD,
                source=Source.ADMIN,
                reference="r",
                now=now,
                expiry_days=expiry_days,
            )
            kept, _ = _stored(kept).credit(
                coins,
                type=TxnType.REWARD,
                source=Source.ADMIN,
                reference="r",
                now=now,
                expiry_days=expiry_days,
            )
        elif memory.balance:
            take = min(coins, memory.balance)
            memory, _ = memory.debit(take, type=TxnType.REDEEM, source=Source.ADMIN, reference="r", now=now)
            kept, _ = _stored(kept).debit(
                take, type=TxnType.REDEEM, source=Source.ADMIN, reference="r", now=now
            )
        kept = _stored(kept)
        assert kept == memory
        assert kept.expiring(limit=len(kept.lots)) == memory.expiring(limit=len(memory.lots))
        for ahead in (0, 1, 30, 366):
            day = (now + timedelta(days=ahead)).date()
            expired_kept, entry_kept = kept.expire(day, now=now)
            expired_memory, entry_memory = memory.expire(day, now=now)
            assert expired_kept == expired_memory
            assert (entry_kept.coins if entry_kept else 0) == (entry_memory.coins if entry_memory else 0)


def test_a_year_of_daily_lots_packs_small() -> None:
    wallet = Wallet(customer_id="c1")
    for day in range(365):
        wallet, _ = wallet.credit(
            10,
            type=TxnType.REWARD,
            source=Source.ADMIN,
            reference="r",
            now=START + timedelta(days=day),
            expiry_days=365,
        )
    assert len(wallet.lots) == 365
    customer = Customer(customer_id="c1", created_at=START, updated_at=START, source="api")
    packed = customer_item("m1", CustomerRecord(customer, wallet), reminder_days=14)
    as_map = {**packed, "wallet": {**packed["wallet"], "lots": wallet.lots}}
    assert plain_item_size(packed) <= 1600
    assert plain_item_size(as_map) >= 5000  # what a map of lots cost
