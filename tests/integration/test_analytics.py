"""Analytics on moto: the aggregator folds the real stream exactly once (twice and shuffled changes
nothing), the admin reports read one item per day, tracking dedupes and caps, rebuild == streamed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from infra.aws_resources import LocalResources
from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain.deliveries import AttemptLog, DeliveryStatus
from pollen.events.delivery import DeliveryMessage
from pollen.events.envelope import OutboxEvent
from pollen.services import rebuild
from pollen.services.container import container
from pollen.storage import client
from pollen.storage.client import call_counter
from tests.support.analytics import Aggregator
from tests.support.deliveries import routed_coupon_used
from tests.support.problems import problem

M = "demo-store"


@pytest.fixture
def agg(template: dict[str, Any], aws: LocalResources) -> Aggregator:
    return Aggregator(template, aws)


def _order(order_id: str, customer: str, total: str, codes: list[str] | None = None) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": customer,
        "currency": "USD",
        "lines": [{"line_id": "l-1", "quantity": 1, "unit_price": total}],
        "total": total,
        "discount_codes": codes or [],
        "created_at": utcnow().isoformat(),
    }


def _write_outbox(table: str, event: OutboxEvent) -> None:
    container().table.put(event.to_item())


def _pending_delivery(merchant_id: str) -> DeliveryMessage:
    """A ``coupon_used`` event's delivery to Klaviyo, logged as pending (what the router writes)."""
    message = routed_coupon_used(merchant_id)
    container().deliveries.create_pending([message], now=utcnow())
    return message


def store_activity(api: InProcessApi, demo: DemoStore) -> dict[str, str]:
    """A day of a small store: sign-ups, orders (plain, coupon, cancelled), a redemption and a cancelled
    one, an adjustment both ways, a trigger, tracked events and delivery attempts."""
    admin, write, read = demo.api_keys.admin, demo.api_keys.write, demo.api_keys.read
    for cid in ("c-1", "c-2"):
        assert (
            api.put(f"/v1/customers/{cid}", key=write, json_body={"email": f"{cid}@example.com"}).status
            == 201
        )
    assert api.post(
        "/v1/admin/customers/c-1/adjustments", key=admin, json_body={"coins": 400, "reason": "gift"}
    ).status in (200, 201)
    redeemed = api.post(
        "/v1/customers/c-1/redemptions", key=write, json_body={"reward_id": "five-off", "channel": "email"}
    )
    assert redeemed.status == 201, redeemed.body
    code = redeemed.json()["coupon"]["code"]
    second = api.post(
        "/v1/customers/c-1/redemptions", key=write, json_body={"reward_id": "five-off", "channel": "widget"}
    )
    assert api.delete(f"/v1/customers/c-1/coupons/{second.json()['coupon']['code']}", key=write).status in (
        200,
        204,
    )
    assert api.post("/v1/orders", key=write, json_body=_order("o-1", "c-1", "40.00", [code])).status == 200
    assert api.post("/v1/orders/o-1/paid", key=write).status == 200
    assert api.post("/v1/orders", key=write, json_body=_order("o-2", "c-2", "25.50")).status == 200
    assert api.post("/v1/orders/o-2/paid", key=write).status == 200
    assert api.post("/v1/orders", key=write, json_body=_order("o-3", "c-2", "10.00")).status == 200
    assert api.post("/v1/orders/o-3/paid", key=write).status == 200
    assert api.post("/v1/orders/o-3/cancel", key=write).status == 200
    assert api.post(
        "/v1/admin/customers/c-2/adjustments", key=admin, json_body={"coins": -10, "reason": "fix"}
    ).status in (200, 201)
    tracked = api.post(
        "/v1/events/track",
        key=read,
        json_body={
            "events": [
                {"id": "e-1", "type": "widget_opened"},
                {"id": "e-2", "type": "widget_clicked", "customer_id": "c-1"},
                {"id": "e-3", "type": "referral_link_copied", "customer_id": "c-1"},
            ]
        },
    )
    assert tracked.status == 202, tracked.body
    log = container().deliveries
    message = _pending_delivery(demo.merchant_id)
    log.record_attempt(
        message,
        AttemptLog(attempt=1, at=utcnow(), outcome="retry", http_status=503),
        DeliveryStatus.RETRYING,
        now=utcnow(),
    )
    log.record_attempt(
        message,
        AttemptLog(attempt=2, at=utcnow(), outcome="delivered", http_status=202),
        DeliveryStatus.DELIVERED,
        now=utcnow(),
    )
    return {"code": code}


