"""UTC time. Domain code takes ``now`` as an argument; this is where handlers get it.

The clock can be moved (:func:`move_clock`) by tests and the local stack (``PUT /_local/clock``),
so daily jobs, warnings and expiry can be exercised days ahead. Deployed code never moves it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset


def move_clock(offset: timedelta) -> None:
    """Make :func:`utcnow` run ``offset`` ahead of (or behind) the real time; ``timedelta(0)`` resets it."""
    global _offset  # noqa: PLW0603 - one process-wide clock, by design
    _offset = offset


def clock_offset() -> timedelta:
    return _offset


def isoformat(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and millisecond precision."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
