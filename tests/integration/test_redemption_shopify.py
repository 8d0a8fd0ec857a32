"""Redemption with Shopify connected: the discount code exists in Shopify iff the coins are taken.

A fake Shopify (httpx.MockTransport) records every GraphQL request and answers as scripted; every
test ends with the ledger invariant, which also checks that coins redeemed net of refunds equal
the coins held by coupons not cancelled.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from boto3.dynamodb.types import TypeDeserializer

from infra.inprocess import ApiResponse, InProcessApi
from infra.onboard import onboard
from infra.seed import DEMO_PROGRAM, DemoStore
from pollen.clock import isoformat, utcnow
from pollen.domain.customers import CustomerData
from pollen.domain.merchants import ShopifyConnection
from pollen.services import shopify_admin
from pollen.services.adjustments import adjust
from pollen.services.container import container
from pollen.services.customers import upsert_customer
from pollen.services.expiry import run_due
from pollen.services.merchants import connect_shopify
from pollen.services.redemption import cancel_coupon
from pollen.storage.client import CallCounter
from tests.support.ledger import assert_ledgers_balance
from tests.support.problems import problem

CUSTOMER = "115310627314723954"
TOKEN = "shpat_test_token_123"
GID = "gid://shopify/DiscountCodeNode/1057371"
_des = TypeDeserializer()

Answer = Callable[[httpx.Request], httpx.Response]


def ok(root: str, payload: dict[str, Any]) -> Answer:
    return lambda request: httpx.Response(200, json={"data": {root: payload}})


CREATED_BASIC = ok("discountCodeBasicCreate", {"codeDiscountNode": {"id": GID}, "userErrors": []})
CREATED_SHIPPING = ok("discountCodeFreeShippingCreate", {"codeDiscountNode": {"id": GID}, "userErrors": []})
FOUND = ok("codeDiscountNodeByCode", {"id": GID})
NOT_FOUND: Answer = lambda request: httpx.Response(200, json={"data": {"codeDiscountNodeByCode": None}})  # noqa: E731
DEACTIVATED = ok("discountCodeDeactivate", {"codeDiscountNode": {"id": GID}, "userErrors": []})


def server_error(request: httpx.Request) -> httpx.Response:
    return httpx.Response(502, text="Bad gateway")


def read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def connect_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectTimeout("timed out", request=request)


def throttled(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {
                "cost": {
                    "requestedQueryCost": 10,
                    "throttleStatus": {"maximumAvailable": 2000, "currentlyAvailable": 0, "restoreRate": 100},
                }
            },
        },
    )


def user_errors(code: str) -> Answer:
    return ok(
        "discountCodeBasicCreate",
        {
            "codeDiscountNode": None,
            "userErrors": [{"field": ["basicCodeDiscount", "code"], "message": "x", "code": code}],
        },
    )


class FakeShopify:
    """Answers each operation (by its GraphQL root field) from a script; records every request."""

    def __init__(self, currency: str = "USD") -> None:
        self.script: dict[str, list[Answer]] = {"shop": [ok("shop", {"currencyCode": currency})]}
        self.requests: list[httpx.Request] = []

    def on(self, root: str, *answers: Answer) -> None:
        self.script.setdefault(root, []).extend(answers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        query = json.loads(request.content)["query"]
        root = next(r for r in self.script if f"{r}(" in query or f"{{ {r} {{" in query)
        answers = self.script[root]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def shopify(monkeypatch: pytest.MonkeyPatch, api: InProcessApi, demo: DemoStore) -> Iterator[FakeShopify]:
    fake = FakeShopify()
    client = httpx.Client(transport=httpx.MockTransport(fake.handle), timeout=10.0)
    monkeypatch.setattr(shopify_admin, "http_client", lambda: client)
    connected = api.put(
        "/v1/admin/shopify",
        key=demo.api_keys.admin,
        json_body={
            "shop_domain": demo.shopify.shop_domain,
            "webhook_secret": demo.shopify.webhook_secret,
            "admin_access_token": TOKEN,
            "api_version": "2026-10",
        },
    )
    assert connected.status == 200, connected.body
    assert TOKEN.encode() not in connected.body
    assert demo.shopify.webhook_secret.encode() not in connected.body
    assert connected.json()["currency_check"] == "matches"
    fake.requests.clear()  # the connection's currency check: tests count what came after
    c = container()
    upsert_customer(
        c,
        demo.merchant_id,
        CustomerData(customer_id=CUSTOMER, email="ana@example.com"),
        now=utcnow(),
        source="api",
    )
    adjust(c, demo.merchant_id, CUSTOMER, 500, "test funds", now=utcnow(), idempotency=None)
    yield fake
    client.close()


def items(table_name: str) -> list[dict[str, Any]]:
    found = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [{k: _des.deserialize(v) for k, v in i.items()} for i in found]


def redeem(api: InProcessApi, demo: DemoStore, body: dict[str, Any], key: str | None = None) -> ApiResponse:
    headers = {"idempotency-key": key} if key else {}
    return api.post(
        f"/v1/customers/{CUSTOMER}/redemptions", key=demo.api_keys.write, json_body=body, headers=headers
    )


def balance(api: InProcessApi, demo: DemoStore) -> int:
    value: int = api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read).json()["balance"]
    return value


def coupons(table_name: str) -> list[dict[str, Any]]:
    return [i for i in items(table_name) if i.get("entity") == "coupon"]


def event_types(table_name: str) -> list[str]:
    return sorted(i["event_type"] for i in items(table_name) if i.get("entity") == "outbox")


def test_fixed_amount_coupon_is_created_in_shopify_exactly_as_asked(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, table_name: str
) -> None:
    shopify.on("discountCodeBasicCreate", CREATED_BASIC)
    response = redeem(api, demo, {"reward_id": "five-off", "channel": "app"})
    assert response.status == 201, response.body
    coupon = response.json()["coupon"]
    assert coupon["shopify_status"] == "created"
    [request] = shopify.requests
    assert str(request.url) == "https://pollen-demo.myshopify.com/admin/api/2026-10/graphql.json"
    assert request.method == "POST"
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert body["query"].startswith("mutation discountCodeBasicCreate(")
    assert body["variables"] == {
        "basicCodeDiscount": {
            "code": coupon["code"],
            "title": f"Pollen fixed amount {coupon['code']}",
            "startsAt": isoformat(datetime.fromisoformat(coupon["created_at"])),
            "endsAt": isoformat(datetime.fromisoformat(coupon["expires_at"])),
            "usageLimit": 1,
            "appliesOncePerCustomer": True,
            "context": {"customers": {"add": [f"gid://shopify/Customer/{CUSTOMER}"]}},
            "customerGets": {
                "value": {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}},
                "items": {"all": True},
            },
        }
    }
    [stored] = coupons(table_name)
    assert (stored["shopify"], stored["shopify_discount_id"]) == ("created", GID)
    assert not [i for i in items(table_name) if i.get("entity") == "coupon_shopify_pending"]
    [announced] = [i for i in items(table_name) if i.get("event_type") == "coupon_created"]
    assert announced["payload"]["customer"]["email"] == "ana@example.com"  # recorded after Shopify said yes
    assert balance(api, demo) == 400
    assert_ledgers_balance(table_name)


def test_percentage_with_minimum_and_free_shipping_use_their_mutations(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, table_name: str
) -> None:
    shopify.on("discountCodeBasicCreate", CREATED_BASIC)
    shopify.on("discountCodeFreeShippingCreate", CREATED_SHIPPING)
    assert redeem(api, demo, {"reward_id": "ten-percent", "cart_total": "50.00"}).status == 201
    assert redeem(api, demo, {"reward_id": "free-shipping"}).status == 201
    percent, shipping = shopify.bodies()
    basic = percent["variables"]["basicCodeDiscount"]
    assert basic["customerGets"]["value"] == {"percentage": 0.1}
    assert basic["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "30.00"}}
    assert shipping["query"].startswith("mutation discountCodeFreeShippingCreate(")
    assert shipping["variables"]["freeShippingCodeDiscount"]["destination"] == {"all": True}
    assert shipping["variables"]["freeShippingCodeDiscount"]["usageLimit"] == 1
    assert balance(api, demo) == 500 - 150 - 80
    assert_ledgers_balance(table_name)


@pytest.mark.parametrize(
    ("create", "find", "status"),
    [
        (user_errors("INVALID"), None, 502),  # refused: certainly not created
        (throttled, None, 503),  # throttled: the mutation did not run
        (connect_timeout, None, 503),  # never reached Shopify
        (server_error, NOT_FOUND, 503),  # 5xx: maybe ran — Shopify says it did not
        (read_timeout, NOT_FOUND, 503),  # timed out reading: maybe ran — it did not
    ],
)
def test_a_failed_create_gives_the_coins_back_and_frees_the_idempotency_key(
    api: InProcessApi,
    demo: DemoStore,
    shopify: FakeShopify,
    table_name: str,
    *,
    create: Answer,
    find: Answer | None,
    status: int,
) -> None:
    shopify.on("discountCodeBasicCreate", create, CREATED_BASIC)
    if find:
        shopify.on("codeDiscountNodeByCode", find)
    failed = redeem(api, demo, {"reward_id": "five-off"}, key="k-1")
    problem(failed, status)
    assert balance(api, demo) == 500
    [coupon] = coupons(table_name)
    assert (coupon["stored_status"], coupon["shopify"]) == ("cancelled", "failed")
    assert "coupon_created" not in event_types(table_name)
    history = api.get(f"/v1/customers/{CUSTOMER}/transactions", key=demo.api_keys.read).json()["items"]
    assert [(t["type"], t["coins"]) for t in history[:2]] == [("refund", 100), ("redeem", 100)]
    # Shopify is back: the same key tries again instead of replaying the failure
    retried = redeem(api, demo, {"reward_id": "five-off"}, key="k-1")
    assert retried.status == 201, retried.body
    assert retried.json()["coupon"]["shopify_status"] == "created"
    assert balance(api, demo) == 400
    assert_ledgers_balance(table_name)


@pytest.mark.parametrize("create", [server_error, read_timeout])
def test_a_create_that_landed_despite_the_error_is_kept(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, table_name: str, create: Answer
) -> None:
    shopify.on("discountCodeBasicCreate", create)
    shopify.on("codeDiscountNodeByCode", FOUND)
    response = redeem(api, demo, {"reward_id": "five-off"})
    assert response.status == 201, response.body
    assert response.json()["coupon"]["shopify_status"] == "created"
    assert [b["query"].split("(")[0] for b in shopify.bodies()] == [
        "mutation discountCodeBasicCreate",
        "query codeDiscountNodeByCode",
    ]
    assert balance(api, demo) == 400
    assert_ledgers_balance(table_name)


def test_unknown_outcome_stays_pending_until_a_retry_settles_it(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, table_name: str
) -> None:
    shopify.on("discountCodeBasicCreate", read_timeout, user_errors("TAKEN"))
    shopify.on("codeDiscountNodeByCode", read_timeout, FOUND)
    first = redeem(api, demo, {"reward_id": "five-off"}, key="k-9")
    assert first.status == 202, first.body  # the coins are taken: never a 5xx, the documented pending state
    assert first.json()["coupon"]["shopify_status"] == "pending"
    [pending] = coupons(table_name)
    assert (pending["stored_status"], pending["shopify"]) == ("issued", "pending")
    assert [i["code"] for i in items(table_name) if i.get("entity") == "coupon_shopify_pending"] == [
        pending["code"]
    ]
    assert balance(api, demo) == 400  # held, not lost: the coupon is pending
    listed = api.get(f"/v1/customers/{CUSTOMER}/coupons", key=demo.api_keys.read).json()["items"]
    assert listed[0]["shopify_status"] == "pending"
    again = redeem(api, demo, {"reward_id": "five-off"}, key="k-9")
    assert again.status == 201, again.body
    assert (again.json()["coupon"]["code"], again.json()["coupon"]["shopify_status"]) == (
        pending["code"],
        "created",
    )
    assert balance(api, demo) == 400
    assert event_types(table_name).count("coupon_created") == 1
    assert_ledgers_balance(table_name)


def test_cancel_deactivates_in_shopify_first(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, table_name: str
) -> None:
    shopify.on("discountCodeBasicCreate", CREATED_BASIC)
    shopify.on("discountCodeDeactivate", server_error, DEACTIVATED)
    code = redeem(api, demo, {"reward_id": "five-off"}).json()["coupon"]["code"]
    refused = api.delete(f"/v1/customers/{CUSTOMER}/coupons/{code}", key=demo.api_keys.write)
    assert refused.status == 503
    assert balance(api, demo) == 400  # Shopify still honours it: the coins stay spent
    cancelled = api.delete(f"/v1/customers/{CUSTOMER}/coupons/{code}", key=demo.api_keys.write)
    assert cancelled.status == 200, cancelled.body
    assert balance(api, demo) == 500
    deactivations = [b for b in shopify.bodies() if b["query"].startswith("mutation discountCodeDeactivate")]
    assert [d["variables"] for d in deactivations] == [{"id": GID}, {"id": GID}]
    assert_ledgers_balance(table_name)


def test_shopify_redemption_costs_three_calls_warm(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, calls: CallCounter
) -> None:
    shopify.on("discountCodeBasicCreate", CREATED_BASIC)
    redeem(api, demo, {"reward_id": "five-off"})
    calls.reset()
    assert redeem(api, demo, {"reward_id": "five-off"}).status == 201
    # the redemption itself (2: without an Idempotency-Key it reads the customer alone, a GetItem)
    # and the record that Shopify created the code (1)
    assert calls.snapshot() == {"GetItem": 1, "TransactWriteItems": 2}


def test_shopify_connection_is_write_only_and_one_shop_per_store(api: InProcessApi, demo: DemoStore) -> None:
    admin = demo.api_keys.admin
    view = api.get("/v1/admin/shopify", key=admin).json()
    assert view == {
        "shop_domain": demo.shopify.shop_domain,
        "api_version": "2026-10",
        "webhook_secret_set": True,
        "admin_access_token_set": False,
        "updated_at": None,
        "currency_check": None,
        "currency_check_detail": None,
    }
    bad = api.put(
        "/v1/admin/shopify",
        key=admin,
        json_body={"shop_domain": "evil.example.com", "webhook_secret": "x" * 10},
    )
    assert bad.status == 422
    assert api.put("/v1/admin/shopify", key=demo.api_keys.write, json_body={}).status == 403
    retired = api.put(
        "/v1/admin/shopify",
        key=admin,
        json_body={
            "shop_domain": demo.shopify.shop_domain,
            "webhook_secret": demo.shopify.webhook_secret,
            "api_version": "2024-01",
        },
    )
    assert retired.status == 422, retired.body
    assert retired.json()["errors"][0]["field"] == "api_version"
    assert api.get("/v1/admin/shopify", key=admin).json()["api_version"] == "2026-10"  # nothing written


@pytest.mark.parametrize(
    ("find", "create", "outcome", "balance_after"),
    [
        (FOUND, None, "created", 400),  # the lost create had landed: keep it
        (NOT_FOUND, CREATED_BASIC, "created", 400),  # it had not: create it now
        (NOT_FOUND, user_errors("INVALID"), "cancelled", 500),  # Shopify refuses now: coins back
    ],
)
def test_the_hourly_job_settles_a_coupon_left_pending(
    api: InProcessApi,
    demo: DemoStore,
    shopify: FakeShopify,
    table_name: str,
    *,
    find: Answer,
    create: Answer | None,
    outcome: str,
    balance_after: int,
) -> None:
    shopify.on("discountCodeBasicCreate", read_timeout, *([create] if create else []))
    # the request's own check and the job's first run find Shopify silent; the next run gets through
    shopify.on("codeDiscountNodeByCode", read_timeout, read_timeout, find)
    assert redeem(api, demo, {"reward_id": "five-off"}).status == 202
    soon = run_due(utcnow())  # within the grace period: a running request may still settle it
    assert "pending coupon" not in soon.detail
    later = run_due(utcnow() + timedelta(minutes=5))
    assert "pending coupon" not in later.detail
    result = run_due(utcnow() + timedelta(minutes=65))
    assert result.detail.endswith("1 pending coupon settled with Shopify")
    [coupon] = coupons(table_name)
    assert coupon["shopify"] == ("created" if outcome == "created" else "failed")
    assert coupon["stored_status"] == ("issued" if outcome == "created" else "cancelled")
    assert not [i for i in items(table_name) if i.get("entity") == "coupon_shopify_pending"]
    assert balance(api, demo) == balance_after
    assert_ledgers_balance(table_name)


def test_a_coupon_cancelled_while_shopify_creates_it_loses_its_discount(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, table_name: str
) -> None:
    def cancel_then_create(request: httpx.Request) -> httpx.Response:
        [pending] = coupons(table_name)  # the customer cancels while Shopify is still working
        cancel_coupon(container(), demo.merchant_id, CUSTOMER, pending["code"], now=utcnow())
        return CREATED_BASIC(request)

    shopify.on("discountCodeBasicCreate", cancel_then_create)
    shopify.on(
        "discountCodeDelete", ok("discountCodeDelete", {"deletedCodeDiscountId": GID, "userErrors": []})
    )
    response = redeem(api, demo, {"reward_id": "five-off"})
    assert response.status == 201, response.body
    assert response.json()["coupon"]["status"] == "cancelled"
    deleted = [
        b["variables"] for b in shopify.bodies() if b["query"].startswith("mutation discountCodeDelete")
    ]
    assert deleted == [{"id": GID}]
    assert balance(api, demo) == 500
    assert "coupon_created" not in event_types(table_name)
    assert_ledgers_balance(table_name)


def test_reconnecting_keeps_the_token_and_a_shop_belongs_to_one_store(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify
) -> None:
    admin = demo.api_keys.admin
    rotated = api.put(
        "/v1/admin/shopify",
        key=admin,
        json_body={"shop_domain": demo.shopify.shop_domain, "webhook_secret": "a-new-webhook-secret"},
    )
    assert rotated.status == 200, rotated.body
    assert rotated.json()["admin_access_token_set"] is True
    other = ShopifyConnection(shop_domain="other-shop.myshopify.com", webhook_secret="other-secret")
    onboard("other-store", "Other Store", DEMO_PROGRAM, shopify=other)
    taken = api.put(
        "/v1/admin/shopify",
        key=admin,
        json_body={"shop_domain": "other-shop.myshopify.com", "webhook_secret": "x" * 12},
    )
    assert taken.status == 409
    assert api.get("/v1/admin/shopify", key=admin).json()["shop_domain"] == demo.shopify.shop_domain


def test_the_job_takes_down_the_discount_of_a_pending_coupon_the_customer_cancelled(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, table_name: str
) -> None:
    shopify.on("discountCodeBasicCreate", read_timeout)
    shopify.on("codeDiscountNodeByCode", read_timeout, FOUND)
    shopify.on(
        "discountCodeDelete", ok("discountCodeDelete", {"deletedCodeDiscountId": GID, "userErrors": []})
    )
    assert redeem(api, demo, {"reward_id": "five-off"}).status == 202
    [pending] = coupons(table_name)
    assert (
        api.delete(f"/v1/customers/{CUSTOMER}/coupons/{pending['code']}", key=demo.api_keys.write).status
        == 200
    )
    assert balance(api, demo) == 500
    result = run_due(utcnow() + timedelta(minutes=5))
    assert result.detail.endswith("1 pending coupon settled with Shopify")
    deleted = [
        b["variables"] for b in shopify.bodies() if b["query"].startswith("mutation discountCodeDelete")
    ]
    assert deleted == [{"id": GID}]
    [coupon] = coupons(table_name)
    assert (coupon["stored_status"], coupon["shopify"]) == ("cancelled", "failed")
    assert not [i for i in items(table_name) if i.get("entity") == "coupon_shopify_pending"]
    assert_ledgers_balance(table_name)


# ---- a credential Shopify can never take (issue: a 500 after the debit, the job failing on it) ----

BAD_TOKENS = ["shpat_tökén_0123456789abcdef", "shpat_0123 456789abcdef", "shpat_0123456789abcdef\n", "k"]


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_a_token_that_cannot_go_in_a_header_is_refused_when_stored(
    api: InProcessApi, demo: DemoStore, token: str
) -> None:
    response = api.put(
        "/v1/admin/shopify",
        key=demo.api_keys.admin,
        json_body={
            "shop_domain": demo.shopify.shop_domain,
            "webhook_secret": demo.shopify.webhook_secret,
            "admin_access_token": token,
        },
    )
    assert response.status == 422, response.body
    assert response.json()["errors"][0]["field"] == "admin_access_token"
    shown = api.get("/v1/admin/shopify", key=demo.api_keys.admin).json()
    assert shown["admin_access_token_set"] is False


def _store_unsendable_token(demo: DemoStore) -> None:
    """As a token stored before the write-time check existed would be."""
    connect_shopify(
        container(),
        demo.merchant_id,
        ShopifyConnection(
            shop_domain=demo.shopify.shop_domain,
            webhook_secret=demo.shopify.webhook_secret,
            admin_access_token="shpat_tökén_0123456789",
        ),
        now=utcnow(),
    )


def test_a_stored_token_that_cannot_be_sent_leaves_the_coupon_pending_never_a_500(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, table_name: str
) -> None:
    _store_unsendable_token(demo)

    response = redeem(api, demo, {"reward_id": "five-off"}, key="attempt-1")

    assert response.status == 202, response.body
    body = response.json()
    assert body["coupon"]["shopify_status"] == "pending"
    assert body["balance"] == balance(api, demo) == 500 - body["coupon"]["coins"]
    assert shopify.requests == []  # it never left the building
    again = redeem(api, demo, {"reward_id": "five-off"}, key="attempt-1")  # the documented retry
    assert again.status == 202
    assert again.json()["coupon"]["code"] == body["coupon"]["code"]
    assert_ledgers_balance(table_name)


def test_one_poisoned_due_item_does_not_stop_the_twelve_others(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify, table_name: str
) -> None:
    long_ago = utcnow() - timedelta(days=366)  # the demo program's coins live 365 days
    c = container()
    for n in range(12):
        upsert_customer(c, demo.merchant_id, CustomerData(customer_id=f"c{n}"), now=long_ago, source="api")
        adjust(c, demo.merchant_id, f"c{n}", 10, "old coins", now=long_ago, idempotency=None)
    _store_unsendable_token(demo)
    assert redeem(api, demo, {"reward_id": "five-off"}).status == 202  # the 13th due item: poisoned

    result = run_due(utcnow() + timedelta(minutes=65))

    assert result.processed == 13
    assert "expired 120 coins in 12 wallets" in result.detail
    [coupon] = coupons(table_name)
    assert coupon["shopify"] == "pending"  # left for a later run (or a fixed token), coins still held
    assert_ledgers_balance(table_name)
