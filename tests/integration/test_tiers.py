"""VIP tiers on moto: qualification riding on the order's transaction, entry rewards exactly once,
multipliers equal in cart and order, retention, warnings and downgrades by the daily job."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import boto3
import pytest

from infra.inprocess import InProcessApi
from infra.seed import DEMO_TIERS, DemoStore
from pollen.domain.orders import OrderData, OrderFacts, OrderLine, Refund, RefundLine
from pollen.domain.tiers import Metric, TierProgramSettings, Window, WindowKind
from pollen.services.container import container
from pollen.services.customers import get_customer
from pollen.services.orders import record_order_fact
from pollen.services.tier_qualification import stage_referral_completed
from pollen.services.tier_qualification import want as want_tier
from pollen.services.tiers import customer_tier, put_tier_program, reevaluate, run_daily
from pollen.storage.client import CallCounter
from pollen.storage.tiers import tier_state_key
from tests.support.ledger import assert_ledgers_balance

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def order(order_id: str, amount: str, customer_id: str = "c1") -> OrderData:
    return OrderData(
        order_id=order_id,
        customer_id=customer_id,
        email=f"{customer_id}@example.com",
        currency="USD",
        lines=[OrderLine(line_id="L1", product_id="p1", quantity=1, unit_price=Decimal(amount))],
        total=Decimal(amount),
    )


def pay(order_id: str, amount: str, *, now: datetime = NOW, customer_id: str = "c1") -> Any:
    return record_order_fact(
        container(),
        "demo-store",
        order_id,
        OrderFacts(data=order(order_id, amount, customer_id), paid=True),
        now=now,
    )


def refund_all(order_id: str, amount: str, *, now: datetime) -> Any:
    refund = Refund(
        refund_id=f"r-{order_id}", lines=[RefundLine(line_id="L1", quantity=1, subtotal=Decimal(amount))]
    )
    return record_order_fact(
        container(), "demo-store", order_id, OrderFacts(refunds={refund.refund_id: refund}), now=now
    )


def tiers_on(settings: TierProgramSettings = DEMO_TIERS, now: datetime = NOW) -> None:
    put_tier_program(container(), "demo-store", settings, now=now, expected_version=None)


def balance(customer_id: str = "c1") -> int:
    return get_customer(container(), "demo-store", customer_id).wallet.balance


def outbox(table_name: str, event_type: str) -> list[dict[str, Any]]:
    items = boto3.resource("dynamodb").Table(table_name).scan()["Items"]
    found = [i for i in items if i.get("entity") == "outbox" and i["event_type"] == event_type]
    return sorted(found, key=lambda i: i["event_id"])


def ledger(customer_id: str = "c1") -> list[tuple[str, str, int]]:
    page = container().table.query(f"M#demo-store#C#{customer_id}", sk_prefix="TXN#")
    return [(i["source"], i["type"], int(i["coins"])) for i in page.items]


# ---- the acceptance, on the service layer ------------------------------------------------------------


def test_silver_then_bonus_then_refund_demotes_after_retention_and_warning(
    demo: DemoStore, table_name: str, api: InProcessApi
) -> None:
    tiers_on()
    pay("1001", "120.00")
    assert balance() == 120 + 50  # 120 coins at the tier held when paid (none), then 50 entry coins
    assert ledger() == [("order", "reward", 120), ("tier", "reward", 50)]
    changed = outbox(table_name, "tier_changed")
    assert [(e["payload"]["from"], e["payload"]["to"], e["payload"]["direction"]) for e in changed] == [
        (None, "silver", "up")
    ]

    cart = api.post(
        "/v1/cart/coins",
        key=demo.api_keys.read,
        json_body={
            "customer_id": "c1",
            "currency": "USD",
            "lines": [{"product_id": "p1", "quantity": 1, "unit_price": "100.00"}],
        },
    )
    assert (cart.status, cart.json()["coins"], cart.json()["multiplier"]) == (200, 150, "1.5")
    pay("1002", "100.00", now=NOW + timedelta(days=1))
    assert ledger()[-2:] == [("order", "reward", 100), ("tier", "reward", 50)]  # 150, as the cart said
    assert balance() == 320

    refund_all("1001", "120.00", now=NOW + timedelta(days=2))  # spend 220 → 100: still Silver
    view = customer_tier(container(), "demo-store", "c1", NOW + timedelta(days=2))
    assert view.tier
    assert view.tier.tier_id == "silver"
    assert view.expires_on is not None

    pay("1003", "10.00", now=NOW + timedelta(days=3))
    refund_all("1002", "100.00", now=NOW + timedelta(days=4))  # spend 10: below Silver from day 4
    day4 = (NOW + timedelta(days=4)).date()
    view = customer_tier(container(), "demo-store", "c1", NOW + timedelta(days=4))
    assert view.tier
    assert view.tier.tier_id == "silver"
    assert view.expires_on == (day4 + timedelta(days=30)).isoformat()  # retention_days
    assert view.progress
    assert view.progress.metric == Metric.SPEND
    assert view.progress.current == Decimal("10.00")

    expiry = datetime.combine(day4 + timedelta(days=30), NOW.time(), UTC)
    assert run_daily(expiry - timedelta(days=8)).processed == 0  # nothing due yet: nothing read
    warned = run_daily(expiry - timedelta(days=7))
    assert warned.detail == "1 warned"
    assert run_daily(expiry - timedelta(days=6)).processed == 0  # warned once
    warning = outbox(table_name, "tier_expiring")
    assert [(w["payload"]["tier"], w["payload"]["days_left"], w["payload"]["needed"]) for w in warning] == [
        ("silver", 7, "90.00")
    ]
    assert run_daily(expiry).detail == "1 tier_down"
    assert customer_tier(container(), "demo-store", "c1", expiry).tier is None
    changed = outbox(table_name, "tier_changed")
    assert [(e["payload"]["from"], e["payload"]["to"], e["payload"]["direction"]) for e in changed][-1] == (
        "silver",
        None,
        "down",
    )
    assert run_daily(expiry + timedelta(days=1)).processed == 0
    assert assert_ledgers_balance(table_name) == 1


def test_the_daily_job_reads_only_the_customers_due(demo: DemoStore, calls: CallCounter) -> None:
    tiers_on()
    for n in range(6):
        pay(f"o{n}", "120.00", customer_id=f"k{n}")  # six Silver members, rolling year: due in a year
    refund_all("o0", "120.00", now=NOW)  # k0 below Silver: warned in 23 days, down in 30
    calls.reset()
    assert run_daily(NOW + timedelta(days=22)).processed == 0
    assert calls.snapshot() == {"Query": 8}  # one per due-index shard, no member read
    calls.reset()
    assert run_daily(NOW + timedelta(days=23)).detail == "1 warned"
    assert calls.snapshot() == {"Query": 8, "BatchGetItem": 1, "TransactWriteItems": 1}


def test_qualifying_again_during_retention_keeps_the_tier(demo: DemoStore, table_name: str) -> None:
    tiers_on()
    pay("1001", "120.00")
    refund_all("1001", "120.00", now=NOW + timedelta(days=1))
    assert customer_tier(container(), "demo-store", "c1", NOW + timedelta(days=1)).expires_on is not None
    pay("1002", "150.00", now=NOW + timedelta(days=5))
    view = customer_tier(container(), "demo-store", "c1", NOW + timedelta(days=5))
    assert view.tier
    assert view.tier.tier_id == "silver"
    assert view.expires_on is not None
    assert (
        view.expires_on > (NOW + timedelta(days=365)).date().isoformat()
    )  # the rolling window, not retention
    assert run_daily(NOW + timedelta(days=40)).processed == 0
    assert [s for s, t, _ in ledger() if s == "tier" and t == "reward"] == [
        "tier",
        "tier",
    ]  # entry once + bonus
    assert ledger()[1] == ("tier", "reward", 50)


def test_upgrade_costs_two_calls_and_the_tier_read_one(demo: DemoStore, calls: CallCounter) -> None:
    tiers_on()
    pay("1000", "10.00")  # warms the config cache
    calls.reset()
    pay("1001", "600.00")  # none → Gold in the order's own transaction
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}
    calls.reset()
    view = customer_tier(container(), "demo-store", "c1", NOW)
    assert calls.snapshot() == {"GetItem": 1}
    assert view.tier
    assert view.tier.tier_id == "gold"
    assert view.next_tier is None
    assert view.progress is None


def test_concurrent_orders_crossing_the_threshold_give_one_entry_reward(
    demo: DemoStore, table_name: str
) -> None:
    tiers_on()
    threads = [threading.Thread(target=pay, args=(f"20{n:02d}", "60.00")) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = ledger()
    assert [c for s, t, c in entries if s == "tier" and t == "reward" and c == 50] == [50]
    assert len(outbox(table_name, "tier_changed")) == 1
    orders = sum(c for s, _, c in entries if s == "order")
    bonuses = sum(c for s, _, c in entries if s == "tier") - 50
    assert orders == 8 * 60
    assert balance() == orders + bonuses + 50
    assert assert_ledgers_balance(table_name) == 1


def test_the_multiplier_in_the_cart_equals_what_the_order_earns(demo: DemoStore, api: InProcessApi) -> None:
    tiers_on()
    pay("1000", "100.00")  # Silver, x1.5
    for n, amount in enumerate(["0.99", "1.00", "7.77", "33.33", "99.99", "101.01"]):
        cart = api.post(
            "/v1/cart/coins",
            key=demo.api_keys.read,
            json_body={
                "customer_id": "c1",
                "currency": "USD",
                "lines": [{"product_id": "p1", "quantity": 1, "unit_price": amount}],
            },
        ).json()
        before = balance()
        pay(f"30{n}", amount)
        assert balance() - before == cart["coins"], amount


def test_a_cancelled_order_takes_back_its_bonus_and_its_totals(demo: DemoStore, table_name: str) -> None:
    tiers_on()
    pay("1000", "100.00")
    pay("1001", "40.00")  # 40 + 20 bonus
    record_order_fact(container(), "demo-store", "1001", OrderFacts(cancelled=True), now=NOW)
    assert ledger()[-2:] == [("order", "reversal", 40), ("tier", "reversal", 20)]
    view = customer_tier(container(), "demo-store", "c1", NOW)
    assert view.progress
    assert view.progress.current == Decimal("100.00")
    assert assert_ledgers_balance(table_name) == 1


# ---- metrics and windows -----------------------------------------------------------------------------


def _program(metric: Metric, window: Window, values: tuple[str, str] = ("2", "5")) -> TierProgramSettings:
    data = DEMO_TIERS.model_dump()
    for tier, value in zip(data["tiers"], values, strict=True):
        tier["threshold"] = {"metric": metric, "value": value}
    return TierProgramSettings.model_validate({**data, "window": window.model_dump()})


def test_orders_metric_counts_paid_orders_and_a_full_refund_uncounts_one(demo: DemoStore) -> None:
    tiers_on(_program(Metric.ORDERS, Window()))
    pay("1", "5.00")
    assert customer_tier(container(), "demo-store", "c1", NOW).tier is None
    pay("2", "5.00")
    view = customer_tier(container(), "demo-store", "c1", NOW)
    assert view.tier
    assert view.tier.tier_id == "silver"
    assert view.progress
    assert (view.progress.current, view.progress.needed, view.progress.percent) == (
        Decimal(2),
        Decimal(3),
        40,
    )
    refund_all("2", "5.00", now=NOW)
    view = customer_tier(container(), "demo-store", "c1", NOW)
    assert view.progress
    assert view.progress.current == 1
    assert view.expires_on == (NOW.date() + timedelta(days=30)).isoformat()


def test_coins_earned_metric(demo: DemoStore) -> None:
    tiers_on(_program(Metric.COINS_EARNED, Window(), ("150", "1000")))
    pay("1", "149.00")
    assert customer_tier(container(), "demo-store", "c1", NOW).tier is None
    pay("2", "1.00")
    view = customer_tier(container(), "demo-store", "c1", NOW)
    assert view.tier
    assert view.tier.tier_id == "silver"
    assert view.progress
    assert view.progress.current == 150


def test_referrals_metric_through_the_referral_hook(demo: DemoStore, table_name: str) -> None:
    tiers_on(_program(Metric.REFERRALS, Window(), ("1", "3")))
    pay("1", "10.00")
    c = container()
    program = c.config.get("demo-store").program  # type: ignore[union-attr]
    assert program is not None
    uow = c.units.begin("demo-store")
    uow.customers.want("c1")
    want_tier(uow, c, "c1")
    record = uow.customers.require("c1")
    outcome = stage_referral_completed(c, uow, "c1", record.wallet, program=program, now=NOW)
    assert outcome.stage is not None
    assert [e.coins for e in outcome.entries] == [50]
    from pollen.domain.customers import CustomerRecord  # noqa: PLC0415

    uow.customers.save(CustomerRecord(record.customer, outcome.wallet), outcome.entries, program)
    outcome.stage(uow, record.customer)
    uow.commit()
    view = customer_tier(c, "demo-store", "c1", NOW)
    assert view.tier
    assert view.tier.tier_id == "silver"
    assert view.progress
    assert view.progress.current == 1
    assert assert_ledgers_balance(table_name) == 1


def _referral_order(api: InProcessApi, demo: DemoStore, order_id: str, friend: str, code: str) -> None:
    body = {
        "order_id": order_id,
        "customer_id": friend,
        "currency": "USD",
        "paid": True,
        "lines": [{"line_id": "1", "quantity": 1, "unit_price": "60.00"}],
        "discount_codes": [code],
    }
    response = api.post("/v1/orders", key=demo.api_keys.write, json_body=body)
    assert response.status in {200, 201}, response.body


def test_a_completed_referral_upgrades_the_referrer_in_the_completing_transaction(
    demo: DemoStore, api: InProcessApi, calls: CallCounter, table_name: str
) -> None:
    """The referral completion itself counts for the referrer's `referrals` (and `coins_earned`)
    totals: the upgrade, its entry reward and `tier_changed` are in the order's transaction, within
    the referral's call budget; a reversal takes the referral back out of the totals."""
    tiers_on(_program(Metric.REFERRALS, Window(), ("1", "3")))
    created = api.put("/v1/customers/rita", key=demo.api_keys.write, json_body={"email": "rita@example.com"})
    assert created.status in {200, 201}, created.body
    code = api.get("/v1/customers/rita/referral", key=demo.api_keys.read).json()["code"]
    calls.reset()
    _referral_order(api, demo, "f-1", "friend-1", code)
    assert calls.snapshot() == {"BatchGetItem": 2, "TransactWriteItems": 1}  # as before tiers counted it
    view = customer_tier(container(), "demo-store", "rita", NOW)
    assert view.tier
    assert view.tier.tier_id == "silver"
    assert view.progress
    assert view.progress.current == 1
    assert ledger("rita") == [("referral", "reward", 500), ("tier", "reward", 50)]
    (changed,) = outbox(table_name, "tier_changed")
    assert (changed["customer_id"], changed["payload"]["to"]) == ("rita", "silver")
    state = container().table.get(tier_state_key("demo-store", "rita"))
    assert state is not None
    assert Decimal(state["lifetime"]["coins_earned"]) == 500  # referral coins count as earned
    assert Decimal(state["lifetime"]["referrals"]) == 1
    _referral_order(api, demo, "f-1", "friend-1", code)  # replayed: counted once
    _referral_order(api, demo, "f-2", "friend-2", code)
    view = customer_tier(container(), "demo-store", "rita", NOW)
    assert view.progress
    assert view.progress.current == 2
    # the second friend's order is cancelled before confirmation: the referral is reversed
    assert api.post("/v1/orders/f-2/cancel", key=demo.api_keys.write).status == 200
    view = customer_tier(container(), "demo-store", "rita", NOW)
    assert view.progress
    assert view.progress.current == 1
    assert view.tier
    assert view.tier.tier_id == "silver"
    assert [c for s, t, c in ledger("rita") if (s, t) == ("tier", "reward")] == [50]
    assert assert_ledgers_balance(table_name) == 3


