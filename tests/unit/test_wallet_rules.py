from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from pollen.domain.wallet import (
    NEVER,
    InsufficientCoins,
    LedgerEntry,
    Operation,
    Source,
    TxnType,
    Wallet,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def _credit(
    wallet: Wallet,
    coins: int,
    *,
    days: int | None = 365,
    type: TxnType = TxnType.REWARD,
    now: datetime = NOW,
) -> tuple[Wallet, LedgerEntry]:
    return wallet.credit(coins, type=type, source=Source.ORDER, reference="o-1", now=now, expiry_days=days)


def _debit(
    wallet: Wallet, coins: int, *, type: TxnType = TxnType.REDEEM, now: datetime = NOW
) -> tuple[Wallet, LedgerEntry]:
    return wallet.debit(coins, type=type, source=Source.REDEMPTION, reference="r-1", now=now)


def _lot(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


# ---- credit ---------------------------------------------------------------------------------


def test_credit_adds_a_lot_dated_now_plus_expiry_days() -> None:
    wallet, entry = _credit(Wallet(customer_id="c"), 40, days=30)
    assert wallet.balance == 40
    assert wallet.lots == {"2025-04-09": 40}
    assert entry.expires_on == date(2025, 4, 9)
    assert entry.operation == Operation.CREDIT
    assert entry.signed == 40
    assert entry.balance_after == 40


def test_credits_on_the_same_expiry_date_share_a_lot() -> None:
    wallet, _ = _credit(Wallet(customer_id="c"), 10, days=30)
    wallet, _ = _credit(wallet, 5, days=29, now=NOW + timedelta(days=1))
    assert wallet.lots == {_lot(30): 15}


def test_credit_without_expiry_goes_to_the_never_lot() -> None:
    wallet, entry = _credit(Wallet(customer_id="c"), 7, days=None)
    wallet, _ = _credit(wallet, 3, days=None)
    assert wallet.lots == {NEVER: 10}
    assert entry.expires_on is None
    assert wallet.next_expiry() is None
    assert wallet.expiring() == []


@pytest.mark.parametrize("coins", [0, -5])
def test_credit_and_debit_need_positive_coins(coins: int) -> None:
    wallet, _ = _credit(Wallet(customer_id="c"), 10)
    with pytest.raises(ValueError, match="positive"):
        _credit(wallet, coins)
    with pytest.raises(ValueError, match="positive"):
        _debit(wallet, coins)


def test_changes_return_a_new_wallet_and_leave_the_old_one_alone() -> None:
    start, _ = _credit(Wallet(customer_id="c"), 10, days=30)
    after, _ = _credit(start, 5, days=30)
    after, _ = _debit(after, 12)
    assert start.balance == 10
    assert start.lots == {_lot(30): 10}
    assert after.lots == {_lot(30): 3}


# ---- debit ----------------------------------------------------------------------------------


def test_debit_takes_the_soonest_expiring_lot_first_and_never_last() -> None:
    wallet = Wallet(customer_id="c")
    wallet, _ = _credit(wallet, 10, days=None)
    wallet, _ = _credit(wallet, 10, days=90)
    wallet, _ = _credit(wallet, 10, days=10)
    wallet, _ = _credit(wallet, 10, days=400)  # next year

    wallet, _ = _debit(wallet, 15)
    assert wallet.lots == {_lot(90): 5, _lot(400): 10, NEVER: 10}

    wallet, _ = _debit(wallet, 14)
    assert wallet.lots == {_lot(400): 1, NEVER: 10}

    wallet, entry = _debit(wallet, 3)
    assert wallet.lots == {NEVER: 8}
    assert entry.balance_after == 8
    assert entry.signed == -3


def test_debit_more_than_the_balance_raises_and_changes_nothing() -> None:
    wallet, _ = _credit(Wallet(customer_id="c"), 10, days=30)
    before = wallet.model_dump()
    with pytest.raises(InsufficientCoins, match="10 coins; 11"):
        _debit(wallet, 11)
    assert wallet.model_dump() == before
    drained, entry = _debit(wallet, 10)  # exactly the balance is fine
    assert drained.balance == 0
    assert drained.lots == {}
    assert entry.balance_after == 0


def test_a_wallet_whose_lots_do_not_sum_to_its_balance_is_rejected() -> None:
    with pytest.raises(ValidationError, match="sum to the balance"):
        Wallet(customer_id="c", balance=10, lots={NEVER: 9})
    with pytest.raises(ValidationError, match="positive"):
        Wallet(customer_id="c", balance=0, lots={NEVER: 0})


# ---- expire ---------------------------------------------------------------------------------


def _wallet_with_lots() -> Wallet:
    wallet = Wallet(customer_id="c")
    wallet, _ = _credit(wallet, 4, days=5, now=NOW - timedelta(days=10))  # due 5 days ago
    wallet, _ = _credit(wallet, 6, days=10, now=NOW - timedelta(days=10))  # due today
    wallet, _ = _credit(wallet, 8, days=1)  # due tomorrow
    wallet, _ = _credit(wallet, 2, days=None)
    return wallet


def test_expire_removes_only_lots_due_on_or_before_today() -> None:
    wallet = _wallet_with_lots()
    expired, entry = wallet.expire(TODAY, now=NOW)
    assert expired.lots == {_lot(1): 8, NEVER: 2}
    assert expired.balance == 10
    assert expired.lifetime_expired == 10
    assert expired.lifetime_earned == wallet.lifetime_earned
    assert expired.lifetime_redeemed == 0
    assert entry is not None
    assert entry.type == TxnType.EXPIRE
    assert entry.operation == Operation.DEBIT
    assert entry.source == Source.EXPIRY
    assert entry.coins == 10
    assert entry.balance_after == 10
    assert entry.reference == TODAY.isoformat()  # the latest lot it expired


def test_expire_with_nothing_due_returns_the_same_wallet_and_no_entry() -> None:
    wallet = _wallet_with_lots()
    once, _ = wallet.expire(TODAY, now=NOW)
    again, entry = once.expire(TODAY, now=NOW)
    assert entry is None
    assert again == once


def test_expire_never_touches_the_never_lot() -> None:
    wallet, _ = _credit(Wallet(customer_id="c"), 5, days=None)
    expired, entry = wallet.expire(date(9999, 12, 31), now=NOW)
    assert entry is None
    assert expired.lots == {NEVER: 5}


def test_expire_forgets_reminders_for_lots_it_removed() -> None:
    wallet = _wallet_with_lots().model_copy(update={"reminded": [TODAY.isoformat(), _lot(1)]})
    expired, _ = wallet.expire(TODAY, now=NOW)
    assert expired.reminded == [_lot(1)]


# ---- lifetime figures, pending, version -------------------------------------------------------


def test_lifetime_bookkeeping_per_transaction_type() -> None:
    wallet = Wallet(customer_id="c")
    wallet, _ = _credit(wallet, 100, type=TxnType.REWARD)
    assert (wallet.lifetime_earned, wallet.lifetime_redeemed) == (100, 0)

    wallet, _ = _debit(wallet, 30, type=TxnType.REDEEM)
    assert (wallet.balance, wallet.lifetime_earned, wallet.lifetime_redeemed) == (70, 100, 30)

    wallet, _ = _credit(wallet, 30, type=TxnType.REFUND)  # the coupon was cancelled
    assert (wallet.balance, wallet.lifetime_earned, wallet.lifetime_redeemed) == (100, 100, 0)

    wallet, _ = _debit(wallet, 40, type=TxnType.REVERSAL)  # the order was refunded
    assert (wallet.balance, wallet.lifetime_earned, wallet.lifetime_redeemed) == (60, 60, 0)

    wallet, _ = _credit(wallet, 5, type=TxnType.ADJUST)
    wallet, _ = _debit(wallet, 2, type=TxnType.ADJUST)
    assert (wallet.balance, wallet.lifetime_earned, wallet.lifetime_redeemed) == (63, 60, 0)
    assert wallet.lifetime_expired == 0


def test_lifetime_figures_never_go_negative() -> None:
    wallet, _ = _credit(Wallet(customer_id="c"), 10, type=TxnType.ADJUST)
    wallet, _ = _credit(wallet, 5, type=TxnType.REFUND)
    assert wallet.lifetime_redeemed == 0
    wallet, _ = _debit(wallet, 15, type=TxnType.REVERSAL)
    assert wallet.lifetime_earned == 0


def test_each_entry_records_the_balance_after_it() -> None:
    wallet = Wallet(customer_id="c")
    balances = []
    for step in [20, -5, 7, -22]:
        if step > 0:
            wallet, entry = _credit(wallet, step)
        else:
            wallet, entry = _debit(wallet, -step)
        assert entry.signed == step
        balances.append(entry.balance_after)
    assert balances == [20, 15, 22, 0]


def test_pending_never_goes_below_zero() -> None:
    wallet = Wallet(customer_id="c").with_pending(30)
    assert wallet.pending == 30
    wallet = wallet.with_pending(-10)
    assert wallet.pending == 20
    wallet = wallet.with_pending(-50)
    assert wallet.pending == 0
    assert wallet.balance == 0


def test_every_change_increments_the_version() -> None:
    wallet = Wallet(customer_id="c")
    assert wallet.version == 0
    wallet, _ = _credit(wallet, 10, days=1)
    assert wallet.version == 1
    wallet, _ = _debit(wallet, 1)
    assert wallet.version == 2
    wallet = wallet.with_pending(5)
    assert wallet.version == 3
    wallet, _ = wallet.expire(TODAY + timedelta(days=1), now=NOW)
    assert wallet.version == 4
    assert wallet.balance == 0


# ---- a random walk against a reference model --------------------------------------------------


def _model_debit(lots: dict[str, int], coins: int) -> None:
    """The rule written the long way: dated lots by date, the never-expiring lot last."""
    dated = sorted(date.fromisoformat(d) for d in lots if d != NEVER)
    for key in [*(d.isoformat() for d in dated), NEVER]:
        take = min(coins, lots.get(key, 0))
        coins -= take
        if take:
            lots[key] -= take
            if not lots[key]:
                del lots[key]
    assert coins == 0


def test_a_random_walk_keeps_the_invariants() -> None:
    rng = random.Random(20250310)  # noqa: S311 - reproducible test data, not security
    wallet = Wallet(customer_id="c")
    lots: dict[str, int] = {}
    ledger: list[LedgerEntry] = []
    today = TODAY
    for _ in range(200):
        today += timedelta(days=rng.randint(0, 3))
        now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
        op = rng.choice(["reward", "reward", "redeem", "refund", "reversal", "expire", "overdraw"])
        coins = rng.randint(1, 60)
        if op == "reward":
            days = rng.choice([None, 1, 5, 30, 365])
            wallet, entry = _credit(wallet, coins, days=days, now=now)
            key = (today + timedelta(days=days)).isoformat() if days else NEVER
            lots[key] = lots.get(key, 0) + coins
        elif op == "refund":
            if not wallet.lifetime_redeemed:
                continue
            coins = min(coins, wallet.lifetime_redeemed)
            wallet, entry = _credit(wallet, coins, days=30, type=TxnType.REFUND, now=now)
            key = (today + timedelta(days=30)).isoformat()
            lots[key] = lots.get(key, 0) + coins
        elif op in {"redeem", "reversal"}:
            if coins > wallet.balance:
                continue
            type = TxnType.REDEEM if op == "redeem" else TxnType.REVERSAL
            wallet, entry = _debit(wallet, coins, type=type, now=now)
            _model_debit(lots, coins)
        elif op == "overdraw":
            before = wallet
            with pytest.raises(InsufficientCoins):
                _debit(wallet, wallet.balance + coins, now=now)
            assert wallet == before
            continue
        else:
            expired, maybe = wallet.expire(today, now=now)
            due = {d for d in lots if d != NEVER and date.fromisoformat(d) <= today}
            lots = {d: c for d, c in lots.items() if d not in due}
            if maybe is None:
                assert not due
                assert expired is wallet
                continue
            wallet, entry = expired, maybe
            assert all(d == NEVER or date.fromisoformat(d) > today for d in wallet.lots)

        ledger.append(entry)
        assert wallet.lots == lots
        assert sum(wallet.lots.values()) == wallet.balance
        assert all(c > 0 for c in wallet.lots.values())
        assert entry.balance_after == wallet.balance == sum(e.signed for e in ledger)
        assert wallet.balance == wallet.lifetime_earned - wallet.lifetime_redeemed - wallet.lifetime_expired
        assert wallet.version == len(ledger)

    kinds = {e.type for e in ledger}
    assert kinds >= {TxnType.REWARD, TxnType.REDEEM, TxnType.REFUND, TxnType.REVERSAL, TxnType.EXPIRE}
