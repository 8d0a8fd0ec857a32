"""The pure VIP tier rules: program validation, window totals, lapse and expiry, upgrades and downgrades."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from pollen.domain.birthdays import celebrated_on, next_birthday
from pollen.domain.tiers import (
    MONTHS_KEPT,
    Direction,
    Metric,
    TierProgram,
    TierState,
    Window,
    WindowKind,
    bonus,
    demote_if_due,
    due_day,
    evaluate,
    expires_on,
    progress,
)

NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)


def program(window: dict[str, Any] | None = None, **extra: Any) -> TierProgram:
    return TierProgram.model_validate(
        {
            "tiers": [
                {
                    "tier_id": "silver",
                    "name": "Silver",
                    "threshold": {"metric": "spend", "value": "100"},
                    "benefits": {"earn_multiplier": "1.5", "entry_reward": {"coins": 50}},
                },
                {"tier_id": "gold", "name": "Gold", "threshold": {"metric": "spend", "value": "500"}},
            ],
            "window": window or {"kind": "lifetime"},
            "retention_days": 30,
            "downgrade_warning_days": 7,
            "version": 1,
            "updated_at": NOW,
            **extra,
        }
    )


def spent(amount: str, day: date, state: TierState | None = None) -> TierState:
    return (state or TierState(customer_id="c1")).add({Metric.SPEND: Decimal(amount)}, day, day)


@pytest.mark.parametrize(
    "tiers",
    [
        [("a", "spend", "100"), ("b", "spend", "100")],  # not strictly increasing
        [("a", "spend", "100"), ("b", "spend", "50")],
        [("a", "spend", "100"), ("b", "orders", "500")],  # two metrics
        [("a", "spend", "100"), ("a", "spend", "500")],  # duplicate id
        [("a", "spend", "0")],  # a first tier everyone holds
    ],
)
def test_invalid_tier_lists(tiers: list[tuple[str, str, str]]) -> None:
    body = [{"tier_id": i, "name": i, "threshold": {"metric": m, "value": v}} for i, m, v in tiers]
    with pytest.raises(ValidationError):
        program().model_validate({**program().model_dump(), "tiers": body})


def test_rolling_windows_need_days_and_only_they_do() -> None:
    with pytest.raises(ValidationError):
        Window(kind=WindowKind.ROLLING_DAYS)
    with pytest.raises(ValidationError):
        Window(kind=WindowKind.CALENDAR_YEAR, days=30)
    assert Window(kind=WindowKind.ROLLING_DAYS, days=90).days == 90


def test_totals_are_bounded_and_never_negative() -> None:
    state = TierState(customer_id="c1")
    day = date(2020, 1, 1)
    for n in range(200):  # 200 months of facts
        state = spent("10", day + timedelta(days=31 * n), state)
    assert len(state.months) <= MONTHS_KEPT
    assert state.lifetime[Metric.SPEND] == Decimal(2000)
    state = state.add({Metric.SPEND: Decimal(-5000)}, day, day + timedelta(days=31 * 199))
    assert state.lifetime[Metric.SPEND] == 0


def test_window_values() -> None:
    state = spent("50", date(2025, 12, 20))
    state = spent("70", date(2026, 1, 10), state)
    today = date(2026, 3, 1)
    assert state.value(Metric.SPEND, Window(), today) == 120
    assert state.value(Metric.SPEND, Window(kind=WindowKind.CALENDAR_YEAR), today) == 70
    # December still overlaps a 90-day window ending 1 March (from 2 December); not a 60-day one
    assert state.value(Metric.SPEND, Window(kind=WindowKind.ROLLING_DAYS, days=90), today) == 120
    assert state.value(Metric.SPEND, Window(kind=WindowKind.ROLLING_DAYS, days=60), today) == 70


def test_upgrade_gives_the_entry_reward_once_per_lifetime_window() -> None:
    p = program()
    up = evaluate(spent("120", NOW.date()), p, NOW)
    assert up.change
    assert up.change.direction == Direction.UP
    assert up.entry_coins == 50
    assert up.state.tier_id == "silver"
    assert expires_on(up.state, p) is None
    # lost and regained: no second entry reward in a lifetime window
    lost = up.state.model_copy(update={"tier_id": None})
    again = evaluate(lost, p, NOW + timedelta(days=400))
    assert again.change
    assert again.entry_coins == 0


def test_entry_reward_again_in_a_new_rolling_window() -> None:
    p = program({"kind": "rolling_days", "days": 365})
    first = evaluate(spent("120", NOW.date()), p, NOW)
    later = NOW + timedelta(days=400)
    lost = spent("120", later.date(), first.state.model_copy(update={"tier_id": None}))
    assert evaluate(lost, p, later).entry_coins == 50


def test_falling_below_starts_retention_and_the_job_warns_then_demotes() -> None:
    p = program()
    held = evaluate(spent("120", NOW.date()), p, NOW).state
    refunded = held.add({Metric.SPEND: Decimal(-100)}, NOW.date(), NOW.date())
    below = evaluate(refunded, p, NOW)
    assert below.change is None
    assert below.state.tier_id == "silver"
    expiry = NOW.date() + timedelta(days=30)
    assert expires_on(below.state, p) == expiry
    assert due_day(below.state, p) == expiry - timedelta(days=7)
    early = demote_if_due(below.state, p, NOW + timedelta(days=22))
    assert early.warning is None
    assert early.change is None
    warned = demote_if_due(below.state, p, NOW + timedelta(days=23))
    assert warned.warning == expiry
    assert due_day(warned.state, p) == expiry
    assert demote_if_due(warned.state, p, NOW + timedelta(days=24)).warning is None  # once
    down = demote_if_due(warned.state, p, NOW + timedelta(days=30))
    assert down.change
    assert down.change.direction == Direction.DOWN
    assert down.state.tier_id is None
    assert due_day(down.state, p) is None


def test_gold_falls_to_the_tier_its_totals_still_reach() -> None:
    p = program()
    gold = evaluate(spent("600", NOW.date()), p, NOW).state
    partly = evaluate(gold.add({Metric.SPEND: Decimal(-400)}, NOW.date(), NOW.date()), p, NOW).state
    down = demote_if_due(partly, p, NOW + timedelta(days=30))
    assert down.change
    assert (down.change.from_tier, down.change.to_tier) == (p.tiers[1], p.tiers[0])
    assert down.entry_coins == 0


def test_calendar_year_lapses_on_new_year() -> None:
    p = program({"kind": "calendar_year"})
    held = evaluate(spent("120", date(2026, 11, 2)), p, datetime(2026, 11, 2, tzinfo=UTC)).state
    assert expires_on(held, p) == date(2027, 1, 31)


def test_progress_and_bonus() -> None:
    p = program()
    state = evaluate(spent("120", NOW.date()), p, NOW).state
    nxt, prog = progress(state, p, NOW.date())
    assert nxt == 1
    assert prog is not None
    assert (prog.current, prog.needed, prog.percent) == (Decimal(120), Decimal(380), 24)
    top = evaluate(spent("900", NOW.date()), p, NOW).state
    assert progress(top, p, NOW.date()) == (-1, None)
    assert [bonus(c, Decimal("1.5")) for c in (0, 1, 3, 99, 100)] == [0, 0, 1, 49, 50]
    assert bonus(100, Decimal(1)) == 0


def test_birthdays() -> None:
    assert celebrated_on("02-29", 2027) == date(2027, 2, 28)
    assert celebrated_on("1990-02-29".replace("1990", "1992"), 2028) == date(2028, 2, 29)
    assert next_birthday("03-14", date(2026, 3, 14)) == date(2026, 3, 14)
    assert next_birthday("03-14", date(2026, 3, 15)) == date(2027, 3, 14)


def test_a_tier_the_program_dropped_is_lost_with_its_entry_reward_record() -> None:
    gold = evaluate(spent("600", NOW.date()), program(), NOW).state
    silver = evaluate(spent("120", NOW.date()), program(), NOW).state
    assert (gold.tier_id, silver.tier_id, silver.entry_rewards) == ("gold", "silver", {"silver": NOW.date()})
    only_silver = program().model_copy(update={"tiers": program().tiers[:1], "version": 2})
    # Gold dropped: a Gold member moves to the tier their totals reach (from_id names the lost one)
    fell = demote_if_due(gold, only_silver, NOW)
    assert fell.change
    assert (fell.change.from_id, fell.state.tier_id) == ("gold", "silver")
    # every tier dropped: no tier, no retention clock, no record of entry rewards for tiers gone
    empty = program().model_copy(update={"tiers": [], "version": 3})
    for held in (gold, silver):
        lost = demote_if_due(held, empty, NOW)
        assert lost.change
        assert (lost.change.direction, lost.change.from_id, lost.change.to_tier) == (
            Direction.DOWN,
            held.tier_id,
            None,
        )
        assert (lost.state.tier_id, lost.state.since, lost.state.entry_rewards) == (None, None, {})
        assert (lost.state.below_since, lost.state.lapses_on, lost.state.warned_for) == (None, None, None)
        assert lost.state.lifetime == held.lifetime  # the totals stay: tiers added again count them
        assert demote_if_due(lost.state, empty, NOW).change is None  # and only once
    # Silver added back later is a new tier: its entry reward is earned anew
    cleared = demote_if_due(silver, empty, NOW).state
    assert evaluate(cleared, program(), NOW + timedelta(days=1)).entry_coins == 50
