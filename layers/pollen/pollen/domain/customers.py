"""A store's customer, as Pollen knows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain.birthdays import Birthday
from pollen.domain.identifiers import Identifier
from pollen.domain.wallet import Wallet
from pollen.model import BaseModel

CustomerId = Identifier  # one grammar for ids: pollen.domain.identifiers


class CustomerData(BaseModel):
    """What a store platform (or the API) says about a customer."""

    model_config = ConfigDict(frozen=True)

    customer_id: CustomerId
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254)] | None = (
        None
    )
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    first_name: Annotated[str, StringConstraints(max_length=100)] | None = None
    last_name: Annotated[str, StringConstraints(max_length=100)] | None = None
    birthday: Birthday | None = Field(default=None, description="MM-DD or YYYY-MM-DD (the year is optional).")


class Customer(CustomerData):
    created_at: datetime
    updated_at: datetime
    source: str = Field(default="api", description="shopify | api")
    email_verified: bool = Field(
        default=False,
        description=(
            "The email came through a channel that proves it (a signed Shopify webhook, or a server key "
            "that said so). Only a verified email is indexed for guest orders."
        ),
    )
    redacted_at: datetime | None = Field(default=None, description="When personal data was erased.")


@dataclass(frozen=True)
class CustomerRecord:
    """The customer aggregate: profile and wallet, stored as one item at the wallet's version."""

    customer: Customer
    wallet: Wallet

    @property
    def version(self) -> int:
        return self.wallet.version


def due_day(wallet: Wallet, reminder_days: int) -> date | None:
    """The next day the scheduled job must look at this wallet: a reminder or an expiry."""
    days = []
    for lot_day, _ in wallet.expiring(limit=len(wallet.lots)):
        days.append(lot_day)
        if reminder_days and lot_day.isoformat() not in wallet.reminded:
            days.append(lot_day - timedelta(days=reminder_days))
    return min(days) if days else None
