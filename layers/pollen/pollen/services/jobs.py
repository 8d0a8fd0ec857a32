"""Scheduled jobs, grouped by cadence. Feature modules register their jobs here.

A module whose jobs all run at one cadence can be named with :func:`defer` instead of imported: it
is imported (and so registers) when that cadence first runs. The hourly run is a cold start 24 times a
day (Lambda does not keep a container an hour); it should not load what only the daily run needs.
"""

from __future__ import annotations

import importlib
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
_DEFERRED: dict[Cadence, tuple[str, ...]] = dict.fromkeys(Cadence, ())


def register(cadence: Cadence, name: str) -> Callable[[Job], Job]:
    def add(job: Job) -> Job:
        _REGISTRY[cadence][name] = job
        return job

    return add


def defer(cadence: Cadence, *modules: str) -> None:
    """``modules`` register jobs of ``cadence`` only: import them when it runs, not before."""
    _DEFERRED[cadence] = tuple(dict.fromkeys((*_DEFERRED[cadence], *modules)))


def jobs_for(cadence: Cadence) -> dict[str, Job]:
    for module in _DEFERRED[cadence]:
        importlib.import_module(module)  # registers its jobs the first time; a no-op after
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