def test_calendar_year_window_resets_on_new_year_then_retention(demo: DemoStore, table_name: str) -> None:
    tiers_on(_program(Metric.SPEND, Window(kind=WindowKind.CALENDAR_YEAR), ("100", "500")))
    pay("1", "120.00", now=datetime(2026, 12, 20, tzinfo=UTC))
    view = customer_tier(container(), "demo-store", "c1", datetime(2026, 12, 20, tzinfo=UTC))
    assert view.expires_on == "2027-01-31"  # Jan 1 + 30 days retention
    jan = customer_tier(container(), "demo-store", "c1", datetime(2027, 1, 2, tzinfo=UTC))
    assert jan.progress
    assert jan.progress.current == 0
    assert jan.tier
    assert jan.tier.tier_id == "silver"
    assert run_daily(datetime(2027, 1, 24, tzinfo=UTC)).detail == "1 warned"
    assert run_daily(datetime(2027, 1, 31, tzinfo=UTC)).detail == "1 tier_down"
    # a new year's window: the entry reward is earned again
    pay("2", "100.00", now=datetime(2027, 2, 1, tzinfo=UTC))
    assert [c for s, t, c in ledger() if (s, t) == ("tier", "reward")] == [50, 50]


def test_rolling_window_lapses_as_months_leave_it(demo: DemoStore) -> None:
    tiers_on(_program(Metric.SPEND, Window(kind=WindowKind.ROLLING_DAYS, days=90), ("100", "500")))
    pay("1", "60.00", now=datetime(2026, 1, 15, tzinfo=UTC))
    pay("2", "60.00", now=datetime(2026, 3, 5, tzinfo=UTC))
    view = customer_tier(container(), "demo-store", "c1", datetime(2026, 3, 5, tzinfo=UTC))
    assert view.tier
    assert view.tier.tier_id == "silver"
    # January leaves the 90-day window on Jan 31 + 90 days = May 1; retention 30 days more
    assert view.expires_on == "2026-05-31"
    assert run_daily(datetime(2026, 5, 31, tzinfo=UTC)).detail == "1 tier_down"  # warning sent on the way
    view = customer_tier(container(), "demo-store", "c1", datetime(2026, 5, 31, tzinfo=UTC))
    assert view.tier is None
    assert view.progress
    assert view.progress.current == 60


