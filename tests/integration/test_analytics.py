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
from pollen.storage.client import call_counter
from tests.support.analytics import Aggregator

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


def store_activity(api: InProcessApi, demo: DemoStore) -> dict[str, str]:
    """A day of a small store: sign-ups, orders (plain, coupon, cancelled), a redemption and a cancelled
    one, an adjustment both ways, a trigger, tracked events and delivery attempts."""
    admin, write, read = demo.api_keys.admin, demo.api_keys.write, demo.api_keys.read
    for cid in ("c-1", "c-2"):
        assert api.put(f"/v1/customers/{cid}", key=write, json_body={"email": f"{cid}@example.com"}).status == 201
    assert api.post("/v1/admin/customers/c-1/adjustments", key=admin, json_body={"coins": 400, "reason": "gift"}).status in (200, 201)
    redeemed = api.post("/v1/customers/c-1/redemptions", key=write, json_body={"reward_id": "five-off", "channel": "email"})
    assert redeemed.status == 201, redeemed.body
    code = redeemed.json()["coupon"]["code"]
    second = api.post("/v1/customers/c-1/redemptions", key=write, json_body={"reward_id": "five-off", "channel": "widget"})
    assert api.delete(f"/v1/customers/c-1/coupons/{second.json()['coupon']['code']}", key=write).status in (200, 204)
    assert api.post("/v1/orders", key=write, json_body=_order("o-1", "c-1", "40.00", [code])).status == 200
    assert api.post("/v1/orders/o-1/paid", key=write).status == 200
    assert api.post("/v1/orders", key=write, json_body=_order("o-2", "c-2", "25.50")).status == 200
    assert api.post("/v1/orders/o-2/paid", key=write).status == 200
    assert api.post("/v1/orders", key=write, json_body=_order("o-3", "c-2", "10.00")).status == 200
    assert api.post("/v1/orders/o-3/paid", key=write).status == 200
    assert api.post("/v1/orders/o-3/cancel", key=write).status == 200
    assert api.post("/v1/admin/customers/c-2/adjustments", key=admin, json_body={"coins": -10, "reason": "fix"}).status in (200, 201)
    tracked = api.post(
        "/v1/events/track",
        key=read,
        json_body={"events": [
            {"id": "e-1", "type": "widget_opened"},
            {"id": "e-2", "type": "widget_clicked", "customer_id": "c-1"},
            {"id": "e-3", "type": "referral_link_copied", "customer_id": "c-1"},
        ]},
    )
    assert tracked.status == 202, tracked.body
    log = container().deliveries
    event = OutboxEvent(event_type="coupon_used", merchant_id=demo.merchant_id, occurred_at=utcnow())
    message = DeliveryMessage(
        delivery_id=f"{event.event_id}.s-1", merchant_id=demo.merchant_id, subscription_id="s-1",
        integration_id="klaviyo-main", event=event, routed_at=utcnow(),
    )
    log.create_pending([message], now=utcnow())
    log.record_attempt(message, AttemptLog(attempt=1, at=utcnow(), outcome="retry", http_status=503),
                       DeliveryStatus.RETRYING, now=utcnow())
    log.record_attempt(message, AttemptLog(attempt=2, at=utcnow(), outcome="delivered", http_status=202),
                       DeliveryStatus.DELIVERED, now=utcnow())
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
    job = rebuild.start(c, demo.merchant_id, today - timedelta(days=2), today, tomorrow, max_pages=1, page_items=25)
    assert job["status"] == "running"
    while job["status"] != "done":
        job = rebuild.resume(c, demo.merchant_id, job["job_id"], tomorrow, max_pages=1, page_items=25)
    assert job["pages_scanned"] > 1
    rebuilt = agg.rollups(demo.merchant_id)
    stream_only = ("n:sign_ups",)
    expected = {
        sk: {k: v for k, v in counters.items() if not k.startswith("sign_ups")} for sk, counters in streamed.items()
    }
    assert rebuilt == expected, stream_only
