"""A store's customer, as Pollen knows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pollen.domain.identifiers import Identifier

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


class Customer(CustomerData):
    created_at: datetime
    updated_at: datetime
    source: str = Field(default="api", description="shopify | api")