def test_lifetime_window_never_expires(demo: DemoStore) -> None:
    tiers_on(_program(Metric.SPEND, Window(), ("100", "500")))
    pay("1", "120.00")
    view = customer_tier(container(), "demo-store", "c1", NOW)
    assert view.tier
    assert view.expires_on is None
    item = container().table.get(tier_state_key("demo-store", "c1"))
    assert item is not None
    assert "GSI1PK" not in item


# ---- program changes ------------------------------------------------------------------------------------


def test_a_lowered_threshold_promotes_members_by_the_resumable_job(demo: DemoStore, table_name: str) -> None:
    tiers_on()
    for n in range(5):
        pay(f"o{n}", "80.00", customer_id=f"k{n}")
    assert all(customer_tier(container(), "demo-store", f"k{n}", NOW).tier is None for n in range(5))
    tiers_on(_program(Metric.SPEND, DEMO_TIERS.window, ("50", "500")), NOW + timedelta(hours=1))
    status = reevaluate(container(), "demo-store", NOW + timedelta(hours=1), budget=2)
    assert (status.state, status.evaluated) == ("running", 2)  # bounded: resumes next run
    status = reevaluate(container(), "demo-store", NOW + timedelta(hours=2))
    assert (status.state, status.evaluated, status.changed) == ("done", 5, 5)
    assert all(customer_tier(container(), "demo-store", f"k{n}", NOW).tier for n in range(5))
    assert len(outbox(table_name, "tier_changed")) == 5
    assert assert_ledgers_balance(table_name) == 5


