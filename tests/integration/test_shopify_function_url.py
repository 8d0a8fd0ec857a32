"""Shopify delivers webhooks to the order function's Lambda function URL (no API Gateway charge),
and what an order webhook costs to read.

Through that URL the function answers POST /webhooks/shopify and nothing else: the orders API, even
with a valid key, is the 404 of an unknown route there, and writes nothing.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3

from infra.apigw import build_function_url_event, build_http_event
from infra.inprocess import ApiResponse, InProcessApi
from infra.seed import DemoStore
from pollen.api.auth import via_function_url
from pollen.integrations.shopify.webhooks import sign
from pollen.services.container import container
from pollen.storage.capacity import capacity_meter
from pollen.storage.client import uncounted_dynamodb
from tests.support.ledger import assert_ledgers_balance

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"
CUSTOMER = "115310627314723954"
WEBHOOKS = "OrderWebhooksFunction"


def deliver(
    api: InProcessApi, demo: DemoStore, topic: str, *, webhook_id: str, secret: str | None = None
) -> ApiResponse:
    raw = (FIXTURES / f"{topic.replace('/', '_')}.json").read_bytes()
    headers = {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": demo.shopify.shop_domain,
        "x-shopify-webhook-id": webhook_id,
        "x-shopify-hmac-sha256": sign(secret or demo.shopify.webhook_secret, raw),
    }
    return api.function_url(WEBHOOKS, "POST", "/webhooks/shopify", body=raw, headers=headers)


def items(table_name: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=table_name)["Items"]


def test_the_template_gives_only_the_order_function_a_public_url(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    with_url = {name for name, r in resources.items() if "FunctionUrlConfig" in (r.get("Properties") or {})}
    assert with_url == {WEBHOOKS}
    assert resources[WEBHOOKS]["Properties"]["FunctionUrlConfig"] == {
        "AuthType": "NONE"
    }  # the HMAC is the auth
    invoke = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"].get("InvokedViaFunctionUrl") is True
    ]
    assert invoke == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": WEBHOOKS},
            "Principal": "*",
            "InvokedViaFunctionUrl": True,  # only through the URL: not a public InvokeFunction
        }
    ]
    output = template["Outputs"]["ShopifyWebhookUrl"]["Value"]
    assert output == {"Fn::Sub": "${OrderWebhooksFunctionUrl.FunctionUrl}webhooks/shopify"}


def test_a_paid_order_through_the_function_url_credits_once(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    first = deliver(api, demo, "orders/paid", webhook_id="fu-1")
    again = deliver(api, demo, "orders/paid", webhook_id="fu-1")
    assert first.status == again.status == 200, first.body
    assert first.json()["coins_credited"] == 234
    assert again.json()["duplicate"] is True
    wallet = api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read).json()
    assert (wallet["balance"], wallet["lifetime_earned"]) == (234, 234)
    assert_ledgers_balance(table_name)


def test_a_bad_signature_through_the_function_url_is_401_and_writes_nothing(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = items(table_name)
    refused = deliver(api, demo, "orders/paid", webhook_id=str(uuid.uuid4()), secret="not-the-secret")
    assert refused.status == 401
    assert refused.json()["status"] == 401
    assert [i for i in items(table_name) if i["SK"]["S"] != "REJECTED"] == [
        i for i in before if i["SK"]["S"] != "REJECTED"
    ]


def test_the_orders_api_is_not_reachable_through_the_function_url(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = items(table_name)
    body = json.dumps({"order_id": "fu-api-1", "currency": "USD", "total": "50.00", "paid": True}).encode()
    headers = {"content-type": "application/json", "x-api-key": demo.api_keys.write}
    for method, path in [
        ("POST", "/v1/orders"),
        ("POST", "/v1/orders/fu-api-1/paid"),
        ("GET", "/webhooks/shopify"),
        ("GET", "/openapi.json"),
    ]:
        response = api.function_url(WEBHOOKS, method, path, body=body, headers=headers)
        assert response.status in {404, 405}, (method, path, response.status, response.body)
        if response.status == 404:
            assert response.json()["type"] == "urn:pollen:problem:no-such-route"
    assert items(table_name) == before
    # the same request through the HTTP API is served: the refusal is the URL's, not the key's
    served = api.post("/v1/orders", body=body, headers=headers)
    assert served.status == 200, served.body


def test_only_a_lambda_url_domain_counts_as_the_function_url() -> None:
    url = build_function_url_event(method="POST", raw_path="/webhooks/shopify", headers={})
    assert via_function_url(url)
    http = build_http_event(
        method="POST",
        raw_path="/webhooks/shopify",
        route_key="POST /webhooks/shopify",
        path_parameters=None,
        headers={"host": "lambda-url.example.com"},
    )
    assert not via_function_url(http)  # a Host header cannot claim it: only Lambda's domain name does
    assert not via_function_url({})


def _read_units_of_paid_webhook(api: InProcessApi, demo: DemoStore) -> float:
    deliver(api, demo, "orders/create", webhook_id=str(uuid.uuid4()))  # warm: config and keys cached
    capacity_meter.enable(uncounted_dynamodb)
    try:
        capacity_meter.reset()
        assert deliver(api, demo, "orders/paid", webhook_id=str(uuid.uuid4())).status == 200
        return capacity_meter.usage.rru
    finally:
        capacity_meter.disable()


def test_a_store_without_referrals_reads_no_invites_or_codes_for_an_order(
    api: InProcessApi, demo: DemoStore
) -> None:
    with_referrals = _read_units_of_paid_webhook(api, demo)
    assert with_referrals == 6  # order, customer, friend state, referrer profile, email and phone invites
    off = api.put("/v1/admin/referral-program", key=demo.api_keys.admin, json_body={"enabled": False})
    assert off.status == 200, off.body
    container().config.invalidate(demo.merchant_id)
    assert _read_units_of_paid_webhook(api, demo) == 4  # the invites are not read: no referral can start
