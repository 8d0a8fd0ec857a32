"""UTC time. Domain code takes ``now`` as an argument; this is where handlers get it.

:func:`utcnow` is the clock every rule reads (pending days, expiry, reminders, coupon validity). On
AWS it is the system clock. The local stack (``make dev``) can move it forward to show what happens
days later (``POST /_local/clock``), through :func:`set_offset`; nothing else calls that.
:func:`wallclock` is the real time whatever the offset, for what a peer checks against its own clock
(a webhook's signature timestamp).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset


def wallclock() -> datetime:
    """The real time, never moved."""
    return datetime.now(UTC)


def offset() -> timedelta:
    return _offset


def set_offset(value: timedelta) -> None:
    """Move :func:`utcnow` by ``value`` from the real time (local stack and tests only)."""
    global _offset  # noqa: PLW0603 - one process-wide clock, as the system clock is
    _offset = value


def isoformat(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and millisecond precision."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def move_clock(value: timedelta) -> None:
    """Tests' name for :func:`set_offset`: make :func:`utcnow` run ``value`` ahead; 0 resets it."""
    set_offset(value)
