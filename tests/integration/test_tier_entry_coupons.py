"""A VIP tier's entry reward as a coupon (``entry_reward.reward_id``): issued exactly once per tier per
customer per window, in the upgrading fact's own transaction, costing no coins; with Shopify connected
the discount is created there afterwards by the hourly job (the redemption saga's ``settle_pending``),
never while the order webhook waits."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest
from boto3.dynamodb.types import TypeDeserializer

from infra.inprocess import InProcessApi
from infra.seed import DEMO_REWARDS, DEMO_TIERS, DemoStore
from pollen.domain.orders import OrderData, OrderFacts, OrderLine
from pollen.domain.tiers import TierProgramSettings
from pollen.services import shopify_admin
from pollen.services.container import container
from pollen.services.expiry import run_due
from pollen.services.orders import record_order_fact
from pollen.services.rewards import put_reward
from pollen.services.tiers import put_tier_program
from pollen.storage.client import CallCounter
from tests.support.ledger import assert_ledgers_balance

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CUSTOMER = "115310627314723954"  # a Shopify customer id
TOKEN = "shpat_test_token_123"
GID = "gid://shopify/DiscountCodeNode/1057371"
_des = TypeDeserializer()


def coupon_tiers(reward_id: str = "ten-percent") -> TierProgramSettings:
    """The demo tiers, with Gold's entry reward a coupon of ``reward_id``."""
    data = DEMO_TIERS.model_dump(mode="json")
    data["tiers"][1]["benefits"]["entry_reward"] = {"reward_id": reward_id}
    return TierProgramSettings.model_validate(data)


def pay(order_id: str, amount: str, *, now: datetime = NOW) -> Any:
    data = OrderData(
        order_id=order_id,
        customer_id=CUSTOMER,
        email="ana@example.com",
        currency="USD",
        lines=[OrderLine(line_id="L1", product_id="p1", quantity=1, unit_price=Decimal(amount))],
        total=Decimal(amount),
    )
    return record_order_fact(container(), "demo-store", order_id, OrderFacts(data=data, paid=True), now=now)


def items(table_name: str) -> list[dict[str, Any]]:
    found = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [{k: _des.deserialize(v) for k, v in i.items()} for i in found]


def of(table_name: str, entity: str) -> list[dict[str, Any]]:
    return [i for i in items(table_name) if i.get("entity") == entity]


def events(table_name: str, event_type: str) -> list[dict[str, Any]]:
    return [i for i in of(table_name, "outbox") if i["event_type"] == event_type]


def test_fifty_concurrent_duplicate_webhooks_crossing_gold_issue_one_coupon(
    demo: DemoStore, table_name: str
) -> None:
    put_tier_program(container(), "demo-store", coupon_tiers(), now=NOW, expected_version=None)
    errors: list[BaseException] = []

    def webhook() -> None:
        try:
            pay("g-1", "600.00")
        except BaseException as exc:  # surfaced below: a lost thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=webhook) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    [coupon] = of(table_name, "coupon")
    assert (coupon["customer_id"], coupon["reward_id"], coupon["coins"], coupon["shopify"]) == (
        CUSTOMER,
        "ten-percent",
        0,
        "none",
    )
    terms = (coupon["reward_type"], coupon["value"], coupon["max_discount"], coupon["min_order"])
    assert terms == ("percentage", "10", "20.00", "30.00")  # the reward's own terms
    assert datetime.fromisoformat(coupon["expires_at"]) == NOW + timedelta(days=30)
    assert coupon["contact"]["email"] == "ana@example.com"
    [changed] = events(table_name, "tier_changed")
    assert (
        changed["payload"]["to"],
        changed["payload"]["entry_coins"],
        changed["payload"]["entry_coupon"],
    ) == (
        "gold",
        0,
        coupon["code"],
    )
    [created] = events(table_name, "coupon_created")
    assert created["payload"]["code"] == coupon["code"]
    [state] = of(table_name, "tier")
    assert state["entry_rewards"] == {"gold": NOW.date().isoformat()}
    # more orders in the same (rolling) window: Gold is held, nothing more is issued
    pay("g-2", "700.00")
    assert len(of(table_name, "coupon")) == 1
    coupons = container().table.query(f"M#demo-store#C#{CUSTOMER}", sk_prefix="TXN#").items
    assert all(i["source"] != "redemption" for i in coupons)  # it cost no coins
    assert_ledgers_balance(table_name)


