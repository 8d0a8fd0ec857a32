"""Referral codes with Shopify connected: a discount Shopify only lets new customers use (a segment
of customers without orders), created once; Pollen still re-checks the buyer."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.services import shopify_admin
from tests.integration.test_redemption_shopify import TOKEN, FakeShopify, ok
from tests.integration.test_referrals import code_of, customer, order, referral_coins

SEGMENT = "gid://shopify/Segment/998877"
CODE_GID = "gid://shopify/DiscountCodeNode/555"


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
    fake.requests.clear()  # the connection's currency check
    yield fake
    client.close()


def put_settings(api: InProcessApi, demo: DemoStore) -> dict[str, object]:
    response = api.put(
        "/v1/admin/referral-program",
        key=demo.api_keys.admin,
        json_body={
            "enabled": True,
            "referrer_reward": {"type": "coins", "coins": 500},
            "friend_reward": {"type": "fixed_amount", "value": "10.00", "min_order_subtotal": "30.00"},
        },
    )
    assert response.status == 200, response.body
    body: dict[str, object] = response.json()
    return body


def test_the_code_is_a_shopify_discount_only_new_customers_can_use(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify
) -> None:
    shopify.on("segmentCreate", ok("segmentCreate", {"segment": {"id": SEGMENT}, "userErrors": []}))
    shopify.on("codeDiscountNodeByCode", ok("codeDiscountNodeByCode", None))  # type: ignore[arg-type]
    shopify.on(
        "discountCodeBasicCreate",
        ok("discountCodeBasicCreate", {"codeDiscountNode": {"id": CODE_GID}, "userErrors": []}),
    )
    assert put_settings(api, demo)["shopify_segment_id"] == SEGMENT
    segment = shopify.bodies()[0]
    assert segment["variables"] == {
        "name": "Pollen referrals: new customers",
        "query": "number_of_orders = 0",
    }

    customer(api, demo, "zoe", "zoe@example.com", first_name="Zoe")
    code = code_of(api, demo, "zoe")
    created = shopify.bodies()[-1]
    assert "discountCodeBasicCreate(" in created["query"]
    discount = created["variables"]["basicCodeDiscount"]
    assert discount["code"] == code
    assert discount["context"] == {"customerSegments": {"add": [SEGMENT]}}
    assert "usageLimit" not in discount  # many friends may use it, each once
    assert discount["appliesOncePerCustomer"] is True
    assert discount["customerGets"]["value"] == {
        "discountAmount": {"amount": "10.00", "appliesOnEachItem": False}
    }
    assert discount["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "30.00"}}
    calls = len(shopify.requests)
    assert code_of(api, demo, "zoe") == code
    assert len(shopify.requests) == calls  # created once: later views cost Shopify nothing

    # Shopify should refuse the code to a customer with orders; Pollen re-checks anyway
    customer(api, demo, "regular", "regular@example.com")
    order(api, demo, "z-0", "regular")
    order(api, demo, "z-1", "regular", codes=[code])
    assert referral_coins(api, demo, "zoe") == []
    order(api, demo, "z-2", "newcomer", codes=[code])
    assert referral_coins(api, demo, "zoe") == [500]


def test_a_shopify_failure_saves_nothing_and_a_failed_code_is_retried(
    api: InProcessApi, demo: DemoStore, shopify: FakeShopify
) -> None:
    shopify.on("segmentCreate", lambda request: httpx.Response(503, text="unavailable"))
    before = api.get("/v1/admin/referral-program", key=demo.api_keys.admin).json()
    response = api.put(
        "/v1/admin/referral-program",
        key=demo.api_keys.admin,
        json_body={"enabled": True, "friend_reward": {"type": "free_shipping"}},
    )
    assert response.status == 503, response.body
    assert api.get("/v1/admin/referral-program", key=demo.api_keys.admin).json() == before
    # naming an existing segment needs no Shopify call
    shopify.requests.clear()
    named = api.put(
        "/v1/admin/referral-program",
        key=demo.api_keys.admin,
        json_body={
            "enabled": True,
            "friend_reward": {"type": "free_shipping"},
            "shopify_segment_id": SEGMENT,
        },
    )
    assert named.status == 200
    assert shopify.requests == []
    shopify.on("codeDiscountNodeByCode", lambda request: httpx.Response(502, text="bad gateway"))
    customer(api, demo, "yan", "yan@example.com")
    code = code_of(api, demo, "yan")  # the page works while Shopify is down
    shopify.script.clear()
    shopify.on("codeDiscountNodeByCode", ok("codeDiscountNodeByCode", {"id": CODE_GID}))  # it had landed
    assert code_of(api, demo, "yan") == code
    assert json.loads(shopify.requests[-1].content)["variables"] == {"code": code}
