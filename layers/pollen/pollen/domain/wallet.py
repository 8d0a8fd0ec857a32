"""The coins wallet: balance, pending coins, lifetime figures and expiry lots.

Every change returns a new wallet and the ledger entry that explains it; nothing here touches
storage. Invariants (docs/design.md 2): the balance never goes negative, the lots sum to the balance,
and debits take the soonest-expiring coins first.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Self

from pydantic import ConfigDict, Field, model_validator

from pollen.domain.errors import Conflict, ValidationFailed
from pollen.domain.ledger_terms import Operation as Operation  # noqa: PLC0414 - re-exported
from pollen.domain.ledger_terms import Source as Source  # noqa: PLC0414
from pollen.domain.ledger_terms import TxnType as TxnType  # noqa: PLC0414
from pollen.ids import new_ulid
from pollen.model import BaseModel

NEVER = "never"  # the lot of coins that do not expire
# The largest integer every JSON reader (JavaScript's numbers included) reads exactly: no credit may
# take a wallet past it, so a wallet never holds a value its own reads cannot serve.
MAX_COINS = 2**53 - 1


class WalletLimitExceeded(ValidationFailed):
    title = "Wallet limit exceeded"
    slug = "wallet-limit-exceeded"


class InsufficientCoins(Conflict):
    title = "Not enough coins"
    slug = "insufficient-coins"


class LedgerEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    txn_id: str = Field(default_factory=new_ulid)
    seq: int = Field(default=0, ge=0, description="Position in the wallet's ledger: 1, 2, 3...")
    type: TxnType
    operation: Operation
    coins: int = Field(gt=0)
    balance_after: int = Field(ge=0)
    source: Source
    reference: str
    created_at: datetime
    expires_on: date | None = None
    note: str | None = None

    @property
    def signed(self) -> int:
        return self.coins if self.operation == Operation.CREDIT else -self.coins


class Wallet(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    balance: int = Field(default=0, ge=0)
    pending: int = Field(default=0, ge=0)
    lifetime_earned: int = Field(default=0, ge=0)
    lifetime_redeemed: int = Field(default=0, ge=0)
    lifetime_expired: int = Field(default=0, ge=0)
    lots: dict[str, int] = Field(default_factory=dict)  # ISO expiry date (or "never") -> coins
    reminded: list[str] = Field(default_factory=list)  # lot dates already announced as expiring
    ledger_seq: int = Field(default=0, ge=0)  # entries written so far; the next entry is ledger_seq + 1
    version: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _lots_sum_to_balance(self) -> Self:
        if sum(self.lots.values()) != self.balance or any(c <= 0 for c in self.lots.values()):
            raise ValueError("expiry lots must be positive and sum to the balance")
        return self

    # ---- queries ----------------------------------------------------------------------------

    def expiring(self, limit: int = 5) -> list[tuple[date, int]]:
        """The next lots to expire, soonest first (coins that never expire are not listed)."""
        dated = sorted((date.fromisoformat(d), c) for d, c in self.lots.items() if d != NEVER)
        return dated[:limit]

    def next_expiry(self) -> date | None:
        soonest = self.expiring(1)
        return soonest[0][0] if soonest else None

    # ---- changes ----------------------------------------------------------------------------

    def _entry(self, balance: int, coins: int, **kwargs: object) -> LedgerEntry:
        return LedgerEntry.model_validate(
            {"coins": coins, "balance_after": balance, "seq": self.ledger_seq + 1, **kwargs}
        )

    def credit(
        self,
        coins: int,
        *,
        type: TxnType,
        source: Source,
        reference: str,
        now: datetime,
        expiry_days: int | None,
        note: str | None = None,
    ) -> tuple[Wallet, LedgerEntry]:
        if coins <= 0:
            raise ValueError("credit needs a positive number of coins")
        expires_on = (now.date() + timedelta(days=expiry_days)) if expiry_days else None
        lot = expires_on.isoformat() if expires_on else NEVER
        return self._add({lot: coins}, type=type, source=source, reference=reference, now=now, note=note)

    def restore(
        self, lots: dict[str, int], *, source: Source, reference: str, now: datetime, note: str | None = None
    ) -> tuple[Wallet, LedgerEntry]:
        """Give back coins a redemption took, into the lots they came from (a refund must not make
        coins live longer than they would have; a lot already past its date expires on the next run)."""
        if not lots or any(c <= 0 for c in lots.values()):
            raise ValueError("restore needs positive lots")
        return self._add(lots, type=TxnType.REFUND, source=source, reference=reference, now=now, note=note)

    def _add(
        self,
        lots: dict[str, int],
        *,
        type: TxnType,
        source: Source,
        reference: str,
        now: datetime,
        note: str | None,
    ) -> tuple[Wallet, LedgerEntry]:
        """Credit ``lots`` (expiry date or NEVER -> coins); the entry shows the soonest expiry."""
        coins = sum(lots.values())
        if self.balance + self.pending + coins > MAX_COINS or self.lifetime_earned + coins > MAX_COINS:
            raise WalletLimitExceeded(f"A wallet holds at most {MAX_COINS} coins; nothing was credited.")
        merged = dict(self.lots)
        for lot, n in lots.items():
            merged[lot] = merged.get(lot, 0) + n
        dated = sorted(d for d in lots if d != NEVER)
        wallet = self.model_copy(
            update={
                "balance": self.balance + coins,
                "lots": merged,
                "lifetime_earned": self.lifetime_earned + (coins if type == TxnType.REWARD else 0),
                "lifetime_redeemed": max(
                    0, self.lifetime_redeemed - (coins if type == TxnType.REFUND else 0)
                ),
                "ledger_seq": self.ledger_seq + 1,
                "version": self.version + 1,
            }
        )
        entry = self._entry(
            wallet.balance,
            coins,
            type=type,
            operation=Operation.CREDIT,
            source=source,
            reference=reference,
            created_at=now,
            expires_on=date.fromisoformat(dated[0]) if dated else None,
            note=note,
        )
        return Wallet.model_validate(wallet.model_dump()), entry

    def debit(
        self,
        coins: int,
        *,
        type: TxnType,
        source: Source,
        reference: str,
        now: datetime,
        note: str | None = None,
        lots_first: list[str] | None = None,
    ) -> tuple[Wallet, LedgerEntry]:
        """Take ``coins``, soonest-expiring first (``lots_first`` names lots to take before that)."""
        if coins <= 0:
            raise ValueError("debit needs a positive number of coins")
        if coins > self.balance:
            raise InsufficientCoins(f"The wallet holds {self.balance} coins; {coins} are needed.")
        lots = dict(self.lots)
        order = [*(lots_first or []), *sorted(lots, key=lambda d: (d == NEVER, d))]
        remaining = coins
        for lot in order:
            take = min(remaining, lots.get(lot, 0))
            if take:
                lots[lot] -= take
                remaining -= take
                if lots[lot] == 0:
                    del lots[lot]
            if remaining == 0:
                break
        wallet = self.model_copy(
            update={
                "balance": self.balance - coins,
                "lots": lots,
                "lifetime_earned": max(0, self.lifetime_earned - (coins if type == TxnType.REVERSAL else 0)),
                "lifetime_redeemed": self.lifetime_redeemed + (coins if type == TxnType.REDEEM else 0),
                "lifetime_expired": self.lifetime_expired + (coins if type == TxnType.EXPIRE else 0),
                "reminded": [d for d in self.reminded if d in lots],
                "ledger_seq": self.ledger_seq + 1,
                "version": self.version + 1,
            }
        )
        entry = self._entry(
            wallet.balance,
            coins,
            type=type,
            operation=Operation.DEBIT,
            source=source,
            reference=reference,
            created_at=now,
            note=note,
        )
        return Wallet.model_validate(wallet.model_dump()), entry

    def with_pending(self, delta: int) -> Wallet:
        """Pending coins move with unconfirmed orders; never below zero."""
        if delta > 0 and self.balance + self.pending + delta > MAX_COINS:
            raise WalletLimitExceeded(f"A wallet holds at most {MAX_COINS} coins; nothing was credited.")
        return self.model_copy(update={"pending": max(0, self.pending + delta), "version": self.version + 1})

    def expire(self, today: date, *, now: datetime) -> tuple[Wallet, LedgerEntry | None]:
        """Expire every lot dated on or before ``today``."""
        due = [d for d in self.lots if d != NEVER and date.fromisoformat(d) <= today]
        coins = sum(self.lots[d] for d in due)
        if not coins:
            return self, None
        return self.debit(
            coins,
            type=TxnType.EXPIRE,
            source=Source.EXPIRY,
            reference=max(due),
            now=now,
            lots_first=sorted(due),
        )
