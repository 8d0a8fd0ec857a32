"""What a customer (or the app showing their wallet) reads: balance, expiring coins, history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pollen.domain.errors import NotFound
from pollen.domain.wallet import LedgerEntry, TxnType
from pollen.model import BaseModel
from pollen.services.container import Container
from pollen.services.program import get_program
from pollen.storage.customers import CustomerStore
from pollen.storage.pagination import Page


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


def wallet_view(c: Container, merchant_id: str, customer_id: str) -> WalletView:
    """One GetItem (the program is cached): the wallet lives in the customer item."""
    program = get_program(c, merchant_id)
    record = CustomerStore(c.table).get(merchant_id, customer_id, consistent=True)
    if record is None:
        raise NotFound("No customer with this id.")
    wallet = record.wallet
    return WalletView(
        customer_id=customer_id,
        balance=wallet.balance,
        pending=wallet.pending,
        lifetime_earned=wallet.lifetime_earned,
        lifetime_redeemed=wallet.lifetime_redeemed,
        lifetime_expired=wallet.lifetime_expired,
        currency=program.currency,
        coin_value=program.coin_value,
        balance_value=(program.coin_value * wallet.balance).quantize(Decimal("0.01")),
        expiring=[ExpiringCoins(coins=coins, expires_on=day) for day, coins in wallet.expiring(limit=5)],
    )


def history(
    c: Container,
    merchant_id: str,
    customer_id: str,
    *,
    limit: int,
    cursor: str | None,
    types: list[TxnType] | None,
) -> Page[LedgerEntry]:
    """Newest first, one Query. An unknown customer is a 404 only when there is nothing to show
    (telling it apart from an empty history would cost a second read on every page)."""
    page = CustomerStore(c.table).history(
        merchant_id,
        customer_id,
        limit=limit,
        cursor=cursor,
        types=[t.value for t in types] if types else None,
    )
    empty_first_page = not page.items and cursor is None
    if empty_first_page and CustomerStore(c.table).get(merchant_id, customer_id, consistent=False) is None:
        raise NotFound("No customer with this id.")
    return page
