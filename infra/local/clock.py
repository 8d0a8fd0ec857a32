"""The local clock: ``pollen.clock.utcnow`` moved forward on request, so rules that wait days
(pending orders, coin expiry and its reminders, coupon validity) can be seen in ``make dev``.

``GET /_local/clock`` shows it; ``POST /_local/clock`` moves it with one of
``{"advance": "P8D"}`` (an ISO 8601 duration: ``PnW`` or ``PnDTnHnMnS``, forward only),
``{"set": "2026-12-25T09:00:00Z"}`` (any moment after the real time) or ``{"reset": true}``.
The offset is saved with the local state, so a restarted stack keeps its date.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pollen import clock

log = logging.getLogger("pollen.local.clock")

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """``P8D``, ``PT36H``, ``P1W``, ``P1DT2H30M``; ValueError for anything else (no years or months:
    their length depends on the date)."""
    match = _DURATION.match(text.strip().upper())
    if not match or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration like P8D or PT36H")
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return timedelta(**parts)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time_part = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return sign + "P" + (f"{days}D" if days or not time_part else "") + (f"T{time_part}" if time_part else "")


class ClockError(ValueError):
    """The request to move the clock is not understood."""


class LocalClock:
    """Moves ``pollen.clock`` for this process; ``on_change`` runs after every move."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.on_change = on_change
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        return clock.offset()

    def restore(self, offset_seconds: float) -> None:
        clock.set_offset(timedelta(seconds=max(0.0, offset_seconds)))

    def status(self) -> dict[str, Any]:
        offset = clock.offset()
        return {
            "now": clock.isoformat(clock.utcnow()),
            "real": clock.isoformat(clock.wallclock()),
            "offset": format_duration(offset),
            "offset_seconds": int(offset.total_seconds()),
        }

    def move(self, request: Any) -> dict[str, Any]:
        """Apply one ``advance``, ``set`` or ``reset`` request; ClockError when it is not one."""
        if not isinstance(request, dict) or len(request) != 1:
            raise ClockError('send one of {"advance": "P8D"}, {"set": "<ISO 8601 time>"}, {"reset": true}')
        ((action, value),) = request.items()
        with self._lock:
            if action == "advance":
                try:
                    step = parse_duration(str(value))
                except ValueError as exc:
                    raise ClockError(str(exc)) from exc
                if step <= timedelta(0):
                    raise ClockError("the clock only moves forward; reset it to go back to the real time")
                clock.set_offset(clock.offset() + step)
            elif action == "set":
                try:
                    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                except ValueError as exc:
                    raise ClockError(f"{value!r} is not an ISO 8601 time") from exc
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                offset = moment - clock.wallclock()
                if offset < timedelta(0):
                    raise ClockError("the clock cannot be set before the real time")
                clock.set_offset(offset)
            elif action == "reset" and value is True:
                clock.set_offset(timedelta(0))
            else:
                raise ClockError(f"unknown clock request {action!r}")
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("the clock moved but the local state could not be saved now")
        return self.status()