# ---- admin API ------------------------------------------------------------------------------------------


def test_admin_tier_program_with_if_match_members_and_status(demo: DemoStore, api: InProcessApi) -> None:
    admin = demo.api_keys.admin
    empty = api.get("/v1/admin/tiers", key=admin)
    assert (empty.status, empty.json()["version"], empty.headers["etag"]) == (200, 0, '"0"')
    body = DEMO_TIERS.model_dump(mode="json")
    created = api.put("/v1/admin/tiers", key=admin, json_body=body, headers={"if-match": '"0"'})
    assert created.status == 200, created.body
    assert created.headers["etag"] == '"1"'
    stale = api.put("/v1/admin/tiers", key=admin, json_body=body, headers={"if-match": '"0"'})
    assert stale.status == 412
    pay("1", "120.00")
    pay("2", "700.00", customer_id="c2")
    listed = api.get("/v1/admin/tiers", key=admin).json()
    assert listed["members"] == {"silver": 1, "gold": 1}
    assert [t["tier_id"] for t in listed["tiers"]] == ["silver", "gold"]
    status = api.get("/v1/admin/tiers/status", key=admin).json()
    assert (status["state"], status["program_version"]) == ("running", 1)
    tier = api.get("/v1/customers/c1/tier", key=demo.api_keys.read).json()
    assert tier["tier"]["tier_id"] == "silver"
    assert tier["next_tier"]["tier_id"] == "gold"
    assert tier["progress"] == {"metric": "spend", "current": "120.00", "needed": "380.00", "percent": 24}
    assert tier["benefits"]["earn_multiplier"] == "1.5"
    assert api.get("/v1/admin/tiers", key=demo.api_keys.write).status == 403


