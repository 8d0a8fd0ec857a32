"""Triggers: activities that award coins (signup, app install, birthday, review, social follow...)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain.errors import Conflict
from pollen.domain.strict import Count, Switch
from pollen.model import BaseModel

TriggerId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Frequency = Literal["once", "daily", "yearly", "unlimited"] | Annotated[int, Field(ge=1, le=10_000)]


class TriggerSettings(BaseModel):
    """What a merchant sets for one trigger."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    coins: Count = Field(ge=1, le=1_000_000, description="Coins awarded each time.")
    frequency: Frequency = Field(
        default="once",
        description='"once", "daily" (once per UTC day), "yearly" (once per calendar year, e.g. birthdays), '
        '"unlimited", or a number: at most that many times.',
    )
    enabled: Switch = True
    customer_runnable: Switch = Field(
        default=False,
        description="An app may award it with a customer token (e.g. app_install); else server keys only.",
    )


class Trigger(TriggerSettings):
    trigger_id: TriggerId


class TriggerUsage(BaseModel):
    """How often one customer has been awarded one trigger."""

    model_config = ConfigDict(frozen=True)

    count: int = 0
    last_day: date | None = None

    def after_award(self, today: date) -> TriggerUsage:
        return TriggerUsage(count=self.count + 1, last_day=today)


class TriggerNotAllowed(Conflict):
    title = "Trigger not allowed"
    slug = "trigger-not-allowed"


class TriggerDisabled(Conflict):
    title = "Trigger disabled"
    slug = "trigger-disabled"


def check_award(trigger: Trigger, usage: TriggerUsage, today: date) -> None:
    """Raise when the trigger's frequency (or its switch) forbids another award today."""
    if not trigger.enabled:
        raise TriggerDisabled(f"The trigger '{trigger.trigger_id}' is disabled.")
    frequency = trigger.frequency
    if frequency == "once" and usage.count >= 1:
        raise TriggerNotAllowed(f"The trigger '{trigger.trigger_id}' can be awarded once; it already was.")
    if frequency == "daily" and usage.last_day == today:
        raise TriggerNotAllowed(f"The trigger '{trigger.trigger_id}' was already awarded today (UTC).")
    if frequency == "yearly" and usage.last_day is not None and usage.last_day.year == today.year:
        raise TriggerNotAllowed(f"The trigger '{trigger.trigger_id}' was already awarded this year.")
    if isinstance(frequency, int) and usage.count >= frequency:
        raise TriggerNotAllowed(
            f"The trigger '{trigger.trigger_id}' can be awarded {frequency} times; it already was."
        )
