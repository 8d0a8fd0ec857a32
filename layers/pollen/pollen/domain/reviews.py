"""Review requests: ask a customer to review what they bought, some days after it reached them.

Pure rules: the program's setting, when a request falls due, what it names, and when it is no
longer wanted (the order was cancelled or refunded in full in the meantime).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from pollen.model import BaseModel

if TYPE_CHECKING:  # domain.orders imports domain.program, which holds this module's setting
    from pollen.domain.orders import OrderFacts

Text = Annotated[str, StringConstraints(max_length=255)]


class ReviewRequests(BaseModel):
    """The program's review-request setting (``reviews`` in the program settings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=True, description="Schedule review_request events at all.")
    after: Literal["fulfilled", "paid"] = Field(
        default="fulfilled",
        description="Count the days from Shopify's orders/fulfilled (stores that ship), or from the "
        "order being paid (stores without fulfilment events, and the orders API).",
    )
    days: int = Field(default=7, ge=0, le=365, description="Days after fulfilment (or payment).")


class ReviewProduct(BaseModel):
    """One product of the order, as the review request names it."""

    model_config = ConfigDict(frozen=True)

    product_id: str | None = None
    variant_id: str | None = None
    title: Text | None = None
    variant_title: Text | None = None
    quantity: int = Field(ge=0)
    image_url: Text | None = None
    url: Text | None = None


MAX_PRODUCTS = 50  # an order with more lines names its first 50 (an item stays small)


def due_on(at: datetime, settings: ReviewRequests) -> date:
    return (at + timedelta(days=settings.days)).date()


def unwanted(facts: OrderFacts) -> str | None:
    """Why a request is no longer wanted: ``cancelled``, ``refunded`` (every unit refunded), or None."""
    if facts.cancelled:
        return "cancelled"
    data = facts.data
    if data is None or not facts.refunds:
        return None
    refunded: dict[str, int] = {}
    for refund in facts.refunds.values():
        for line in refund.lines:
            refunded[line.line_id] = refunded.get(line.line_id, 0) + line.quantity
    if all(refunded.get(line.line_id, 0) >= line.quantity for line in data.lines):
        return "refunded"
    return None


class ReviewRecord(BaseModel):
    """One order's review request: pending until the scheduled job sends or skips it."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    customer_id: str
    status: Literal["pending", "sent", "skipped"] = "pending"
    basis: Literal["fulfilled", "paid"]
    scheduled_at: datetime
    due_on: date
    products: list[ReviewProduct] = Field(default_factory=list)
    contact: dict[str, Any] = Field(default_factory=dict)  # the buyer as the order named them
    reason: str | None = None  # why it was skipped
    settled_at: datetime | None = None