def _metrics(body: dict[str, Any]) -> dict[str, Any]:
    return {m["name"]: m["current"] for m in body["metrics"]}


def test_twice_shuffled_and_split_gives_identical_rollups(
    api: InProcessApi, demo: DemoStore, agg: Aggregator
) -> None:
    store_activity(api, demo)
    agg.drain()
    streamed = agg.rollups(demo.merchant_id)
    assert streamed, "the aggregator wrote nothing"
    records = list(agg.records)
    assert len(records) > 20

    agg.feed(records, batch=48)  # a replay of the whole stream
    assert agg.rollups(demo.merchant_id) == streamed

    agg.forget(demo.merchant_id)
    agg.feed(records + records, batch=7, seed=11)  # every record twice, shuffled, small batches
    assert agg.rollups(demo.merchant_id) == streamed
    agg.forget(demo.merchant_id)
    agg.feed(records + records, batch=48, seed=3)
    assert agg.rollups(demo.merchant_id) == streamed


def test_summary_counts_the_day(api: InProcessApi, demo: DemoStore, agg: Aggregator) -> None:
    store_activity(api, demo)
    agg.drain()
    call_counter.reset()
    response = api.get("/v1/admin/analytics/summary", key=demo.api_keys.admin, query={"range": "today"})
    assert response.status == 200, response.body
    body = response.json()
    m = _metrics(body)
    assert (m["orders"], m["revenue"]) == (3, "75.50")
    assert (m["attributed_orders"], m["attributed_revenue"], m["attributed_aov"]) == (1, "40.00", "40.00")
    assert (m["coupons_redeemed"], m["coupons_used"], m["coupon_use_rate"]) == (2, 1, "50.00")
    assert (m["widget_opens"], m["widget_clicks"], m["referral_shares"]) == (1, 1, 1)
    assert m["sign_ups"] == 2
    assert (m["events_sent"], m["events_delivered"], m["events_failed"]) == (2, 1, 1)
    wallets = sum(
        api.get(f"/v1/customers/{c}/wallet", key=demo.api_keys.read).json()["balance"] for c in ("c-1", "c-2")
    )
    assert m["liability_coins"] == wallets
    assert Decimal(m["liability_value"]) == wallets * Decimal(body["coin_value"])
    by_source = {r["key"]: r["current"] for r in body["breakdowns"]["attributed_revenue_by_source"]}
    assert by_source["email"] == "40.00"
    assert body["range"]["timezone"] == "UTC"
    assert body["previous_range"]["days"] == 1


def test_rebuild_equals_streamed(api: InProcessApi, demo: DemoStore, agg: Aggregator) -> None:
    store_activity(api, demo)
    agg.drain()
    streamed = agg.rollups(demo.merchant_id)
    agg.forget(demo.merchant_id)
    c = container()
    tomorrow = utcnow() + timedelta(days=1)
    today = utcnow().date()
    job = rebuild.start(
        c, demo.merchant_id, today - timedelta(days=2), today, tomorrow, max_pages=1, page_items=25
    )
    assert job["status"] == "running"
    while job["status"] != "done":
        job = rebuild.resume(c, demo.merchant_id, job["job_id"], tomorrow, max_pages=1, page_items=25)
    assert job["pages_scanned"] > 1
    rebuilt = agg.rollups(demo.merchant_id)
    stream_only = ("n:sign_ups",)
    expected = {
        sk: {k: v for k, v in counters.items() if not k.startswith("sign_ups")}
        for sk, counters in streamed.items()
    }
    assert rebuilt == expected, stream_only


