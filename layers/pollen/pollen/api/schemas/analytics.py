"""Analytics API: the summary, series and tracking shapes (counts and coins are integers, money and
percents decimal strings)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain.analytics import TRACKED_TYPES, Granularity, Group, Unit
from pollen.model import BaseModel

Metric = int | str


class PeriodView(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from", description="First day (merchant's time zone), YYYY-MM-DD.")
    to: str = Field(description="Last day, inclusive.")
    days: int


class RangeView(PeriodView):
    timezone: str = Field(description="The merchant's IANA time zone the days are in.")


class MetricView(BaseModel):
    name: str
    label: str
    group: Group
    unit: Unit
    current: Metric
    previous: Metric
    delta: Metric
    delta_percent: str | None = Field(description="Change against the previous period; null when it was 0.")


class BreakdownRow(BaseModel):
    key: str
    label: str
    current: Metric
    previous: Metric
    details: dict[str, dict[str, Metric]] | None = None


class Summary(BaseModel):
    range: RangeView
    previous_range: PeriodView
    currency: str
    coin_value: str
    metrics: list[MetricView]
    breakdowns: dict[str, list[BreakdownRow]]


class Point(BaseModel):
    start: str
    values: dict[str, Metric]


class Series(BaseModel):
    granularity: Granularity
    range: RangeView
    metrics: list[str]
    points: list[Point]


TrackedType = Literal[TRACKED_TYPES]  # type: ignore[valid-type]
ClientEventId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
TrackedCustomerId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^#\s]+$")]


class TrackedEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ClientEventId = Field(
        description="The client's id for this event (a UUID): retries are deduped on it."
    )
    type: TrackedType = Field(description="One of: " + ", ".join(TRACKED_TYPES) + ".")
    customer_id: TrackedCustomerId | None = None
    channel: Annotated[str, StringConstraints(max_length=32)] | None = None
    occurred_at: datetime | None = None


class TrackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[TrackedEvent] = Field(min_length=1, max_length=50)


class TrackResult(BaseModel):
    accepted: int
    duplicates: int
    capped: int = Field(description="Dropped: the customer reached today's cap of tracked events.")


def as_model(data: dict[str, Any], model: type[BaseModel]) -> Any:
    return model.model_validate(data)


class RebuildRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from", description="First day to rebuild (merchant's time zone).")
    to: date = Field(description="Last day, inclusive; at most yesterday.")


class RebuildJob(BaseModel):
    job_id: str
    status: Literal["running", "done"]
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    timezone: str
    pages_scanned: int
    items_scanned: int
    days_written: int
    started_at: str
    updated_at: str
    finished_at: str | None = None
