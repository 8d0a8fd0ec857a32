"""Birthdays: ``MM-DD`` or ``YYYY-MM-DD`` (the year is optional), and the next day to celebrate."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

BIRTHDAY_TRIGGER = "birthday"


def _month_day(value: str) -> tuple[int, int]:
    month, day = (int(part) for part in value[-5:].split("-"))
    return month, day


def _valid(value: str) -> str:
    month, day = _month_day(value)
    year = int(value[:4]) if len(value) == 10 else 2000  # a leap year: 02-29 is a valid birthday
    try:
        date(year, month, day)
    except ValueError as exc:
        raise ValueError("not a calendar date (MM-DD or YYYY-MM-DD)") from exc
    return value


Birthday = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^(\d{4}-)?\d{2}-\d{2}$"),
    AfterValidator(_valid),
]


def celebrated_on(birthday: str, year: int) -> date:
    """The birthday in ``year``; 29 February is celebrated on the 28th in other years."""
    month, day = _month_day(birthday)
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_birthday(birthday: str, today: date) -> date:
    """The next celebration on or after ``today``."""
    this_year = celebrated_on(birthday, today.year)
    return this_year if this_year >= today else celebrated_on(birthday, today.year + 1)