def _scanned_members(table_name: str) -> dict[str, int]:
    items = boto3.resource("dynamodb").Table(table_name).scan()["Items"]
    found = Counter(str(i["tier_id"]) for i in items if i.get("entity") == "tier" and i.get("tier_id"))
    return dict(found)


def _together(*jobs: Callable[[], Any]) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_member_counts_are_one_query_and_equal_a_scan_after_concurrent_moves(
    demo: DemoStore, api: InProcessApi, calls: CallCounter, table_name: str
) -> None:
    """Counters moved in the tier-changing transactions: replays and races (the same customer's
    orders at once, a refund racing the daily job's demotion) leave them equal to a full scan."""
    tiers_on()
    people = [f"m{n}" for n in range(6)]
    first = {p: "300.00" if n % 2 else "120.00" for n, p in enumerate(people)}
    jobs: list[Callable[[], Any]] = []
    for p in people:
        jobs += [partial(pay, f"{p}-a", first[p], customer_id=p)] * 3  # replays of one webhook
        jobs += [partial(pay, f"{p}-b", "250.00", customer_id=p)]  # racing the first
    _together(*jobs)
    assert _scanned_members(table_name) == {"silver": 3, "gold": 3}
    # every "-b" order fully refunded (twice, at once): gold members fall below gold, silver stay
    _together(*[partial(refund_all, f"{p}-b", "250.00", now=NOW) for p in people for _ in range(2)])
    later = NOW + timedelta(days=DEMO_TIERS.retention_days + 1)
    # the daily job's demotions race new orders (one lifts m1 back to gold on the way)
    _together(
        lambda: run_daily(later),
        lambda: run_daily(later),
        lambda: pay("m1-c", "250.00", now=later, customer_id="m1"),
        lambda: pay("m0-c", "10.00", now=later, customer_id="m0"),
    )
    run_daily(later)  # anything a lost race left due
    scanned = _scanned_members(table_name)
    assert scanned == {"silver": 5, "gold": 1}
    assert api.get("/v1/admin/tiers", key=demo.api_keys.admin).json()["members"] == scanned
    calls.reset()  # the key is cached now: what the route itself costs
    api.get("/v1/admin/tiers", key=demo.api_keys.admin)
    assert calls.snapshot() == {"Query": 1}
    assert assert_ledgers_balance(table_name) == 6


