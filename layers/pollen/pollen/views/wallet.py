"""What a customer (or the app showing their wallet) reads of their wallet."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pollen.model import BaseModel


class ExpiringCoins(BaseModel):
    coins: int
    expires_on: date


class WalletView(BaseModel):
    customer_id: str
    balance: int
    pending: int
    lifetime_earned: int
    lifetime_redeemed: int
    lifetime_expired: int
    currency: str
    coin_value: Decimal
    balance_value: Decimal
    expiring: list[ExpiringCoins]
