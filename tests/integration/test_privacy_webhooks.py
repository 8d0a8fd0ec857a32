"""Guest claims need proof (signed customers/create|update), and Shopify's privacy webhooks export,
erase and remove — HMAC-verified and idempotent, with the ledger's sums intact."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
import pytest

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.services import shopify_admin
from tests.integration.test_redemption_shopify import FakeShopify
from tests.integration.test_shopify_webhook_api import CUSTOMER, ORDER, body_of, deliver, scan, wallet
from tests.support.ledger import assert_ledgers_balance

GUEST_ORDER: dict[str, Any] = {
    "order_id": "guest-1",
    "email": "jon.doe@example.com",  # the email customers/update moves the customer to
    "currency": "USD",
    "lines": [{"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_price": "70.00"}],
    "paid": True,
}


def _items(table_name: str) -> str:
    return json.dumps(scan(table_name))


def test_customers_update_with_a_proven_email_claims_guest_orders_once(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    assert deliver(api, demo, "customers/create").status == 200
    assert (
        api.post("/v1/orders", key=demo.api_keys.write, json_body=GUEST_ORDER).json()["customer_id"] is None
    )
    first = deliver(api, demo, "customers/update", webhook_id="u-1")
    assert first.status == 200, first.body
    assert first.json()["claimed_orders"] == ["guest-1"]
    again = deliver(api, demo, "customers/update", webhook_id="u-2")
    assert again.json()["claimed_orders"] == []
    assert wallet(api, demo)["balance"] == 70 + 50  # the guest order and the demo signup trigger
    profile = api.put(f"/v1/customers/{CUSTOMER}", key=demo.api_keys.write, json_body={}).json()
    assert (profile["email"], profile["email_verified"]) == ("jon.doe@example.com", True)
    assert_ledgers_balance(table_name)


def test_a_server_key_without_proof_moves_no_guest_coins(api: InProcessApi, demo: DemoStore) -> None:
    api.post("/v1/orders", key=demo.api_keys.write, json_body=GUEST_ORDER)
    unproven = api.put(
        "/v1/customers/c-9", key=demo.api_keys.write, json_body={"email": "jon.doe@example.com"}
    )
    assert unproven.json()["claimed_orders"] == []
    assert unproven.json()["email_verified"] is False
    assert api.get("/v1/admin/orders/guest-1", key=demo.api_keys.admin).json()["customer_id"] is None
    vouched = {"email": "jon.doe@example.com", "email_verified": True}
    proven = api.put("/v1/customers/c-9", key=demo.api_keys.write, json_body=vouched)
    assert proven.json()["claimed_orders"] == ["guest-1"]


def test_privacy_webhooks_need_the_shops_signature(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = scan(table_name)
    for topic in ("customers/data_request", "customers/redact", "shop/redact"):
        response = deliver(api, demo, topic, secret="not-the-secret")
        assert response.status == 401, response.body
    assert scan(table_name) == before


def test_data_request_exports_once_for_the_admin(api: InProcessApi, demo: DemoStore) -> None:
    deliver(api, demo, "customers/create")
    deliver(api, demo, "orders/paid")
    first = deliver(api, demo, "customers/data_request", webhook_id="d-1")
    assert first.status == 200, first.body
    assert first.json() == {
        "topic": "customers/data_request",
        "data_request_id": "9999",
        "customer_found": True,
        "duplicate": False,
    }
    assert deliver(api, demo, "customers/data_request", webhook_id="d-2").json()["duplicate"] is True
    export = api.get("/v1/admin/privacy/data-requests/9999", key=demo.api_keys.admin)
    assert export.status == 200, export.body
    data = export.json()["export"]
    assert data["customer"]["email"] == "jon@example.com"
    assert data["wallet"]["balance"] == 234 + 50
    assert sorted(entry["coins"] for entry in data["ledger"]) == [50, 234]
    assert [o["order_id"] for o in data["orders"]] == [ORDER]
    assert api.get("/v1/admin/privacy/data-requests/9999", key=demo.api_keys.write).status == 403
    assert api.get("/v1/admin/privacy/data-requests/nope", key=demo.api_keys.admin).status == 404


def test_a_data_request_naming_more_orders_than_one_batch_read_exports_them(
    api: InProcessApi, demo: DemoStore
) -> None:
    """Shopify names up to thousands of orders; DynamoDB reads at most 100 keys per BatchGetItem."""
    deliver(api, demo, "customers/create")
    deliver(api, demo, "orders/paid")
    request = json.loads(body_of("customers/data_request"))
    order = int(request["orders_requested"][0])
    request["orders_requested"] = [order + n for n in range(1, 250)] + [order, order]  # one twice
    request["data_request"] = {"id": 9998}
    answer = deliver(api, demo, "customers/data_request", json.dumps(request).encode())
    assert answer.status == 200, answer.body
    export = api.get("/v1/admin/privacy/data-requests/9998", key=demo.api_keys.admin).json()["export"]
    assert [o["order_id"] for o in export["orders"]] == [ORDER]


def test_customers_redact_erases_personal_data_keeps_the_ledger_and_is_idempotent(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    deliver(api, demo, "customers/create")
    deliver(api, demo, "orders/paid")
    redeemed = api.post(
        f"/v1/customers/{CUSTOMER}/redemptions", key=demo.api_keys.write, json_body={"reward_id": "five-off"}
    )
    assert redeemed.status == 201, redeemed.body
    before = wallet(api, demo)
    assert "jon@example.com" in _items(table_name)

    first = deliver(api, demo, "customers/redact", webhook_id="r-1")
    assert first.status == 200, first.body
    assert first.json()["customer_found"] is True
    assert first.json()["orders_redacted"] == [ORDER]
    assert first.json()["coupons_redacted"] == 1
    stored = _items(table_name)
    for personal in ("jon@example.com", "+16135551111", "6135551111", '"Doe"'):
        assert personal not in stored.replace("jon.doe", ""), personal
    after = wallet(api, demo)
    assert (after["balance"], after["lifetime_earned"]) == (before["balance"], before["lifetime_earned"])
    history = api.get(f"/v1/customers/{CUSTOMER}/transactions", key=demo.api_keys.read).json()["items"]
    assert len(history) == 3  # signup, order, redeem: the ledger keeps every entry
    assert_ledgers_balance(table_name)

    snapshot = scan(table_name)
    again = deliver(api, demo, "customers/redact", webhook_id="r-2")
    assert again.status == 200
    assert again.json()["orders_redacted"] == []
    assert again.json()["coupons_redacted"] == 0
    assert scan(table_name) == snapshot  # a redelivery changes nothing


def test_shop_redact_removes_the_shop_idempotently(
    api: InProcessApi, demo: DemoStore, table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeShopify()  # answers the connection's currency check
    monkeypatch.setattr(
        shopify_admin, "http_client", lambda: httpx.Client(transport=httpx.MockTransport(fake.handle))
    )
    api.put(
        "/v1/admin/shopify",
        key=demo.api_keys.admin,
        json_body={
            "shop_domain": demo.shopify.shop_domain,
            "webhook_secret": demo.shopify.webhook_secret,
            "admin_access_token": "shpat_secret-token",
        },
    )
    first = deliver(api, demo, "shop/redact", webhook_id="s-1")
    assert first.status == 200, first.body
    assert first.json()["duplicate"] is False
    assert "shpat_secret-token" not in _items(table_name)
    assert api.get("/v1/admin/shopify", key=demo.api_keys.admin).status == 404
    snapshot = scan(table_name)
    again = deliver(api, demo, "shop/redact", webhook_id="s-2")
    assert again.status == 200
    assert again.json()["duplicate"] is True
    # orders for the removed shop are acknowledged and ignored
    ignored = deliver(api, demo, "orders/paid", body_of("orders/paid"))
    assert ignored.json()["ignored"] is True
    assert scan(table_name) == snapshot
    table = boto3.client("dynamodb")
    assert table.scan(TableName=table_name)["Count"] == len(snapshot)
