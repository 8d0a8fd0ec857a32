"""Request bodies of the orders API (custom platforms) and the Shopify webhook's answer (the order views
are in :mod:`pollen.views.orders`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from pollen.api.schemas.headers import IdempotencyKey as IdempotencyKey  # noqa: PLC0414 - re-exported
from pollen.domain.customers import CustomerId
from pollen.domain.orders import ExternalId, OrderData, RefundLine
from pollen.domain.strict import Switch
from pollen.model import BaseModel

Name = Annotated[str, StringConstraints(max_length=100)]


class OrderCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    last_name: Name | None = None


class CreateOrderRequest(OrderData):
    """An order as a custom platform reports it. ``paid`` saves a separate call when it already is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: CustomerId | None = None
    paid: Switch = False
    customer: OrderCustomer | None = None


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refund_id: ExternalId
    lines: list[RefundLine] = Field(min_length=1, max_length=250)


class WebhookAck(BaseModel):
    model_config = ConfigDict(extra="allow")

    topic: str
