"""Bodies of the customer, wallet, trigger and adjustment routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pollen.domain.strict import Count
from pollen.domain.wallet import LedgerEntry
from pollen.storage.customers import CustomerRecord

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


class CustomerView(BaseModel):
    customer_id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    source: str
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
