"""Findings of the attack on main (issue: every bad input a clear 4xx with nothing written), as an
attacker would send them: unaddressable ids, lax numbers, duplicate keys, deep and huge bodies,
bodies that are not JSON, and one client starving the rest."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from infra.inprocess import ApiResponse, InProcessApi
from infra.onboard import onboard
from infra.seed import DEMO_PROGRAM, DemoStore
from pollen.api.limits import TokenBuckets
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.integrations.shopify.webhooks import sign
from pollen.services import api_keys
from pollen.services.container import container, reset_container
from tests.support.problems import problem

_des = TypeDeserializer()
ORDER = {
    "order_id": "o-1",
    "currency": "USD",
    "lines": [{"line_id": "l1", "quantity": 1, "unit_price": "50"}],
}
BODY_ROUTES = [
    ("POST", "/v1/orders"),
    ("PUT", "/v1/admin/program"),
    ("PUT", "/v1/admin/triggers/visit"),
    ("POST", "/v1/admin/customers/c1/adjustments"),
    ("PUT", "/v1/customers/c1"),
    ("POST", "/v1/customers/c1/redemptions"),
    ("POST", "/v1/cart/coins"),
    ("PUT", "/v1/admin/integrations/hooks"),
    ("POST", "/v1/admin/event-subscriptions"),
    ("PUT", "/v1/admin/shopify"),
    ("PUT", "/v1/admin/rewards/r1"),
    ("POST", "/v1/admin/api-keys"),
    ("PUT", "/v1/admin/events/settings"),
    ("POST", "/v1/orders/o-1/refunds"),
    ("POST", "/v1/admin/deliveries/dead-letters/replay"),
]


def _items(table_name: str) -> list[dict[str, Any]]:
    found = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [{k: _des.deserialize(v) for k, v in item.items()} for item in found]


@pytest.mark.parametrize("customer_id", ["c£1", "a?b", ".", "..", "a/b", "a#b", " c1", "é", "x" * 129])
def test_an_order_for_a_customer_no_route_can_address_is_refused_and_writes_nothing(
    api: InProcessApi, demo: DemoStore, table_name: str, customer_id: str
) -> None:
    before = _items(table_name)
    response = api.post(
        "/v1/orders", key=demo.api_keys.admin, json_body={**ORDER, "customer_id": customer_id, "paid": True}
    )
    body = problem(response, 422)
    assert body["errors"][0]["field"] == "customer_id"
    assert _items(table_name) == before


@pytest.mark.parametrize("coins", ["10", True, 1.0, 1e3, None, [10], {"n": 10}])
def test_coins_are_json_integers_only(
    api: InProcessApi, demo: DemoStore, table_name: str, coins: Any
) -> None:
    before = _items(table_name)
    response = api.post(
        "/v1/admin/customers/c1/adjustments",
        key=demo.api_keys.admin,
        json_body={"coins": coins, "reason": "test"},
    )
    problem(response, 422)
    trigger = api.put(
        "/v1/admin/triggers/visit",
        key=demo.api_keys.admin,
        json_body={"name": "Visit", "coins": coins, "frequency": "once"},
    )
    problem(trigger, 422)
    assert _items(table_name) == before


@pytest.mark.parametrize("enabled", [0, 1, "true", "false", None])
def test_switches_are_json_booleans_only(api: InProcessApi, demo: DemoStore, enabled: Any) -> None:
    problem(
        api.put("/v1/admin/events/settings", key=demo.api_keys.admin, json_body={"enabled": enabled}), 422
    )


@pytest.mark.parametrize("amount", [10.5, True, 1e3])
def test_money_is_never_a_float_or_a_boolean(api: InProcessApi, demo: DemoStore, amount: Any) -> None:
    response = api.post(
        "/v1/cart/coins",
        key=demo.api_keys.read,
        json_body={
            "lines": [{"product_id": "p1", "quantity": 1, "unit_price": "10"}],
            "discount_total": amount,
        },
    )
    problem(response, 422)
    reward = {"type": "fixed_amount", "name": "Five off", "coins": 500, "amount": amount}
    problem(api.put("/v1/admin/rewards/five", key=demo.api_keys.admin, json_body=reward), 422)


def test_duplicate_keys_are_refused_not_last_wins(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = _items(table_name)
    raw = b'{"coins": 1, "coins": 1000000, "reason": "dup"}'
    response = api.post(
        "/v1/admin/customers/c1/adjustments",
        key=demo.api_keys.admin,
        body=raw,
        headers={"content-type": "application/json"},
    )
    assert "appears twice" in problem(response, 400)["detail"]
    assert _items(table_name) == before


def _shopify(api: InProcessApi, demo: DemoStore, raw: bytes) -> ApiResponse:
    return api.post(
        "/webhooks/shopify",
        body=raw,
        headers={
            "content-type": "application/json",
            "x-shopify-topic": "orders/create",
            "x-shopify-shop-domain": demo.shopify.shop_domain,
            "x-shopify-webhook-id": str(uuid.uuid4()),
            "x-shopify-hmac-sha256": sign(demo.shopify.webhook_secret, raw),
        },
    )


def test_json_nested_100k_deep_is_a_4xx_or_a_logged_rejection_never_a_500(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = _items(table_name)
    deep = b"[" * 100_000 + b"]" * 100_000  # 200 kB: under the size limit, so depth is what is refused
    signed = _shopify(api, demo, deep)  # a signed webhook is never refused for its content (Shopify
    assert signed.status == 200, signed.body  # would retry, then drop the subscription): logged instead
    assert signed.json()["rejected"] is True
    rejected = api.get("/v1/admin/shopify/rejected-webhooks", key=demo.api_keys.admin).json()["items"]
    assert [r["reason"] for r in rejected] == ["invalid_json"]
    before += [i for i in _items(table_name) if i not in before and str(i.get("PK", "")).endswith("#REJ")]
    problem(api.post("/v1/orders", key=demo.api_keys.admin, body=deep), 400)
    shallow_but_too_deep = b"[" * 40 + b"]" * 40
    problem(api.post("/v1/orders", key=demo.api_keys.admin, body=shallow_but_too_deep), 400)
    assert _items(table_name) == before


def test_a_huge_body_is_a_413_signed_or_not(api: InProcessApi, demo: DemoStore) -> None:
    huge = b'{"note": "' + b"x" * 300_000 + b'"}'
    problem(api.post("/v1/orders", key=demo.api_keys.admin, body=huge), 413)
    enormous = b'{"note": "' + b"x" * 5_000_000 + b'"}'  # webhooks read their own body, up to 5 MB
    problem(_shopify(api, demo, enormous), 413)


NOT_JSON = [
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "text/plain",
]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_a_body_that_is_not_json_is_a_415(
    api: InProcessApi, demo: DemoStore, table_name: str, method: str, path: str
) -> None:
    before = _items(table_name)
    for content_type in NOT_JSON:
        for body in (b"", b"--x\r\ncontent-disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n"):
            response = api.request(
                method, path, key=demo.api_keys.admin, body=body, headers={"content-type": content_type}
            )
            problem(response, 415)
    assert _items(table_name) == before


# ---- rate limits ---------------------------------------------------------------------------------


def test_a_token_bucket_refills_at_its_rate_and_says_when() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    assert buckets.take("a") == 1  # half a second to the next token: rounded up
    assert buckets.take("b") is None  # another key has its own bucket
    now[0] = 0.5
    assert buckets.take("a") is None
    assert buckets.take("a") == 1
    now[0] = 100.0
    assert [buckets.take("a") for _ in range(4)] == [None, None, None, 1]  # never more than the burst


@pytest.fixture
def tight_limits(monkeypatch: pytest.MonkeyPatch, aws: Any) -> None:
    for name, value in {
        "RATE_LIMIT_MERCHANT_RPS": "0.01",
        "RATE_LIMIT_MERCHANT_BURST": "5",
        "RATE_LIMIT_ANONYMOUS_RPS": "0.01",
        "RATE_LIMIT_ANONYMOUS_BURST": "3",
    }.items():
        monkeypatch.setenv(name, value)
    reset_container()  # settings are read again, and the buckets sized from them


def test_a_noisy_store_is_limited_and_the_others_are_not(
    api: InProcessApi, demo: DemoStore, tight_limits: None
) -> None:
    other = onboard("quiet-store", "Quiet Store", DEMO_PROGRAM)
    _, second_key = api_keys.create_key(
        container(), demo.merchant_id, name="another", scope=Scope.ADMIN, now=utcnow()
    )
    noisy = [api.get("/v1/admin/program", key=demo.api_keys.admin).status for _ in range(8)]
    assert noisy == [200] * 5 + [429] * 3
    limited = api.get("/v1/admin/program", key=second_key)  # every key of the store shares the budget
    body = problem(limited, 429)
    assert body["type"] == "urn:pollen:problem:rate-limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert api.get("/v1/admin/program", key=other.admin).status == 200


def test_callers_without_a_valid_key_get_a_lower_budget_of_their_own(
    api: InProcessApi, demo: DemoStore, tight_limits: None
) -> None:
    forged = "pollen.demo-store.0123456789abcdef.not-the-secret"
    answers = [api.get("/v1/admin/program", key=forged).status for _ in range(3)]
    assert answers == [401, 401, 401]
    problem(api.get("/v1/admin/program", key=forged), 429)
    problem(api.get("/v1/admin/program"), 429)  # no key at all: refused before any look-up
    assert api.get("/v1/admin/program", key=demo.api_keys.admin).status == 200  # the store is unaffected


def test_a_valid_key_refused_for_its_scope_pays_from_its_store_not_from_strangers(
    api: InProcessApi, demo: DemoStore, tight_limits: None
) -> None:
    answers = [api.get("/v1/admin/program", key=demo.api_keys.read).status for _ in range(6)]
    assert answers == [403] * 5 + [429]
    assert api.get("/v1/admin/program").status == 401  # the anonymous budget was not touched


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ("null", 400),  # not an entity tag at all
        ("", 400),
        ('"stale-0"', 412),  # well-formed entity tags (RFC 9110) this API never issued: cannot match
        ('"-1"', 412),
        ('"\uff11"', 412),
        ('"' + "9" * 30 + '"', 412),
    ],
)
def test_a_malformed_if_match_is_a_4xx_not_a_500(
    api: InProcessApi, demo: DemoStore, table_name: str, if_match: str, status: int
) -> None:
    program = api.get("/v1/admin/program", key=demo.api_keys.admin).json()
    body = {k: program[k] for k in ("currency", "earning", "coin_value", "expiry")}
    before = _items(table_name)
    response = api.put(
        "/v1/admin/program", key=demo.api_keys.admin, json_body=body, headers={"if-match": if_match}
    )
    answer = problem(response, status)
    if status == 400:
        assert answer["errors"][0]["field"] == "if-match"
    assert _items(table_name) == before
