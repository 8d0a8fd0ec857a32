"""Birthdays: the daily job awards the birthday trigger on the day, once per year; yearly triggers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.clock import move_clock
from pollen.domain.errors import Conflict
from pollen.domain.triggers import TriggerSettings
from pollen.services.birthdays import run_birthdays
from pollen.services.container import container
from pollen.services.customers import get_customer
from pollen.services.triggers import award_trigger, put_trigger


@contextmanager
def moved_clock(to: datetime) -> Iterator[None]:
    move_clock(to - datetime.now(UTC))
    try:
        yield
    finally:
        move_clock(timedelta(0))


def _birthday_trigger(frequency: str = "yearly") -> None:
    put_trigger(
        container(),
        "demo-store",
        "birthday",
        TriggerSettings(name="Happy birthday", coins=100, frequency=frequency),  # type: ignore[arg-type]
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_birthday_trigger_is_awarded_on_the_day_once_a_year(demo: DemoStore, api: InProcessApi) -> None:
    _birthday_trigger()
    with moved_clock(datetime(2026, 2, 1, tzinfo=UTC)):
        created = api.put("/v1/customers/b1", key=demo.api_keys.write, json_body={"birthday": "03-14"})
    assert created.status == 201
    assert created.json()["birthday"] == "03-14"

    def balance() -> int:
        return get_customer(container(), "demo-store", "b1").wallet.balance

    assert run_birthdays(datetime(2026, 3, 13, 6, tzinfo=UTC)).processed == 0  # not due: nothing read
    assert run_birthdays(datetime(2026, 3, 14, 6, tzinfo=UTC)).detail == "1 awarded"
    assert balance() == 100
    assert run_birthdays(datetime(2026, 3, 14, 7, tzinfo=UTC)).processed == 0  # listed for next year
    assert run_birthdays(datetime(2026, 12, 31, tzinfo=UTC)).processed == 0
    assert run_birthdays(datetime(2027, 3, 14, 6, tzinfo=UTC)).detail == "1 awarded"
    assert balance() == 200


def test_a_missed_run_catches_up_and_29_february_is_kept_on_the_28th(
    demo: DemoStore, api: InProcessApi
) -> None:
    _birthday_trigger()
    assert (
        api.put("/v1/customers/b2", key=demo.api_keys.write, json_body={"birthday": "2000-02-29"}).status
        == 201
    )
    assert run_birthdays(datetime(2027, 3, 2, tzinfo=UTC)).detail == "1 awarded"  # due 2027-02-28, run missed
    assert get_customer(container(), "demo-store", "b2").wallet.balance == 100


@pytest.mark.parametrize("birthday", ["13-01", "02-30", "2001-02-29", "1-1", "March 3"])
def test_invalid_birthdays_are_422(demo: DemoStore, api: InProcessApi, birthday: str) -> None:
    response = api.put("/v1/customers/b3", key=demo.api_keys.write, json_body={"birthday": birthday})
    assert response.status == 422


def test_yearly_triggers_allow_one_award_per_calendar_year(demo: DemoStore, api: InProcessApi) -> None:
    _birthday_trigger("yearly")
    assert api.put("/v1/customers/b4", key=demo.api_keys.write, json_body={}).status == 201
    c = container()
    award_trigger(c, "demo-store", "b4", "birthday", now=datetime(2026, 5, 1, tzinfo=UTC))
    with pytest.raises(Conflict):
        award_trigger(c, "demo-store", "b4", "birthday", now=datetime(2026, 12, 31, tzinfo=UTC))
    award_trigger(c, "demo-store", "b4", "birthday", now=datetime(2027, 1, 1, tzinfo=UTC))
    assert get_customer(c, "demo-store", "b4").wallet.balance == 200
