"""Analytics rules: what each event adds to which local day, ranges, buckets and liability."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from pollen.domain import analytics as rules
from pollen.domain.analytics import DayRange, RangeError, resolve_range
from pollen.domain.program import ProgramSettings, default_settings

TODAY = date(2026, 11, 25)
README = Path(__file__).resolve().parents[2] / "README.md"


def test_local_day_follows_the_timezone_across_dst() -> None:
    # 02:30 UTC on 2026-11-01 is still 31 October in New York (EDT, UTC-4)...
    assert rules.local_day(datetime(2026, 11, 1, 2, 30, tzinfo=UTC), "America/New_York") == date(2026, 10, 31)
    # ...and after the switch to EST (UTC-5) 04:30 UTC is 1 November, 23:30 local on 1 Nov is 2 Nov UTC
    assert rules.local_day(datetime(2026, 11, 1, 4, 30, tzinfo=UTC), "America/New_York") == date(2026, 11, 1)
    assert rules.local_day(datetime(2026, 11, 2, 4, 30, tzinfo=UTC), "America/New_York") == date(2026, 11, 1)
    assert rules.local_day(datetime(2026, 11, 1, 20, 0, tzinfo=UTC), "Asia/Kolkata") == date(2026, 11, 2)
    assert rules.local_day(datetime(2026, 11, 1, 20, 0, tzinfo=UTC), "UTC") == date(2026, 11, 1)


def test_the_program_takes_only_known_timezones() -> None:
    base = default_settings().model_dump()
    assert ProgramSettings.model_validate(base).timezone == "UTC"
    assert ProgramSettings.model_validate({**base, "timezone": "Europe/Berlin"}).timezone == "Europe/Berlin"
    for bad in ("Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "utc+5"):
        with pytest.raises(ValueError, match="IANA"):
            ProgramSettings.model_validate({**base, "timezone": bad})


@pytest.mark.parametrize(
    ("name", "offset", "start", "end"),
    [
        ("today", 0, TODAY, TODAY),
        ("7d", 0, TODAY - timedelta(days=6), TODAY),
        ("30d", -1, TODAY - timedelta(days=59), TODAY - timedelta(days=30)),
        ("90d", 0, TODAY - timedelta(days=89), TODAY),
        ("today", -2, TODAY - timedelta(days=2), TODAY - timedelta(days=2)),
    ],
)
def test_presets_and_offsets(name: str, offset: int, start: date, end: date) -> None:
    window = resolve_range(name, None, None, offset, TODAY)
    assert (window.start, window.end) == (start, end)
    previous = window.previous()
    assert previous.days == window.days
    assert previous.end == window.start - timedelta(days=1)


def test_custom_ranges_and_their_errors() -> None:
    assert resolve_range("custom", date(2026, 1, 1), date(2026, 1, 31), 0, TODAY).days == 31
    assert resolve_range("custom", date(2026, 1, 1), date(2026, 1, 31), 1, TODAY).start == date(2026, 2, 1)
    assert resolve_range("custom", TODAY - timedelta(days=365), TODAY, 0, TODAY).days == 366
    cases = [
        (("custom", TODAY, TODAY - timedelta(days=1), 0), "to"),
        (("custom", TODAY - timedelta(days=366), TODAY, 0), "to"),
        (("custom", TODAY, TODAY + timedelta(days=1), 0), "to"),
        (("custom", None, TODAY, 0), "from"),
        (("7d", None, None, 1), "offset"),
        (("7d", TODAY, None, 0), "range"),
        (("week", None, None, 0), "range"),
    ]
    for (name, start, end, offset), field in cases:
        with pytest.raises(RangeError) as exc:
            resolve_range(name, start, end, offset, TODAY)
        assert exc.value.field == field


def test_buckets_cut_by_calendar_week_and_month() -> None:
    window = DayRange(date(2026, 11, 25), date(2026, 12, 9))  # a Wednesday to a Wednesday
    weeks = rules.buckets(window, "week")
    assert [(b.start, b.end) for b in weeks] == [
        (date(2026, 11, 25), date(2026, 11, 29)),
        (date(2026, 11, 30), date(2026, 12, 6)),
        (date(2026, 12, 7), date(2026, 12, 9)),
    ]
    months = rules.buckets(window, "month")
    assert [b.start for b in months] == [date(2026, 11, 25), date(2026, 12, 1)]
    assert len(rules.buckets(window, "day")) == 15


def test_liability_at_the_end_of_any_day_from_the_running_total() -> None:
    days = {
        date(2026, 11, 1): {"coins_net": 100},
        date(2026, 11, 3): {"coins_net": -30},
        date(2026, 11, 5): {"coins_net": 5},
    }
    total = 75
    assert rules.liability_at(days, total, date(2026, 11, 5)) == 75
    assert rules.liability_at(days, total, date(2026, 11, 4)) == 70
    assert rules.liability_at(days, total, date(2026, 11, 2)) == 100
    assert rules.liability_at(days, total, date(2026, 10, 31)) == 0
    totals = rules.totals(days, DayRange(date(2026, 11, 2), date(2026, 11, 3)), total)
    assert (totals.liability, totals.get("coins_net")) == (70, -30)
    assert totals.value("liability_value", Decimal("0.05")) == Decimal("3.50")


def test_orders_count_once_on_the_day_placed_and_split_by_source() -> None:
    at = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    payload = {
        "order_id": "o-1",
        "total": "40.00",
        "created_at": "2026-11-24T23:00:00Z",
        "attributions": [{"source": "redemption", "channel": "email", "code": "X"}],
    }
    c = rules.event_contribution("e-1", "order_updated", at, payload, "UTC")
    assert c is not None
    assert (c.identity, c.day, c.keep_days) == ("order:o-1", date(2026, 11, 24), rules.ORDER_MARKER_DAYS)
    assert c.counters == {
        "orders": 1,
        "revenue": Decimal("40.00"),
        "attributed_orders": 1,
        "attributed_revenue": Decimal("40.00"),
        "attributed_orders:email": 1,
        "attributed_revenue:email": Decimal("40.00"),
    }
    # a paid-before-created order has no data yet: it counts when its data arrives
    assert (
        rules.event_contribution("e-2", "order_updated", at, {"order_id": "o-2", "total": None}, "UTC")
        is None
    )
    both = [{"source": "redemption", "channel": "widget"}, {"source": "referral", "code": "R"}]
    assert rules.attribution_source(both) == "referral"
    assert rules.attribution_source([{"source": "redemption", "channel": "online"}]) == "other"
    assert rules.attribution_source([]) is None


def test_wallet_entries_by_kind_and_net() -> None:
    assert rules.wallet_counters("reward", "credit", 50, "order") == {
        "coins_net": 50,
        "coins_credited": 50,
        "coins_credited:order": 50,
    }
    assert rules.wallet_counters("adjust", "credit", 5, "admin")["coins_credited:adjustment"] == 5
    assert rules.wallet_counters("reward", "credit", 5, "tier")["coins_credited:tier"] == 5
    assert rules.wallet_counters("refund", "credit", 7, "redemption") == {"coins_net": 7, "coins_refunded": 7}
    assert rules.wallet_counters("redeem", "debit", 9, "redemption") == {"coins_net": -9, "coins_redeemed": 9}
    assert rules.wallet_counters("expire", "debit", 3, "expiry") == {"coins_net": -3, "coins_expired": 3}
    assert rules.wallet_counters("reversal", "debit", 2, "order") == {"coins_net": -2, "coins_reversed": 2}
    assert rules.wallet_counters("adjust", "debit", 1, "admin") == {"coins_net": -1, "coins_deducted": 1}


def test_unknown_and_config_events_add_nothing() -> None:
    at = datetime(2026, 11, 25, tzinfo=UTC)
    for kind in ("program_updated", "api_key_created", "coins_expiring", "tier_expiring", "brand_new_event"):
        assert rules.event_contribution("e", kind, at, {"x": 1}, "UTC") is None
    assert rules.event_contribution("e", "events_tracked", at, {"events": [{"type": "nope"}]}, "UTC") is None


def test_delivery_attempts_count_once_each_and_tests_not_at_all() -> None:
    image = {
        "delivery_id": "ev.s",
        "event_type": "coupon_used",
        "integration_id": "k",
        "status": "dead",
        "attempts": [
            {"attempt": 1, "at": "2026-11-25T10:00:00Z", "outcome": "retry"},
            {"attempt": 2, "at": "2026-11-25T10:01:00Z", "outcome": "permanent"},
        ],
    }
    c = rules.delivery_contribution(image, "UTC")
    assert c is not None
    assert c.identity == "delivery:ev.s:2"
    assert c.counters["events_sent"] == c.counters["events_failed"] == c.counters["events_dead_lettered"] == 1
    assert c.counters["comm_event:coupon_used:dead_lettered"] == 1
    assert len(rules.attempt_contributions(image, "UTC")) == 2
    assert rules.delivery_contribution({**image, "test": True}, "UTC") is None


def test_readme_defines_every_metric_in_one_line() -> None:
    text = README.read_text(encoding="utf-8")
    for metric in rules.METRICS:
        assert re.search(rf"^\| `{metric.name}` \| .+ \|$", text, re.MULTILINE), metric.name


def test_a_fact_names_its_time_only_when_no_other_record_can_carry_it_at_another() -> None:
    from pollen.ids import new_ulid  # noqa: PLC0415

    made = datetime(2026, 11, 25, 10, 0, 7, 123000, tzinfo=UTC)
    event_id = new_ulid(int(made.timestamp() * 1000))
    later = made + timedelta(hours=3)
    signed_up = rules.event_contribution(event_id, "customer_created", later, {}, "UTC")
    assert signed_up is not None
    assert signed_up.at == made
    unnamed = rules.event_contribution("not-a-ulid", "customer_created", later, {}, "UTC")
    assert unnamed is not None
    assert unnamed.at is None  # no time of its own: a marker item proves it

    order = {"order_id": "o-1", "total": "40.00", "created_at": "2026-11-24T23:00:00Z"}
    first = rules.event_contribution(
        "o-1.v2", "order_updated", later, {**order, rules.FIRST_DATA_AT: made.isoformat()}, "UTC"
    )
    assert first is not None
    assert (first.identity, first.at, first.keep_days) == ("order:o-1", made, rules.EVENT_MARKER_DAYS)
    legacy = rules.event_contribution("o-1.v2", "order_updated", later, order, "UTC")
    assert legacy is not None
    assert (legacy.at, legacy.keep_days) == (None, rules.ORDER_MARKER_DAYS)

    image = {
        "delivery_id": f"{event_id}.s-1",
        "event_type": "coupon_used",
        "integration_id": "k",
        "status": "delivered",
        "attempts": [{"attempt": 1, "at": "2026-11-25T11:00:00Z", "outcome": "delivered"}],
    }
    attempt = rules.delivery_contribution(image, "UTC")
    assert attempt is not None
    assert attempt.at == made


def test_a_fold_is_cut_into_transactions_of_at_most_100_items_and_100_tokens_a_slice() -> None:
    from pollen.storage.analytics import SEEN_PER_ITEM, _chunks, _minute  # noqa: PLC0415

    at = datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC)
    day = date(2026, 11, 25)
    tokens = [rules.Contribution(f"event:{i}", day, {"sign_ups": 1}, at=at) for i in range(250)]
    assert [len(c) for c in _chunks(tokens)] == [SEEN_PER_ITEM, SEEN_PER_ITEM, 50]
    markers = [
        rules.Contribution(f"order:{i}", day - timedelta(days=i % 3), {"orders": 1}) for i in range(150)
    ]
    for chunk in _chunks(markers + tokens):
        days = {c.day for c in chunk}
        slices = {_minute(c.at) for c in chunk if c.at is not None}
        items = sum(1 for c in chunk if c.at is None) + len(slices) + len(days) + 1
        assert items <= 100
        assert sum(1 for c in chunk if c.at is not None) <= SEEN_PER_ITEM
    assert sum(len(c) for c in _chunks(markers + tokens)) == 400
    assert _minute(datetime(2026, 11, 25, 10, 0, 19, 999000, tzinfo=UTC)) == "20261125100010"
