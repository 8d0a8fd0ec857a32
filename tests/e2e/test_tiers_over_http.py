"""The VIP tiers issue's acceptance over HTTP against `make dev`'s stack, with the demo store's tiers
(Silver: spend 100, x1.5, 50 entry coins; Gold: spend 500, x2) and the stack's clock moved forward."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import httpx
import pytest

from infra.seed import DEMO_TIERS
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e
CONFIG_TTL_SECONDS = 2.5  # the local stack's config cache (2 s), and a little more


@pytest.fixture
def demo_tiers(http: httpx.Client, stack: LocalStack) -> Iterator[None]:
    """The demo store's tiers, as `make dev` seeds them; removed again (and the clock reset) after."""
    admin = {"x-api-key": stack.key("admin")}
    current = http.get("/v1/admin/tiers", headers=admin)
    put = http.put(
        "/v1/admin/tiers",
        json=DEMO_TIERS.model_dump(mode="json"),
        headers={**admin, "if-match": current.headers["etag"]},
    )
    assert put.status_code == 200, put.text
    time.sleep(CONFIG_TTL_SECONDS)
    try:
        yield
    finally:
        http.post("/_local/clock", json={"reset": True})
        http.put("/v1/admin/tiers", json={"tiers": []}, headers=admin)
        time.sleep(CONFIG_TTL_SECONDS)


def _order(customer: str, order_id: str, amount: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": customer,
        "email": f"{customer}@example.com",
        "currency": "USD",
        "lines": [{"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_price": amount}],
        "total": amount,
        "paid": True,
    }


def _events(stack: LocalStack, customer: str, event_type: str) -> list[dict[str, Any]]:
    ddb = boto3.resource(
        "dynamodb",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (table,) = [t for t in ddb.tables.all() if "PollenTable" in t.name]
    items = table.query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :evt)",
        ExpressionAttributeValues={":pk": f"M#demo-store#C#{customer}", ":evt": "EVT#"},
    )["Items"]
    return [dict(i["payload"]) for i in items if i["event_type"] == event_type]  # type: ignore[arg-type]


def _run_daily(http: httpx.Client, day: date) -> dict[str, Any]:
    moved = http.post("/_local/clock", json={"set": f"{day.isoformat()}T12:00:00Z"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["now"].startswith(day.isoformat())
    ran = http.post("/_local/schedules/ScheduledJobsFunction/Daily")
    assert ran.status_code == 200, ran.text
    (tiers,) = [r for r in ran.json()["results"] if r["job"] == "tiers"]
    return dict(tiers)


def test_silver_entry_bonus_cart_refund_warning_and_downgrade(
    http: httpx.Client, stack: LocalStack, demo_tiers: None
) -> None:
    customer = f"vip-{uuid.uuid4().hex[:10]}"
    write, read = {"x-api-key": stack.key("write")}, {"x-api-key": stack.key("read")}
    first, second = f"{customer}-1", f"{customer}-2"

    assert http.post("/v1/orders", json=_order(customer, first, "120.00"), headers=write).status_code in {
        200,
        201,
    }
    history = http.get(f"/v1/customers/{customer}/transactions", headers=read).json()["items"]
    assert [(t["source"], t["coins"]) for t in reversed(history)] == [("order", 120), ("tier", 50)]
    tier = http.get(f"/v1/customers/{customer}/tier", headers=read).json()
    assert (tier["tier"]["tier_id"], tier["next_tier"]["tier_id"]) == ("silver", "gold")
    assert tier["progress"] == {"metric": "spend", "current": "120.00", "needed": "380.00", "percent": 24}
    assert [(e["from"], e["to"], e["direction"]) for e in _events(stack, customer, "tier_changed")] == [
        (None, "silver", "up")
    ]

    cart = http.post(
        "/v1/cart/coins",
        json={
            "customer_id": customer,
            "currency": "USD",
            "lines": [{"product_id": "p-1", "quantity": 1, "unit_price": "100.00"}],
        },
        headers=read,
    ).json()
    assert (cart["coins"], cart["multiplier"]) == (150, "1.5")
    before = http.get(f"/v1/customers/{customer}/wallet", headers=read).json()["balance"]
    assert http.post("/v1/orders", json=_order(customer, second, "100.00"), headers=write).status_code in {
        200,
        201,
    }
    after = http.get(f"/v1/customers/{customer}/wallet", headers=read).json()["balance"]
    assert after - before == cart["coins"] == 150

    refund = {"refund_id": "r-1", "lines": [{"line_id": "l-1", "quantity": 1, "subtotal": "120.00"}]}
    assert http.post(f"/v1/orders/{first}/refunds", json=refund, headers=write).status_code == 200
    tier = http.get(f"/v1/customers/{customer}/tier", headers=read).json()
    assert tier["tier"]["tier_id"] == "silver"  # kept through retention
    assert tier["progress"]["current"] == "100.00"
    # 100 still reaches Silver (threshold 100): one more refunded unit drops below it
    refund = {"refund_id": "r-2", "lines": [{"line_id": "l-1", "quantity": 1, "subtotal": "1.00"}]}
    assert http.post(f"/v1/orders/{second}/refunds", json=refund, headers=write).status_code == 200
    tier = http.get(f"/v1/customers/{customer}/tier", headers=read).json()
    assert tier["tier"]["tier_id"] == "silver"
    expires = date.fromisoformat(tier["expires_on"])
    today = date.fromisoformat(http.get("/_local/clock").json()["now"][:10])
    assert expires == today + timedelta(days=DEMO_TIERS.retention_days)

    assert (
        _run_daily(http, expires - timedelta(days=DEMO_TIERS.downgrade_warning_days))["detail"] == "1 warned"
    )
    (warning,) = _events(stack, customer, "tier_expiring")
    assert (warning["tier"], warning["expires_on"], warning["days_left"]) == (
        "silver",
        expires.isoformat(),
        7,
    )
    assert _run_daily(http, expires)["detail"] == "1 tier_down"
    tier = http.get(f"/v1/customers/{customer}/tier", headers=read).json()
    assert tier["tier"] is None
    assert tier["next_tier"]["tier_id"] == "silver"
    changes = [(e["from"], e["to"], e["direction"]) for e in _events(stack, customer, "tier_changed")]
    assert changes == [(None, "silver", "up"), ("silver", None, "down")]
