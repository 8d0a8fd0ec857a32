"""EventBridge schedules, locally: fire each ``Schedule`` event of the template at its function.

* ``rate(N minute|minutes|hour|hours|day|days)`` fires every N units, first one period after start;
  the period is divided by ``POLLEN_LOCAL_TIME_SCALE`` (default 1), so ``3600`` turns an hourly job
  into a once-a-second one.
* ``cron(minutes hours day-of-month month day-of-week year)`` fires on the UTC wall clock (the time
  scale does not apply). Supported per field: ``*``, ``?``, numbers, ``JAN``-``DEC`` and
  ``SUN``-``SAT``, ranges, lists and ``/`` steps. ``L``, ``W`` and ``#`` are simplified away: such an
  expression fires once a day at its hour and minute, and is skipped if those are not plain numbers.

Jobs run one after another on the scheduler thread; a failure is logged (EventBridge's two async
retries are not replayed). :meth:`Scheduler.trigger` runs one now and returns its result, which is
what ``POST /_local/schedules/{FunctionLogicalId}/{EventName}`` calls.
"""

from __future__ import annotations

import heapq
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.template import FunctionSpec, ScheduleSource
from pollen.clock import utcnow

log = logging.getLogger("pollen.local.scheduler")

Invoker = Callable[[FunctionSpec, Any], Any]

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_DAYS = {name: number for number, name in enumerate(_DAY_NAMES, 1)}


@dataclass(frozen=True)
class Rate:
    seconds: float

    def next_after(self, moment: float, time_scale: float) -> float:
        return moment + self.seconds / time_scale


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: "?" (the day of week decides)
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # AWS numbering, 1 = Sunday
    years: frozenset[int] | None

    def next_after(self, moment: float, time_scale: float = 1.0) -> float:
        """The first matching minute strictly after ``moment`` (epoch seconds, UTC)."""
        current = datetime.fromtimestamp(moment, UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = current + timedelta(days=366 * 5)
        while current < limit:
            if not self._day_matches(current):
                current = (current + timedelta(days=1)).replace(hour=0, minute=0)
            elif current.hour not in self.hours:
                current = (current + timedelta(hours=1)).replace(minute=0)
            elif current.minute not in self.minutes:
                current += timedelta(minutes=1)
            else:
                return current.timestamp()
        raise ValueError("this cron expression never fires")

    def _day_matches(self, moment: datetime) -> bool:
        if moment.month not in self.months or (self.years is not None and moment.year not in self.years):
            return False
        if self.days_of_month is not None and moment.day not in self.days_of_month:
            return False
        aws_weekday = (moment.weekday() + 1) % 7 + 1
        return self.days_of_week is None or aws_weekday in self.days_of_week


def parse_schedule(expression: str) -> Rate | Cron:
    """``rate(...)`` or ``cron(...)`` as EventBridge writes them; ValueError when not supported."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if amount < 1:
            raise ValueError(f"{expression}: the rate must be positive")
        return Rate(seconds=float(amount * _UNIT_SECONDS[unit]))
    cron = _CRON.match(text)
    if not cron:
        raise ValueError(f"{expression}: not a rate() or cron() expression")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"{expression}: cron takes six fields")
    minute, hour, day, month, weekday, year = fields
    try:
        return Cron(
            minutes=_field(minute, 0, 59),
            hours=_field(hour, 0, 23),
            days_of_month=None if day == "?" else _field(day, 1, 31),
            months=_field(month, 1, 12, _MONTHS),
            days_of_week=None if weekday == "?" else _field(weekday, 1, 7, _DAYS),
            years=None if year in ("*", "?") else _field(year, 1970, 2199),
        )
    except ValueError:
        if not (minute.isdigit() and hour.isdigit()):
            raise
        log.warning(
            "%s: L, W and # are not supported locally; firing daily at %s:%s UTC", expression, hour, minute
        )
        every_day = frozenset(range(1, 32))
        return Cron(
            frozenset({int(minute)}), frozenset({int(hour)}), every_day, frozenset(range(1, 13)), None, None
        )


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(base, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ValueError(f"{part!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"{text!r} is not supported locally")
    return int(text)


@dataclass
class Job:
    spec: FunctionSpec
    source: ScheduleSource
    schedule: Rate | Cron

    @property
    def key(self) -> tuple[str, str]:
        return self.spec.logical_id, self.source.event_name


class Scheduler:
    """Fires the enabled schedules of ``functions`` on a daemon thread until :meth:`stop`."""

    def __init__(
        self,
        functions: Iterable[FunctionSpec],
        invoke: Invoker,
        *,
        time_scale: float = 1.0,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        stack_name: str = "pollen-local",
    ) -> None:
        if time_scale <= 0:
            raise ValueError("the time scale must be positive")
        self.invoke = invoke
        self.time_scale = time_scale
        self.region = region
        self.account_id = account_id
        self.stack_name = stack_name
        self.jobs: dict[tuple[str, str], Job] = {}
        for spec in functions:
            for source in spec.schedules:
                try:
                    job = Job(spec, source, parse_schedule(source.expression))
                except ValueError as exc:
                    log.warning("%s.%s is not scheduled locally: %s", spec.logical_id, source.event_name, exc)
                    continue
                self.jobs[job.key] = job
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def event_for(self, job: Job, now: datetime | None = None) -> Any:
        """The schedule's ``Input``, or EventBridge's own "Scheduled Event" when it has none."""
        if job.source.input is not None:
            return job.source.input
        moment = now or utcnow()  # the local clock, moved or not
        rule = f"{self.stack_name}-{job.spec.logical_id}-{job.source.event_name}"
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account_id,
            "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{self.account_id}:rule/{rule}"],
            "detail": {},
        }

    def trigger(self, function_logical_id: str, event_name: str) -> Any:
        """Run one schedule now, on the caller's thread; KeyError when there is no such schedule."""
        job = self.jobs[(function_logical_id, event_name)]
        return self.invoke(job.spec, self.event_for(job))

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        now = time.time()
        queue: list[tuple[float, tuple[str, str]]] = []
        for key, job in self.jobs.items():
            if job.source.enabled:
                heapq.heappush(queue, (job.schedule.next_after(now, self.time_scale), key))
        while queue and not self.stop_event.is_set():
            due, key = queue[0]
            if self.stop_event.wait(max(0.0, due - time.time())):
                return
            heapq.heappop(queue)
            job = self.jobs[key]
            started = time.monotonic()
            try:
                self.invoke(job.spec, self.event_for(job))
                log.info("schedule %s.%s ok (%.0f ms)", *key, (time.monotonic() - started) * 1000)
            except Exception as exc:
                log.error("schedule %s.%s -> function error: %s", *key, exc, exc_info=exc)
            heapq.heappush(queue, (job.schedule.next_after(max(due, time.time()), self.time_scale), key))
