"""Bodies of the delivery log, dead-letter and test-event routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain.deliveries import DeliveryRecord
from pollen.model import BaseModel

DeliveryId = Annotated[str, StringConstraints(min_length=3, max_length=200, pattern=r"^[0-9A-Za-z._-]+$")]


class DeliveryPage(BaseModel):
    items: list[DeliveryRecord]
    next_cursor: str | None


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivery_ids: list[DeliveryId] | None = Field(
        default=None,
        max_length=1000,
        description="Replay only these; all of the store's dead letters when absent.",
    )


class SendTestEventRequest(BaseModel):
    """Exactly one of ``email`` and ``mobile``: an existing customer of the store."""

    model_config = ConfigDict(extra="forbid")

    email: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
        | None
    ) = None
    mobile: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^\+?[0-9 ()-]{4,32}$")
        ]
        | None
    ) = None