def test_summary_and_series_read_one_query_and_bad_ranges_are_422(
    api: InProcessApi, demo: DemoStore, agg: Aggregator
) -> None:
    store_activity(api, demo)
    agg.drain()
    admin = demo.api_keys.admin
    c = container()
    from pollen.services import analytics  # noqa: PLC0415

    call_counter.reset()
    analytics.summary(c, demo.merchant_id, analytics.RangeQuery("90d"), utcnow())
    assert call_counter.snapshot() == {"Query": 1}
    call_counter.reset()
    analytics.series(
        c,
        demo.merchant_id,
        ["orders"],
        analytics.RangeQuery("30d", offset=-1),
        granularity="week",
        now=utcnow(),
    )
    assert call_counter.snapshot() == {"Query": 1}

    today = utcnow().date()
    series = api.get(
        "/v1/admin/analytics/series",
        key=admin,
        query={"metrics": "orders,revenue,liability_coins", "range": "7d", "granularity": "day"},
    ).json()
    assert series["metrics"] == ["orders", "revenue", "liability_coins"]
    assert [p["start"] for p in series["points"]][-1] == today.isoformat()
    assert series["points"][-1]["values"]["orders"] == 3
    assert series["points"][-1]["values"]["revenue"] == "75.50"
    assert series["points"][0]["values"] == {"orders": 0, "revenue": "0.00", "liability_coins": 0}
    monthly = api.get(
        "/v1/admin/analytics/series",
        key=admin,
        query={"metrics": "orders", "range": "90d", "granularity": "month"},
    ).json()
    assert sum(p["values"]["orders"] for p in monthly["points"]) == 3
    assert all(
        p["start"] == monthly["range"]["from"] or p["start"].endswith("-01") for p in monthly["points"]
    )

    back = api.get("/v1/admin/analytics/summary", key=admin, query={"range": "7d", "offset": "-1"}).json()
    assert back["range"]["to"] == (today - timedelta(days=7)).isoformat()
    assert _metrics(back)["orders"] == 0
    assert _metrics(back)["liability_coins"] == 0

    csv = api.get("/v1/admin/analytics/export", key=admin, query={"format": "csv", "range": "7d"})
    assert csv.status == 200
    assert csv.content_type.startswith("text/csv")
    lines = csv.body.decode().splitlines()
    assert lines[0].startswith("date,orders,revenue,")
    assert len(lines) == 8
    assert lines[-1].startswith(f"{today.isoformat()},3,75.50,")

    for query in (
        {"range": "custom", "from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat()},
        {"range": "custom", "from": (today - timedelta(days=400)).isoformat(), "to": today.isoformat()},
        {"range": "custom", "from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()},
        {"range": "custom", "from": today.isoformat()},
        {"range": "7d", "offset": "1"},
        {"range": "yesterday"},
    ):
        problem(api.get("/v1/admin/analytics/summary", key=admin, query=query), 422)
    assert api.get("/v1/admin/analytics/series", key=admin, query={"metrics": "nope"}).status == 422
    assert api.get("/v1/admin/analytics/summary", key=demo.api_keys.write).status == 403
    assert api.get("/v1/admin/analytics/summary", key="pollen.demo-store.x.y").status == 401


def test_custom_range_and_previous_period(api: InProcessApi, demo: DemoStore, agg: Aggregator) -> None:
    store_activity(api, demo)
    agg.drain()
    today = utcnow().date()
    body = api.get(
        "/v1/admin/analytics/summary",
        key=demo.api_keys.admin,
        query={"range": "custom", "from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()},
    ).json()
    assert body["range"]["days"] == 3
    assert body["previous_range"] == {
        "from": (today - timedelta(days=5)).isoformat(),
        "to": (today - timedelta(days=3)).isoformat(),
        "days": 3,
    }
    orders = next(m for m in body["metrics"] if m["name"] == "orders")
    assert orders == {
        "name": "orders",
        "label": "Orders",
        "group": "orders",
        "unit": "count",
        "current": 3,
        "previous": 0,
        "delta": 3,
        "delta_percent": None,
    }


def test_track_dedupes_caps_and_writes_once_per_batch(
    api: InProcessApi, demo: DemoStore, agg: Aggregator
) -> None:
    read = demo.api_keys.read
    events = [{"id": f"t-{i}", "type": "widget_opened", "customer_id": "c-9"} for i in range(50)]
    call_counter.reset()
    first = api.post("/v1/events/track", key=read, json_body={"events": events})
    assert (first.status, first.json()) == (202, {"accepted": 50, "duplicates": 0, "capped": 0})
    again = api.post("/v1/events/track", key=read, json_body={"events": events[:10] + events[:1]})
    assert again.json() == {"accepted": 0, "duplicates": 11, "capped": 0}
    more = [{"id": f"u-{i}", "type": "widget_clicked", "customer_id": "c-9"} for i in range(50)]
    assert api.post("/v1/events/track", key=read, json_body={"events": more}).json()["accepted"] == 50
    over = [{"id": f"v-{i}", "type": "widget_clicked", "customer_id": "c-9"} for i in range(3)]
    over.append({"id": "anon-1", "type": "widget_opened"})
    assert api.post("/v1/events/track", key=read, json_body={"events": over}).json() == {
        "accepted": 1,
        "duplicates": 0,
        "capped": 3,
    }
    assert api.post("/v1/events/track", key=read, json_body={"events": over[-1:]}).json()["duplicates"] == 1
    bad: dict[str, Any]
    for bad in (
        {"events": []},
        {"events": [{"id": "x", "type": "order_placed"}]},
        {"events": [{"id": f"x{i}", "type": "widget_opened"} for i in range(51)]},
    ):
        assert api.post("/v1/events/track", key=read, json_body=bad).status == 422
    agg.drain()
    totals = _metrics(
        api.get("/v1/admin/analytics/summary", key=demo.api_keys.admin, query={"range": "today"}).json()
    )
    assert (totals["widget_opens"], totals["widget_clicks"]) == (51, 50)


def test_track_costs_one_read_and_one_write(demo: DemoStore) -> None:
    from pollen.services import analytics  # noqa: PLC0415

    events = [
        analytics.TrackInput(id=f"k-{i}", type="widget_opened", customer_id=f"c-{i % 5}") for i in range(40)
    ]
    events += [analytics.TrackInput(id=f"a-{i}", type="widget_clicked") for i in range(10)]
    container().config.get(demo.merchant_id)  # a warm container: the program is cached
    call_counter.reset()
    outcome = analytics.track(container(), demo.merchant_id, events, utcnow())
    assert outcome.accepted == 50
    assert call_counter.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}


def test_aggregator_writes_each_day_once_per_batch_and_ignores_unknown_events(
    api: InProcessApi, demo: DemoStore, agg: Aggregator
) -> None:
    agg.drain()  # what setting up the store wrote (and a warm config cache)
    c = container()
    now = utcnow()
    for i in range(40):
        c.table.put(
            OutboxEvent(
                event_type="customer_created",
                merchant_id=M,
                customer_id=f"x-{i}",
                occurred_at=now - timedelta(days=i % 2),
                payload={},
            ).to_item()
        )
    c.table.put(
        OutboxEvent(event_type="something_new", merchant_id=M, occurred_at=now, payload={"a": 1}).to_item()
    )
    c.table.put(
        OutboxEvent(
            event_type="tier_changed",
            merchant_id=M,
            customer_id="x-1",
            occurred_at=now,
            payload={"from": "silver", "to": "gold", "direction": "up"},
        ).to_item()
    )
    agg.records.clear()
    agg.calls.clear()
    sent: list[list[dict[str, Any]]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params["TransactItems"])

    ddb = client.dynamodb()
    ddb.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", record)
    try:
        agg.drain()
    finally:
        ddb.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", record)
    assert len(agg.records) == 42
    # one batch, one transaction: one update per day touched, one per minute of the facts' event ids
    # (their tokens: the proof each counted once), nothing else
    assert agg.calls == [{"TransactWriteItems": 1}]
    updates = [i["Update"]["Key"]["SK"]["S"] for i in sent[0] if "Update" in i]
    days = [u for u in updates if u.startswith("D#")]
    assert sorted(days) == sorted({f"D#{now.date()}", f"D#{(now - timedelta(days=1)).date()}"})
    minutes = [i["Update"] for i in sent[0] if "Update" in i and i["Update"]["Key"]["SK"]["S"] == "SEEN"]
    assert 1 <= len(minutes) <= 2
    assert len(updates) == len(days) + len(minutes)
    assert not any("Put" in i for i in sent[0])
    tokens = sum(len(m["ExpressionAttributeValues"][":ids"]["SS"]) for m in minutes)
    assert tokens == 41  # the unknown event is ignored, not counted
    rollups = agg.rollups(M)
    assert rollups[f"D#{now.date().isoformat()}"]["sign_ups"] == 20
    assert rollups[f"D#{(now - timedelta(days=1)).date().isoformat()}"]["sign_ups"] == 20
    assert (
        rollups[f"D#{now.date().isoformat()}"]["tier_changes"],
        rollups[f"D#{now.date().isoformat()}"]["tier_upgrades"],
    ) == (1, 1)


def test_days_follow_the_merchant_timezone(api: InProcessApi, demo: DemoStore, agg: Aggregator) -> None:
    admin = demo.api_keys.admin
    program = api.get("/v1/admin/program", key=admin).json()
    assert program["timezone"] == "UTC"
    settings = {k: v for k, v in program.items() if k not in ("version", "updated_at")}
    bad = api.put("/v1/admin/program", key=admin, json_body={**settings, "timezone": "Mars/Olympus"})
    assert bad.status == 422
    assert (
        api.put(
            "/v1/admin/program", key=admin, json_body={**settings, "timezone": "Pacific/Kiritimati"}
        ).status
        == 200
    )
    from pollen.services.container import reset_container  # noqa: PLC0415

    reset_container()
    now = utcnow()
    c = container()
    # 23:30 UTC yesterday is already today (UTC+14) in Kiritimati
    late = now.replace(hour=23, minute=30) - timedelta(days=1)
    c.table.put(
        OutboxEvent(
            event_type="customer_created", merchant_id=M, customer_id="tz-1", occurred_at=late, payload={}
        ).to_item()
    )
    agg.drain()
    from pollen.domain.analytics import local_day  # noqa: PLC0415

    assert f"D#{local_day(late, 'Pacific/Kiritimati').isoformat()}" in agg.rollups(M)
    assert local_day(late, "Pacific/Kiritimati") == late.date() + timedelta(days=1)


@pytest.mark.usefixtures("aws")
def test_the_aggregator_accepts_its_delivery_sample() -> None:
    from tests.integration.test_consumer_functions import _invoke  # noqa: PLC0415
    from tests.support.events import load_event  # noqa: PLC0415

    assert _invoke("analytics_aggregator", load_event("analytics_aggregator_delivery_attempt")) == {
        "batchItemFailures": []
    }
    days = container().table.query_all("M#demo-store#ROLLUP")
    assert [(d["SK"], d["n:events_delivered"], d["n:comm_integration:klaviyo-main:sent"]) for d in days] == [
        ("D#2025-11-23", 1, 1)
    ]


def _all_balances(table_name: str) -> int:
    import boto3  # noqa: PLC0415

    from pollen.storage.codec import deserialize  # noqa: PLC0415

    items = [deserialize(i) for i in boto3.client("dynamodb").scan(TableName=table_name)["Items"]]
    return sum(
        int(i["wallet"]["balance"])
        for i in items
        if i.get("entity") == "customer" and i["PK"].startswith(f"M#{M}#")
    )


def test_demo_store_acceptance(api: InProcessApi, demo: DemoStore, agg: Aggregator, table_name: str) -> None:
    """The issue's demo: 3 orders (an email coupon, a referral code, a plain one), a redemption, a
    tracked widget open; then the whole stream replayed changes no number."""
    write, admin = demo.api_keys.write, demo.api_keys.admin
    assert api.put("/v1/customers/c-1", key=write, json_body={"email": "ann@example.com"}).status == 201
    assert api.post(
        "/v1/admin/customers/c-1/adjustments", key=admin, json_body={"coins": 300, "reason": "welcome"}
    ).status in (200, 201)
    coupon = api.post(
        "/v1/customers/c-1/redemptions", key=write, json_body={"reward_id": "five-off", "channel": "email"}
    )
    code = coupon.json()["coupon"]["code"]
    assert (
        api.post("/v1/orders", key=write, json_body=_order("o-email", "c-1", "50.00", [code])).status == 200
    )
    assert api.post("/v1/orders", key=write, json_body=_order("o-plain", "c-1", "20.00")).status == 200
    # the referrals work attributes orders in the order's own transaction; its event, as it will emit it:
    container().table.put(
        OutboxEvent(
            event_type="order_updated",
            merchant_id=M,
            customer_id="c-2",
            occurred_at=utcnow(),
            payload={
                "order_id": "o-ref",
                "status": "paid",
                "currency": "USD",
                "total": "30.00",
                "attributions": [{"source": "referral", "code": "ANN-REF", "referrer_customer_id": "c-1"}],
            },
        ).to_item()
    )
    assert (
        api.post(
            "/v1/events/track",
            key=demo.api_keys.read,
            json_body={"events": [{"id": "w-1", "type": "widget_opened"}]},
        ).status
        == 202
    )
    agg.drain()
    body = api.get("/v1/admin/analytics/summary", key=admin, query={"range": "today"}).json()
    m = _metrics(body)
    assert (m["orders"], m["revenue"], m["attributed_orders"], m["attributed_revenue"]) == (
        3,
        "100.00",
        2,
        "80.00",
    )
    assert m["attributed_aov"] == "40.00"
    by_source = {r["key"]: r["current"] for r in body["breakdowns"]["attributed_revenue_by_source"]}
    assert (by_source["email"], by_source["referral"], by_source["widget"]) == ("50.00", "30.00", "0.00")
    assert (m["coins_credited"], m["coins_redeemed"]) == (300, 100)  # orders not yet paid: no coins
    assert (m["coupons_redeemed"], m["coupons_used"], m["widget_opens"]) == (1, 1, 1)
    balances = _all_balances(table_name)
    assert balances == 200
    assert (m["liability_coins"], Decimal(m["liability_value"])) == (
        balances,
        balances * Decimal(body["coin_value"]),
    )

    records = list(agg.records)
    agg.feed(records, batch=48, seed=5)  # the whole stream, a second time
    assert api.get("/v1/admin/analytics/summary", key=admin, query={"range": "today"}).json() == body


def test_rebuild_over_the_api_reports_progress(api: InProcessApi, demo: DemoStore) -> None:
    admin = demo.api_keys.admin
    today = utcnow().date()
    bad = api.post(
        "/v1/admin/analytics/rebuild",
        key=admin,
        json_body={"from": today.isoformat(), "to": today.isoformat()},
    )
    assert bad.status == 422
    assert bad.json()["errors"][0]["field"] == "to"
    yesterday = (today - timedelta(days=1)).isoformat()
    started = api.post(
        "/v1/admin/analytics/rebuild",
        key=admin,
        json_body={"from": (today - timedelta(days=3)).isoformat(), "to": yesterday},
    )
    assert started.status == 202, started.body
    job = started.json()
    assert (job["status"], job["from"], job["to"], job["timezone"]) == (
        "done",
        (today - timedelta(days=3)).isoformat(),
        yesterday,
        "UTC",
    )
    assert job["pages_scanned"] >= 1
    assert job["days_written"] == 3
    again = api.get(f"/v1/admin/analytics/rebuild/{job['job_id']}", key=admin).json()
    assert again == job
    resumed = api.post(f"/v1/admin/analytics/rebuild/{job['job_id']}/resume", key=admin)
    assert resumed.json()["status"] == "done"
    missing = api.get("/v1/admin/analytics/rebuild/01JNF5A1B2C3D4E5F6G7H8J9K0", key=admin)
    assert missing.status == 404
    assert api.post("/v1/admin/analytics/rebuild", key=demo.api_keys.write, json_body={}).status == 403


def test_an_order_counts_once_from_its_first_image_with_data_and_an_older_one_by_its_marker(
    api: InProcessApi, demo: DemoStore, agg: Aggregator
) -> None:
    from pollen.storage.keys import order_key, rollup_marker_key  # noqa: PLC0415

    write = demo.api_keys.write
    assert api.put("/v1/customers/c-9", key=write, json_body={"email": "c9@example.com"}).status == 201
    assert api.post("/v1/orders", key=write, json_body=_order("o-new", "c-9", "12.00")).status == 200
    assert api.post("/v1/orders/o-new/paid", key=write).status == 200
    c = container()
    item = c.table.get(order_key(M, "o-new"), consistent=True)
    assert item is not None
    assert item["data_since"] == 1
    assert item["version"] == 2
    # An order whose data came before data_since was kept: every image is sent, its marker counts one.
    old = {k: v for k, v in item.items() if k != "data_since"}
    old.update(order_key(M, "o-old").as_dict(), order_id="o-old", version=1)
    c.table.put(old)
    c.table.put({**old, "version": 2, "updated_at": utcnow().isoformat()})
    agg.drain()
    today = f"D#{utcnow().date().isoformat()}"
    streamed = agg.rollups(M)
    assert streamed[today]["orders"] == 2
    assert streamed[today]["revenue"] == Decimal("24.00")
    assert c.table.get(rollup_marker_key(M, "order:o-old")) is not None
    assert c.table.get(rollup_marker_key(M, "order:o-new")) is None  # its one image's token proves it

    records = list(agg.records)
    agg.feed(records, batch=5)  # redelivered: nothing changes
    assert agg.rollups(M) == streamed
    agg.forget(M)
    agg.feed(records + records, batch=3, seed=5)
    assert agg.rollups(M) == streamed


def test_an_attempt_logged_twice_counts_once(api: InProcessApi, demo: DemoStore, agg: Aggregator) -> None:
    """A delivery whose message came back after its attempt was logged (the consumer died before
    deleting it) logs the same attempt again, minutes later: the attempt counts once."""
    agg.drain()
    log = container().deliveries
    message = _pending_delivery(demo.merchant_id)
    for minutes in (0, 7):
        at = utcnow() + timedelta(minutes=minutes)
        log.record_attempt(
            message,
            AttemptLog(attempt=1, at=at, outcome="delivered", http_status=202),
            DeliveryStatus.DELIVERED,
            now=at,
        )
    agg.drain()
    days = agg.rollups(M)
    assert sum(int(d.get("events_sent", 0)) for d in days.values()) == 1
