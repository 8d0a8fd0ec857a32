"""``make dev`` without internet: Klaviyo and Omnisend keys are checked against local fakes (a bad key
is a 422, the documented demo key is verified and its events delivered); a review request shows up
in the hourly schedule's result at ``/_local/schedules`` once the local clock has moved."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.local.fake_services import DEMO_KLAVIYO_KEY, DEMO_OMNISEND_KEY
from pollen.integrations.shopify.webhooks import sign
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _webhook(
    http: httpx.Client, stack: LocalStack, topic: str, customer: int, order_id: int
) -> dict[str, Any]:
    order = json.loads((FIXTURES / "orders_paid.json").read_text())
    order["id"] = order_id
    order["customer"]["id"] = customer
    raw = json.dumps(order).encode()
    response = http.post(
        "/webhooks/shopify",
        content=raw,
        headers={
            "content-type": "application/json",
            "x-shopify-topic": topic,
            "x-shopify-shop-domain": stack.demo["shopify"]["shop_domain"],
            "x-shopify-webhook-id": str(uuid.uuid4()),
            "x-shopify-hmac-sha256": sign(stack.demo["shopify"]["webhook_secret"], raw),
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("klaviyo", DEMO_KLAVIYO_KEY, "pk_not_the_demo_key_123"),
        ("omnisend", DEMO_OMNISEND_KEY, "wrong-key-42"),
    ],
)
def test_marketing_keys_are_checked_against_the_local_fakes_and_events_delivered(
    http: httpx.Client, stack: LocalStack, kind: str, good: str, bad: str
) -> None:
    admin = {"x-api-key": stack.key("admin")}
    integration_id = f"e2e-{kind}"
    body = {"kind": kind, "primary_selector": "email", "enabled": True}
    refused = http.put(
        f"/v1/admin/integrations/{integration_id}", headers=admin, json={**body, "api_key": bad}
    )
    assert refused.status_code == 422, refused.text
    assert "refused this API key" in refused.text
    saved = http.put(
        f"/v1/admin/integrations/{integration_id}", headers=admin, json={**body, "api_key": good}
    )
    assert saved.status_code in (200, 201), saved.text
    assert saved.json()["key_check"] == "verified"
    created = http.post(
        "/v1/admin/event-subscriptions",
        headers=admin,
        json={"event": "wallet_transaction", "integration_id": integration_id, "name_prefix": "Local "},
    )
    assert created.status_code == 201, created.text
    subscription_id = created.json()["subscription_id"]
    try:
        time.sleep(2.5)  # the local config cache lets go of the old config
        _webhook(
            http, stack, "orders/paid", 700_000 + uuid.uuid4().int % 100_000, uuid.uuid4().int % 10**12 + 1
        )

        def delivered() -> bool:
            log = http.get("/v1/admin/deliveries", headers=admin, params={"limit": 50}).json()["items"]
            return any(i["subscription_id"] == subscription_id and i["status"] == "delivered" for i in log)

        _wait_for(delivered, 60, f"a delivery to the {kind} fake")
    finally:
        http.delete(f"/v1/admin/event-subscriptions/{subscription_id}", headers=admin)
        http.delete(f"/v1/admin/integrations/{integration_id}", headers=admin)


def test_a_review_request_shows_up_in_the_hourly_schedule_after_seven_days(
    http: httpx.Client, stack: LocalStack
) -> None:
    customer, order_id = 800_000 + uuid.uuid4().int % 100_000, uuid.uuid4().int % 10**12 + 1
    _webhook(http, stack, "orders/paid", customer, order_id)
    scheduled = _webhook(http, stack, "orders/fulfilled", customer, order_id)
    assert scheduled["review_request"] == "scheduled", scheduled
    listed = http.get("/_local/schedules")
    assert listed.status_code == 200
    assert "ScheduledJobsFunction" in listed.text
    try:
        assert http.post("/_local/clock", json={"advance": "P8D"}).status_code == 200
        ran = http.post("/_local/schedules/ScheduledJobsFunction/Hourly")
        assert ran.status_code == 200, ran.text
        [expiry] = [r for r in ran.json()["results"] if r["job"] == "expiry"]
        assert "review request" in expiry["detail"]
        assert " sent" in expiry["detail"]
        again = http.post("/_local/schedules/ScheduledJobsFunction/Hourly").json()
        assert "review request" not in next(r for r in again["results"] if r["job"] == "expiry")["detail"]
    finally:
        http.post("/_local/clock", json={"reset": True})
