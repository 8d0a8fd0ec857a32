"""Scheduled jobs, grouped by cadence. Feature modules register their jobs here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from pollen.model import BaseModel


class Cadence(StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"


class JobResult(BaseModel):
    job: str
    processed: int = 0
    detail: str = ""


Job = Callable[[datetime], JobResult]

_REGISTRY: dict[Cadence, dict[str, Job]] = {cadence: {} for cadence in Cadence}


def register(cadence: Cadence, name: str) -> Callable[[Job], Job]:
    def add(job: Job) -> Job:
        _REGISTRY[cadence][name] = job
        return job

    return add


def jobs_for(cadence: Cadence) -> dict[str, Job]:
    return dict(_REGISTRY[cadence])


def run(cadence: Cadence, now: datetime) -> list[JobResult]:
    """Run every job of a cadence. One failing job does not stop the others; failures are re-raised
    together at the end so the invocation is marked failed and retried by the scheduler."""
    results: list[JobResult] = []
    errors: list[Exception] = []
    for name, job in jobs_for(cadence).items():
        try:
            results.append(job(now))
        except Exception as exc:
            errors.append(exc)
            results.append(JobResult(job=name, detail=f"failed: {type(exc).__name__}"))
    if errors:
        raise ExceptionGroup(f"{len(errors)} {cadence} job(s) failed", errors)
    return results
