"""Bodies of the customer, wallet, trigger and adjustment routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain.birthdays import Birthday
from pollen.domain.customers import CustomerRecord
from pollen.domain.strict import Count
from pollen.domain.wallet import LedgerEntry
from pollen.model import BaseModel

Name = Annotated[str, StringConstraints(max_length=100)]


class CustomerUpsert(BaseModel):
    """Fields left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    email: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
        | None
    ) = None
    phone: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^\+?[0-9 ()-]{4,32}$")
        ]
        | None
    ) = None
    first_name: Name | None = None
    last_name: Name | None = None
    email_verified: bool = Field(
        default=False,
        description=(
            "Server keys only: the merchant's server vouches that the customer proved this email, so "
            "guest orders placed with it are credited to them. An app (customer token) cannot set it."
        ),
    )
    birthday: Birthday | None = Field(default=None, description="MM-DD or YYYY-MM-DD (the year is optional).")


class CustomerView(BaseModel):
    customer_id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    birthday: str | None = None
    source: str
    email_verified: bool = False
    created_at: datetime
    updated_at: datetime
    claimed_orders: list[str] = Field(default_factory=list, description="Guest orders credited on this call.")

    @classmethod
    def of(cls, record: CustomerRecord, claimed: list[str]) -> CustomerView:
        return cls(**record.customer.model_dump(), claimed_orders=claimed)


class TransactionPage(BaseModel):
    items: list[LedgerEntry]
    next_cursor: str | None


class AdjustmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coins: Count = Field(ge=-1_000_000, le=1_000_000, description="Positive credits, negative debits; not 0.")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class WalletSummary(BaseModel):
    balance: int
    pending: int
    lifetime_earned: int
    lifetime_redeemed: int
    next_expiry_date: date | None = Field(description="When the soonest coins expire (null: none do).")
    next_expiry_coins: int | None = Field(description="How many coins expire then.")


class CustomerProfile(BaseModel):
    """A customer as the apps and the dashboard show them: the profile and a summary of the wallet."""

    customer_id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    source: str
    created_at: datetime
    updated_at: datetime
    wallet: WalletSummary

    @classmethod
    def of(cls, record: CustomerRecord) -> CustomerProfile:
        wallet = record.wallet
        soonest = wallet.expiring(limit=1)
        return cls(
            **record.customer.model_dump(),
            wallet=WalletSummary(
                balance=wallet.balance,
                pending=wallet.pending,
                lifetime_earned=wallet.lifetime_earned,
                lifetime_redeemed=wallet.lifetime_redeemed,
                next_expiry_date=soonest[0][0] if soonest else None,
                next_expiry_coins=soonest[0][1] if soonest else None,
            ),
        )


class CustomerList(BaseModel):
    items: list[CustomerProfile]
    next_cursor: str | None
