"""A merchant's manual adjustment of a wallet: coins added (expiring per the program) or taken."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.wallet import LedgerEntry, Source, TxnType, Wallet


def adjust_wallet(
    wallet: Wallet,
    coins: int,
    reason: str,
    *,
    reference: str,
    expiry_days: int | None,
    now: datetime,
) -> tuple[Wallet, LedgerEntry]:
    """Positive ``coins`` are credited, negative ones debited (soonest-expiring first); taking more
    than the balance raises :class:`pollen.domain.wallet.InsufficientCoins` and changes nothing."""
    if coins > 0:
        return wallet.credit(
            coins,
            type=TxnType.ADJUST,
            source=Source.ADMIN,
            reference=reference,
            now=now,
            expiry_days=expiry_days,
            note=reason,
        )
    return wallet.debit(
        -coins, type=TxnType.ADJUST, source=Source.ADMIN, reference=reference, now=now, note=reason
    )
