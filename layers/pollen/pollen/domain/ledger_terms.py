"""What a ledger entry is: its type, its direction and what caused it. Apart from the wallet's models
(:mod:`pollen.domain.wallet` re-exports them) so that the event filters and the stream consumers that
match on them do not load the wallet (docs/design.md, "Cold start")."""

from __future__ import annotations

from enum import StrEnum


class TxnType(StrEnum):
    REWARD = "reward"  # earned: orders, triggers, referrals
    REDEEM = "redeem"  # spent on a coupon
    REFUND = "refund"  # coins given back (a cancelled coupon)
    EXPIRE = "expire"
    ADJUST = "adjust"  # a merchant's manual correction
    REVERSAL = "reversal"  # an order cancelled or refunded takes back what it earned
    IMPORT = "import"  # a balance brought from another loyalty app (a migration import)


class Operation(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"


class Source(StrEnum):
    ORDER = "order"
    TRIGGER = "trigger"
    ADMIN = "admin"
    REDEMPTION = "redemption"
    EXPIRY = "expiry"
    REFERRAL = "referral"
    IMPORT = "import"
    TIER = "tier"  # VIP tiers: entry rewards and earn-multiplier bonuses
