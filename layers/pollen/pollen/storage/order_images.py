"""What analytics reads of an order item's image: the order's id, version, buyer, time, total and
attributions, without the order aggregate (:class:`pollen.domain.orders.OrderRecord` loads the
program, tier, reward and review models, which the analytics aggregator's cold start never needs:
docs/design.md, "Cold start"). Item attributes as :func:`pollen.storage.orders.order_item` writes
them; ``tests/unit/test_order_images.py`` holds the two readings equal."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ConfigDict, Field

from pollen.model import BaseModel

ORDER_ENTITY = "order"


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ImageData(_Part):
    currency: str
    total: Decimal | None = None
    created_at: datetime | None = None


class ImageFacts(_Part):
    data: ImageData | None = None


class OrderImage(_Part):
    order_id: str
    version: int = 0
    customer_id: str | None = None
    updated_at: datetime | None = None
    data_since: int | None = None
    facts: ImageFacts = Field(default_factory=ImageFacts)
    attributions: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def first_data_version(self) -> int | None:
        """The version of the first write with order data and its total; 0 when the order's data came
        before items kept it (analytics then counts it by its marker); None without a total."""
        if self.data_since is not None:
            return self.data_since
        data = self.facts.data
        return 0 if data is not None and data.total is not None else None


def parse_order_image(item: dict[str, Any]) -> OrderImage:
    return OrderImage.model_validate(item)
