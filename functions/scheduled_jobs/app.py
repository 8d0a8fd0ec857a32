"""Runs the hourly and daily jobs (expiry, reminders, tier windows) from EventBridge schedules."""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict

import pollen.services.expiry
import pollen.services.tiers  # noqa: F401 - VIP tiers: daily downgrades and warnings, re-evaluation
from pollen.clock import utcnow
from pollen.model import BaseModel
from pollen.observability import lambda_entry, logger
from pollen.services import jobs
from pollen.services.jobs import Cadence, JobResult

# Hourly: expiry and tier re-evaluation, imported above (the hourly run's cold start needs them).
# Daily only: birthdays, imported when the daily run starts.
jobs.defer(Cadence.DAILY, "pollen.services.birthdays")


class ScheduleInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    jobs: Cadence


class RunSummary(BaseModel):
    cadence: Cadence
    results: list[JobResult]


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    schedule = ScheduleInput.model_validate(event)
    results = jobs.run(schedule.jobs, utcnow())
    logger.info("scheduled jobs ran", extra={"cadence": schedule.jobs, "jobs": len(results)})
    return RunSummary(cadence=schedule.jobs, results=results).model_dump(mode="json")


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