def test_the_upgrade_with_a_coupon_stays_two_calls(demo: DemoStore, calls: CallCounter) -> None:
    put_tier_program(container(), "demo-store", coupon_tiers(), now=NOW, expected_version=None)
    pay("warm", "1.00")
    calls.reset()
    pay("g-1", "600.00")
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}


@pytest.mark.parametrize(
    ("reward_id", "problem"),
    [
        ("no-such-reward", "no reward with this id"),
        ("disabled", "the reward is disabled"),
        ("pay-with-coins", "a dynamic reward cannot be an entry reward"),
    ],
)
def test_an_entry_reward_must_exist_be_enabled_and_fixed(
    demo: DemoStore, api: InProcessApi, reward_id: str, problem: str
) -> None:
    put_reward(
        container(),
        "demo-store",
        "disabled",
        DEMO_REWARDS["five-off"].model_copy(update={"enabled": False}),
        now=NOW,
    )
    body = coupon_tiers(reward_id).model_dump(mode="json")
    response = api.put("/v1/admin/tiers", key=demo.api_keys.admin, json_body=body)
    assert response.status == 422, response.body
    assert response.json()["errors"] == [
        {
            "field": "tiers.1.benefits.entry_reward.reward_id",
            "location": "body",
            "message": problem,
            "type": "invalid_reward",
        }
    ]
    assert api.get("/v1/admin/tiers", key=demo.api_keys.admin).json()["version"] == 0


def test_coins_and_a_reward_at_once_are_refused(demo: DemoStore, api: InProcessApi) -> None:
    body = coupon_tiers().model_dump(mode="json")
    body["tiers"][1]["benefits"]["entry_reward"]["coins"] = 10
    response = api.put("/v1/admin/tiers", key=demo.api_keys.admin, json_body=body)
    assert response.status == 422, response.body
    ok = api.put("/v1/admin/tiers", key=demo.api_keys.admin, json_body=coupon_tiers().model_dump(mode="json"))
    assert ok.status == 200, ok.body
    assert ok.json()["tiers"][1]["benefits"]["entry_reward"] == {"coins": None, "reward_id": "ten-percent"}


class FakeShopify:
    """Records every GraphQL request; answers the discount look-up (absent) and the create."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        if "codeDiscountNodeByCode(" in body["query"]:
            return httpx.Response(200, json={"data": {"codeDiscountNodeByCode": None}})
        if body["query"].startswith("query shopCurrency"):  # the currency check when connecting
            return httpx.Response(200, json={"data": {"shop": {"currencyCode": "USD"}}})
        assert body["query"].startswith("mutation discountCodeBasicCreate(")
        assert request.headers["X-Shopify-Access-Token"] == TOKEN
        created = {"codeDiscountNode": {"id": GID}, "userErrors": []}
        return httpx.Response(200, json={"data": {"discountCodeBasicCreate": created}})


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
    assert [r["query"] for r in fake.requests] == ["query shopCurrency { shop { currencyCode } }"]
    fake.requests.clear()  # the connect-time currency check; the tests count what the orders cause
    yield fake
    client.close()


def test_with_shopify_the_coupon_is_pending_then_created_by_the_hourly_job(
    demo: DemoStore, shopify: FakeShopify, table_name: str
) -> None:
    put_tier_program(container(), "demo-store", coupon_tiers("five-off"), now=NOW, expected_version=None)
    pay("g-1", "600.00")
    assert shopify.requests == []  # the webhook never waits on Shopify
    [coupon] = of(table_name, "coupon")
    assert (coupon["shopify"], coupon["stored_status"]) == ("pending", "issued")
    assert len(of(table_name, "coupon_shopify_pending")) == 1
    assert events(table_name, "coupon_created") == []  # announced once Shopify has it
    assert run_due(NOW + timedelta(minutes=5)).detail.endswith("1 pending coupon settled with Shopify")
    lookup, create = shopify.requests
    assert lookup["variables"] == {"code": coupon["code"]}
    assert (
        create["variables"]["basicCodeDiscount"]
        | {
            "code": coupon["code"],
            "usageLimit": 1,
            "context": {"customers": {"add": [f"gid://shopify/Customer/{CUSTOMER}"]}},
            "customerGets": {
                "value": {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}},
                "items": {"all": True},
            },
        }
        == create["variables"]["basicCodeDiscount"]
    )
    [settled] = of(table_name, "coupon")
    assert (settled["shopify"], settled["shopify_discount_id"]) == ("created", GID)
    assert of(table_name, "coupon_shopify_pending") == []
    [created] = events(table_name, "coupon_created")
    assert created["payload"]["customer"]["email"] == "ana@example.com"
    assert_ledgers_balance(table_name)