def test_removing_every_tier_reads_none_at_once_and_the_job_clears_members(
    demo: DemoStore, api: InProcessApi, table_name: str
) -> None:
    tiers_on()
    pay("1", "120.00")  # Silver (entry reward)
    pay("2", "700.00", customer_id="c2")  # Gold
    admin, read = demo.api_keys.admin, demo.api_keys.read
    etag = api.get("/v1/admin/tiers", key=admin).headers["etag"]
    cleared = api.put("/v1/admin/tiers", key=admin, json_body={"tiers": []}, headers={"if-match": etag})
    assert cleared.status == 200, cleared.body
    assert cleared.json()["members"] == {}
    # reads answer "no tier" at once, before the job has run; the cart multiplies by nothing
    for customer_id in ("c1", "c2"):
        tier = api.get(f"/v1/customers/{customer_id}/tier", key=read).json()
        assert (tier["tier"], tier["benefits"], tier["next_tier"], tier["expires_on"]) == (
            None,
            None,
            None,
            None,
        )
    cart = api.post(
        "/v1/cart/coins",
        key=read,
        json_body={
            "customer_id": "c2",
            "currency": "USD",
            "lines": [{"product_id": "p", "quantity": 1, "unit_price": "10.00"}],
        },
    ).json()
    assert (cart["coins"], cart["multiplier"]) == (10, "1")
    # the bounded job takes the stored tiers away: tier_changed down, counters, no entry-reward record
    later = NOW + timedelta(hours=1)
    status = reevaluate(container(), "demo-store", later)
    assert (status.state, status.evaluated, status.changed) == ("done", 2, 2)
    downs = [e["payload"] for e in outbox(table_name, "tier_changed") if e["payload"]["direction"] == "down"]
    assert sorted((d["from"], d["to"], d["tier"]) for d in downs) == [
        ("gold", None, "gold"),
        ("silver", None, "silver"),
    ]
    for customer_id in ("c1", "c2"):
        item = container().table.get(tier_state_key("demo-store", customer_id))
        assert item is not None
        assert (item.get("tier_id"), item.get("entry_rewards", {}), "GSI1PK" in item) == (None, {}, False)
    assert _scanned_members(table_name) == {}
    assert reevaluate(container(), "demo-store", later).changed == 2  # done: a second run changes nothing
    assert run_daily(later + timedelta(days=60)).processed == 0  # nothing left in the due index
    # tiers back: the kept totals qualify again, and the entry reward is earned again (a new program)
    tiers_on(DEMO_TIERS, later + timedelta(hours=1))
    reevaluate(container(), "demo-store", later + timedelta(hours=1))
    assert api.get("/v1/admin/tiers", key=admin).json()["members"] == {"silver": 1, "gold": 1}
    assert [c for s, t, c in ledger() if (s, t) == ("tier", "reward")] == [50, 50]
    assert assert_ledgers_balance(table_name) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["tiers"][1]["threshold"].update(value="100"), "body"),  # not strictly increasing
        (lambda b: b["tiers"][1]["threshold"].update(metric="orders"), "body"),  # two metrics
        (lambda b: b["window"].update(kind="lifetime"), "body"),  # days only for rolling windows
        (lambda b: b["window"].update(days=None), "body"),  # rolling without days
        (lambda b: b["tiers"][0]["benefits"].update(earn_multiplier="0.5"), "body"),
        (lambda b: b["tiers"][0].update(tier_id="Not Valid"), "body"),
    ],
)
def test_invalid_programs_are_422_and_write_nothing(
    demo: DemoStore, api: InProcessApi, change: Any, field: str
) -> None:
    body = DEMO_TIERS.model_dump(mode="json")
    change(body)
    response = api.put("/v1/admin/tiers", key=demo.api_keys.admin, json_body=body)
    assert response.status == 422, response.body
    assert response.json()["type"].startswith("urn:pollen:problem:")
    assert api.get("/v1/admin/tiers", key=demo.api_keys.admin).json()["version"] == 0


def test_trigger_coins_count_for_coins_earned_and_upgrade_in_the_awards_transaction(
    demo: DemoStore, calls: CallCounter, table_name: str
) -> None:
    from pollen.services.triggers import award_trigger  # noqa: PLC0415

    tiers_on(_program(Metric.COINS_EARNED, Window(), ("150", "1000")))
    pay("1", "100.00")
    calls.reset()
    award_trigger(container(), "demo-store", "c1", "signup", now=NOW)  # 50 coins: 150 earned
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}
    view = customer_tier(container(), "demo-store", "c1", NOW)
    assert view.tier
    assert view.tier.tier_id == "silver"
    assert ledger()[-2:] == [("trigger", "reward", 50), ("tier", "reward", 50)]
    assert assert_ledgers_balance(table_name) == 1
