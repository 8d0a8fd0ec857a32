"""Profile properties: what Pollen knows of a customer that a marketing tool segments on.

Pushed to Klaviyo (``profile.data.attributes.properties``) and Omnisend (``contact.customProperties``)
with every delivered event, so a merchant can build "balance over 500" or "coins expiring this week"
segments. Flat scalar keys only: Omnisend's custom properties take no nested objects, so
``next_expiry {coins, date}`` goes out as ``next_expiry_coins`` and ``next_expiry_date``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ConfigDict

from pollen.domain.wallet import Wallet
from pollen.model import BaseModel


class ProfileProperties(BaseModel):
    model_config = ConfigDict(frozen=True)

    balance: int
    pending: int
    lifetime_earned: int
    next_expiry_coins: int | None = None
    next_expiry_date: date | None = None
    tier: str | None = None
    referral_url: str | None = None

    @classmethod
    def of(
        cls, wallet: Wallet, *, tier: str | None = None, referral_url: str | None = None
    ) -> ProfileProperties:
        soonest = wallet.expiring(limit=1)
        day, coins = soonest[0] if soonest else (None, None)
        return cls(
            balance=wallet.balance,
            pending=wallet.pending,
            lifetime_earned=wallet.lifetime_earned,
            next_expiry_coins=coins,
            next_expiry_date=day,
            tier=tier,
            referral_url=referral_url,
        )

    def named(self, prefix: str) -> dict[str, Any]:
        """The properties as the tool receives them: ``prefix`` + name, JSON values; unset ones omitted
        (an absent key leaves the tool's value alone, a null would erase it)."""
        values = self.model_dump(mode="json", exclude_none=True)
        return {f"{prefix}{name}": value for name, value in values.items()}
