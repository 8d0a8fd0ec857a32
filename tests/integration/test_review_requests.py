"""Issue 16.8: a ``review_request`` event some days after an order is fulfilled (or paid), once per
order, not for orders cancelled or refunded in full, with the order's products.

Time moves by running the due-items job at a later ``now`` (the local clock in ``make dev``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from infra.aws_resources import LocalResources
from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain.program import ProgramSettings
from pollen.domain.reviews import ReviewRequests
from pollen.services.container import container, reset_container
from pollen.services.expiry import run_due
from pollen.services.program import get_program, update_program
from pollen.storage.client import CallCounter
from tests.integration.test_redemption_api import items
from tests.integration.test_shopify_webhook_api import CUSTOMER, ORDER, body_of, deliver
from tests.support.flow import Flow, Receiver, configure, subscription, webhook
from tests.support.ledger import assert_ledgers_balance


def review_events(table_name: str) -> list[dict[str, Any]]:
    return [i for i in items(table_name) if i.get("event_type") == "review_request"]


def review_item(table_name: str) -> dict[str, Any]:
    [item] = [i for i in items(table_name) if i.get("entity") == "review_request"]
    return item


def set_reviews(demo: DemoStore, **changes: Any) -> None:
    c = container()
    program = get_program(c, demo.merchant_id)
    settings = ProgramSettings(**program.model_dump(exclude={"version", "updated_at"}))
    reviews = ReviewRequests(**{**settings.reviews.model_dump(), **changes})
    update_program(c, demo.merchant_id, settings.model_copy(update={"reviews": reviews}), now=utcnow())


def later(days: int, hours: int = 1) -> datetime:
    return utcnow() + timedelta(days=days, hours=hours)


def test_fulfilled_order_gets_one_review_request_seven_days_later_with_its_products(
    api: InProcessApi, demo: DemoStore, table_name: str, calls: CallCounter
) -> None:
    assert deliver(api, demo, "orders/paid").status == 200
    assert deliver(api, demo, "orders/fulfilled").json()["review_request"] == "scheduled"
    first = review_item(table_name)
    assert first["status"] == "pending"
    assert first["basis"] == "fulfilled"
    assert first["GSI1PK"].startswith("DUE#")  # in the due index, not found by a scan
    calls.reset()
    again = deliver(api, demo, "orders/fulfilled")
    assert again.json()["review_request"] == "already_scheduled"
    assert calls.snapshot() == {"PutItem": 1}  # one conditional put; the config is cached

    assert "review request" not in run_due(later(6, hours=0)).detail  # not due yet
    assert review_events(table_name) == []
    ran = run_due(later(7))
    assert "1 review request sent" in ran.detail
    [event] = review_events(table_name)
    payload = event["payload"]
    assert payload["order_id"] == ORDER
    assert payload["basis"] == "fulfilled"
    assert payload["days"] == 7
    assert payload["customer"]["customer_id"] == CUSTOMER
    assert payload["products"] == [  # the gift card is not something to review
        {
            "product_id": "632910392",
            "variant_id": "808950810",
            "title": "Merino Crew Sweater",
            "variant_title": "Navy / M",
            "quantity": 2,
            "image_url": None,
            "url": None,
        },
        {
            "product_id": payload["products"][1]["product_id"],
            "variant_id": payload["products"][1]["variant_id"],
            "title": "Canvas Tote Bag",
            "variant_title": None,
            "quantity": 1,
            "image_url": None,
            "url": None,
        },
    ]
    done = review_item(table_name)
    assert done["status"] == "sent"
    assert "GSI1PK" not in done
    # replays: the job again, later, and the webhook again: nothing more
    assert "review request" not in run_due(later(8)).detail
    deliver(api, demo, "orders/fulfilled")
    assert "review request" not in run_due(later(30)).detail
    assert len(review_events(table_name)) == 1
    assert_ledgers_balance(table_name)


def test_an_order_cancelled_meanwhile_is_skipped(api: InProcessApi, demo: DemoStore, table_name: str) -> None:
    deliver(api, demo, "orders/paid")
    assert deliver(api, demo, "orders/fulfilled").json()["review_request"] == "scheduled"
    deliver(api, demo, "orders/cancelled")
    assert "review request" not in run_due(later(7)).detail
    assert review_events(table_name) == []
    skipped = review_item(table_name)
    assert (skipped["status"], skipped["reason"]) == ("skipped", "cancelled")
    assert_ledgers_balance(table_name)


def test_a_fully_refunded_order_is_skipped_a_partly_refunded_one_is_not(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    deliver(api, demo, "orders/paid")
    deliver(api, demo, "orders/fulfilled")
    assert deliver(api, demo, "refunds/create").status == 200  # one of two sweaters
    order = json.loads(body_of("orders/paid"))
    refund = json.loads(body_of("refunds/create"))
    refund["id"] += 1
    refund["refund_line_items"] = [
        {"line_item_id": line["id"], "quantity": line["quantity"], "subtotal": "0.00"}
        for line in order["line_items"]
    ]
    assert deliver(api, demo, "refunds/create", json.dumps(refund).encode()).status == 200
    run_due(later(7))
    assert review_events(table_name) == []
    assert review_item(table_name)["reason"] == "refunded"
    assert_ledgers_balance(table_name)


def test_guest_checkouts_and_programs_that_turned_reviews_off_schedule_nothing(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    guest = json.loads(body_of("orders/fulfilled"))
    guest["customer"] = None
    assert deliver(api, demo, "orders/fulfilled", json.dumps(guest).encode()).json()["review_request"] == (
        "no_customer"
    )
    set_reviews(demo, enabled=False)
    assert deliver(api, demo, "orders/fulfilled").json()["review_request"] == "off"
    assert [i for i in items(table_name) if i.get("entity") == "review_request"] == []


def test_paid_basis_schedules_in_the_orders_own_write_once(
    api: InProcessApi, demo: DemoStore, table_name: str, calls: CallCounter
) -> None:
    set_reviews(demo, after="paid", days=3)
    deliver(api, demo, "orders/create")  # warm: config and the order's customer
    calls.reset()
    paid = deliver(api, demo, "orders/paid")
    assert paid.status == 200
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}  # the webhook's budget
    assert review_item(table_name)["basis"] == "paid"
    assert deliver(api, demo, "orders/fulfilled").json()["review_request"] == "off"  # the other basis
    for n in range(3):
        deliver(api, demo, "orders/paid", webhook_id=f"again-{n}")
    assert "1 review request sent" in run_due(later(3)).detail
    [event] = review_events(table_name)
    assert event["payload"]["basis"] == "paid"
    assert event["payload"]["days"] == 3
    assert [p["quantity"] for p in event["payload"]["products"]] == [2, 1]
    assert "review request" not in run_due(later(4)).detail
    assert_ledgers_balance(table_name)


def test_orders_api_paid_orders_get_review_requests_too(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    set_reviews(demo, after="paid", days=0)
    order = {
        "order_id": "o-5",
        "customer_id": "c-5",
        "currency": "USD",
        "lines": [{"line_id": "l-1", "product_id": "p-9", "quantity": 1, "unit_price": "40.00"}],
    }
    assert api.post("/v1/orders", key=demo.api_keys.write, json_body=order).status == 200
    assert [i for i in items(table_name) if i.get("entity") == "review_request"] == []  # not paid yet
    assert api.post("/v1/orders/o-5/paid", key=demo.api_keys.write).status == 200
    assert "1 review request sent" in run_due(later(0)).detail
    [event] = review_events(table_name)
    assert event["payload"]["products"][0]["product_id"] == "p-9"
    assert_ledgers_balance(table_name)


@pytest.fixture
def flow(template: dict[str, Any], aws: LocalResources, monkeypatch: pytest.MonkeyPatch) -> Flow:
    monkeypatch.setenv("DELIVERY_RETRY_SCALE", "0")
    reset_container()
    return Flow(template, aws)


def test_a_review_request_reaches_its_subscription_under_the_subscriptions_prefix(
    api: InProcessApi, demo: DemoStore, table_name: str, flow: Flow
) -> None:
    configure(demo.merchant_id, [webhook()], [subscription("review_request", prefix="Acme ")])
    deliver(api, demo, "orders/paid")
    deliver(api, demo, "orders/fulfilled")
    flow.settle()
    receiver = Receiver().install()
    run_due(later(7))
    flow.route()
    flow.deliver_all()
    [request] = receiver.requests
    body = json.loads(request.content)
    assert body["name"] == "Acme Review Requested"
    assert body["data"]["order_id"] == ORDER
    assert [p["title"] for p in body["data"]["products"]] == ["Merino Crew Sweater", "Canvas Tote Bag"]
    assert_ledgers_balance(table_name)
