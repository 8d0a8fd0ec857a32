"""POST /webhooks/shopify end to end in-process: signed Shopify payloads credit, reverse and claw back."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.inprocess import ApiResponse, InProcessApi
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain.triggers import TriggerSettings
from pollen.integrations.shopify.webhooks import sign
from pollen.services.container import container
from pollen.services.triggers import put_trigger
from pollen.storage.client import CallCounter
from tests.support.ledger import assert_ledgers_balance
from tests.support.problems import problem as _refused

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"
CUSTOMER = "115310627314723954"
ORDER = "820982911946154508"


def body_of(topic: str) -> bytes:
    return (FIXTURES / f"{topic.replace('/', '_')}.json").read_bytes()


def deliver(
    api: InProcessApi,
    demo: DemoStore,
    topic: str,
    body: bytes | None = None,
    *,
    webhook_id: str | None = None,
    secret: str | None = None,
    shop: str | None = None,
) -> ApiResponse:
    raw = body_of(topic) if body is None else body
    return api.post(
        "/webhooks/shopify",
        body=raw,
        headers={
            "content-type": "application/json",
            "x-shopify-topic": topic,
            "x-shopify-shop-domain": shop or demo.shopify.shop_domain,
            "x-shopify-webhook-id": webhook_id or str(uuid.uuid4()),
            "x-shopify-hmac-sha256": sign(secret or demo.shopify.webhook_secret, raw),
            "x-shopify-api-version": "2025-10",
        },
    )


def wallet(api: InProcessApi, demo: DemoStore, customer: str = CUSTOMER) -> dict[str, Any]:
    response = api.get(f"/v1/customers/{customer}/wallet", key=demo.api_keys.read)
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


def scan(table_name: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=table_name)["Items"]


def test_paid_order_posted_twice_credits_once_and_shows_in_wallet_and_history(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    first = deliver(api, demo, "orders/paid", webhook_id="w-1")
    again = deliver(api, demo, "orders/paid", webhook_id="w-1")
    assert first.status == again.status == 200
    assert first.json()["coins_credited"] == 234  # 194.40 + 40.50 of merchandise; the gift card earns nothing
    assert again.json()["duplicate"] is True
    view = wallet(api, demo)
    assert (view["balance"], view["pending"], view["lifetime_earned"]) == (234, 0, 234)
    assert view["expiring"][0]["coins"] == 234
    history = api.get(f"/v1/customers/{CUSTOMER}/transactions", key=demo.api_keys.read).json()
    assert [(t["type"], t["operation"], t["coins"], t["reference"]) for t in history["items"]] == [
        ("reward", "credit", 234, ORDER)
    ]
    assert assert_ledgers_balance(table_name) == 1


def test_the_same_paid_order_under_twenty_delivery_ids_credits_once(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    for _ in range(20):
        assert deliver(api, demo, "orders/paid").status == 200
    assert wallet(api, demo)["balance"] == 234
    assert_ledgers_balance(table_name)


def test_refund_of_half_a_line_claws_back_its_coins(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    deliver(api, demo, "orders/create")
    assert wallet(api, demo)["pending"] == 234
    deliver(api, demo, "orders/paid")
    response = deliver(api, demo, "refunds/create")
    assert response.status == 200, response.body
    assert wallet(api, demo)["balance"] == 137  # 234.90 - 97.20 = 137.70 → 137
    history = api.get(f"/v1/customers/{CUSTOMER}/transactions", key=demo.api_keys.read).json()["items"]
    assert [(t["type"], t["coins"]) for t in history] == [("reversal", 97), ("reward", 234)]
    assert_ledgers_balance(table_name)


@pytest.mark.parametrize(
    "order",
    [
        ["orders/create", "orders/paid", "refunds/create", "orders/cancelled"],
        ["orders/cancelled", "refunds/create", "orders/paid", "orders/create"],
        ["refunds/create", "orders/paid", "orders/cancelled", "orders/create"],
    ],
)
def test_cancelled_order_ends_empty_in_any_order(
    api: InProcessApi, demo: DemoStore, table_name: str, order: list[str]
) -> None:
    for topic in order:
        assert deliver(api, demo, topic).status == 200
    view = wallet(api, demo)
    assert (view["balance"], view["pending"]) == (0, 0)
    assert_ledgers_balance(table_name)


def test_customers_create_creates_the_customer_and_awards_signup_once(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    put_trigger(container(), demo.merchant_id, "signup", TriggerSettings(coins=50), now=utcnow())
    assert deliver(api, demo, "customers/create").status == 200
    assert deliver(api, demo, "customers/create").status == 200
    assert wallet(api, demo)["balance"] == 50
    assert_ledgers_balance(table_name)


def test_unknown_topic_is_acknowledged_and_changes_nothing(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = scan(table_name)
    response = deliver(api, demo, "products/update", b'{"id": 1}')
    assert response.status == 200
    assert response.json()["ignored"] is True
    assert scan(table_name) == before


def test_bad_signature_and_unknown_shop_are_refused_and_write_nothing(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = scan(table_name)
    bad_hmac = _refused(deliver(api, demo, "orders/paid", secret="not-the-secret"), 401)
    unknown = _refused(deliver(api, demo, "orders/paid", shop="elsewhere.myshopify.com"), 401)
    assert bad_hmac["detail"] == unknown["detail"]  # says nothing about which shops exist
    assert scan(table_name) == before


def _rejected(api: InProcessApi, demo: DemoStore) -> list[dict[str, Any]]:
    response = api.get("/v1/admin/shopify/rejected-webhooks", key=demo.api_keys.admin)
    assert response.status == 200, response.body
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _business_items(table_name: str) -> list[dict[str, Any]]:
    return [i for i in scan(table_name) if not i["PK"]["S"].endswith("#REJ")]


def test_signed_webhooks_pollen_cannot_use_are_answered_200_and_logged_with_the_reason(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    """A 4xx makes Shopify retry and then drop the subscription: the store would stop earning."""
    before = _business_items(table_name)
    garbled = deliver(api, demo, "orders/paid", b"{not json", webhook_id="w-garbled")
    assert garbled.status == 200, garbled.body
    assert garbled.json()["rejected"] is True
    order = json.loads(body_of("orders/paid"))
    del order["line_items"]
    missing = deliver(api, demo, "orders/paid", json.dumps(order).encode(), webhook_id="w-missing")
    assert missing.status == 200
    assert _business_items(table_name) == before  # nothing credited, no partial write

    newest, oldest = _rejected(api, demo)
    assert (oldest["webhook_id"], oldest["reason"], oldest["topic"]) == (
        "w-garbled",
        "invalid_json",
        "orders/paid",
    )
    assert newest["reason"] == "invalid_payload"
    assert "line_items" in {e["field"] for e in newest["errors"]}
    assert newest["body_bytes"] == len(json.dumps(order).encode())


def test_an_order_in_another_currency_credits_nothing_and_is_listed(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    order = json.loads(body_of("orders/paid"))
    order["currency"] = "HKD"  # the program is in USD: 284 HKD must not become 284 coins worth USD 14.20
    before = _business_items(table_name)
    response = deliver(api, demo, "orders/paid", json.dumps(order).encode())
    assert response.status == 200
    assert response.json()["reason"] == "currency_mismatch"
    assert _business_items(table_name) == before
    (entry,) = _rejected(api, demo)
    assert entry["order_id"] == str(order["id"])
    assert "HKD" in entry["detail"]


def test_order_webhook_costs_two_dynamodb_calls_on_a_warm_container(
    api: InProcessApi, demo: DemoStore, calls: CallCounter
) -> None:
    deliver(api, demo, "orders/create")  # warms shop, config and key caches
    calls.reset()
    deliver(api, demo, "orders/paid")
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}
    calls.reset()
    deliver(api, demo, "refunds/create")
    assert calls.total <= 2
