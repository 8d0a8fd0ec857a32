"""A store's customer, as Pollen knows them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain.birthdays import Birthday
from pollen.domain.identifiers import Identifier
from pollen.domain.values import value
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


CONTACT_FIELDS = ("customer_id", "email", "phone", "first_name", "last_name")


def contact_fields(customer: Customer | None, customer_id: str = "") -> dict[str, Any]:
    """Who an event is about, as every payload names them: what Klaviyo and Omnisend need to find the
    profile without another read. Without ``customer`` (its item is gone): the id alone."""
    if customer is None:
        return {**dict.fromkeys(CONTACT_FIELDS), "customer_id": customer_id}
    return customer.model_dump(mode="json", include=set(CONTACT_FIELDS))


@value
class CustomerRecord:
    """The customer aggregate: profile and wallet, stored as one item at the wallet's version."""

    customer: Customer
    wallet: Wallet

    @property
    def version(self) -> int:
        return self.wallet.version

    def with_profile(self, profile: Customer) -> CustomerRecord:
        """The same wallet under ``profile``, at the next version (a profile change moves the item on)."""
        return CustomerRecord(profile, self.wallet.model_copy(update={"version": self.wallet.version + 1}))


def new_record(profile: Customer) -> CustomerRecord:
    """A customer seen for the first time: an empty wallet, at version 1 once saved."""
    return CustomerRecord(profile, Wallet(customer_id=profile.customer_id, version=1))


def contact_links(customer: Customer, previous: Customer | None) -> tuple[str | None, str | None]:
    """The email and the phone a customer's look-up items must now point from (None: leave as is):
    those of a new customer, or contact details that changed. Only a verified email is linked: the
    link is what credits guest orders placed with that email, so an unproven email (set by an app)
    must never point at, or take over, the look-up."""
    email_changed = previous is None or previous.email != customer.email
    newly_verified = previous is not None and customer.email_verified and not previous.email_verified
    email = (
        customer.email
        if customer.email and customer.email_verified and (email_changed or newly_verified)
        else None
    )
    phone = (
        customer.phone if customer.phone and (previous is None or previous.phone != customer.phone) else None
    )
    return email, phone


def birthday_changed(customer: Customer, previous: Customer | None) -> bool:
    """Whether the birthday index must list the customer again (a birthday set or changed)."""
    return bool(customer.birthday) and customer.birthday != (previous.birthday if previous else None)


def due_day(wallet: Wallet, reminder_days: int) -> date | None:
    """The next day the scheduled job must look at this wallet: a reminder or an expiry."""
    days = []
    for lot_day, _ in wallet.expiring(limit=len(wallet.lots)):
        days.append(lot_day)
        if reminder_days and lot_day.isoformat() not in wallet.reminded:
            days.append(lot_day - timedelta(days=reminder_days))
    return min(days) if days else None
