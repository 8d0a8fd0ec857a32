"""Rewards catalogue, redemption, coupons, usage and attribution through the API, in-process on moto."""

from __future__ import annotations

import json
import threading
from collections import Counter
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from infra.inprocess import ApiResponse, InProcessApi
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain.customers import CustomerData
from pollen.domain.errors import DomainError
from pollen.services.adjustments import adjust
from pollen.services.container import container
from pollen.services.customers import upsert_customer
from pollen.services.redemption import RedeemRequest, redeem
from pollen.storage.client import CallCounter
from tests.integration.test_shopify_webhook_api import body_of, deliver
from tests.support.ledger import assert_ledgers_balance
from tests.support.problems import problem

CUSTOMER = "c-42"
_des = TypeDeserializer()


def items(table_name: str) -> list[dict[str, Any]]:
    found = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [{k: _des.deserialize(v) for k, v in i.items()} for i in found]


def funded(demo: DemoStore, coins: int, customer: str = CUSTOMER, email: str | None = None) -> None:
    c = container()
    upsert_customer(
        c, demo.merchant_id, CustomerData(customer_id=customer, email=email), now=utcnow(), source="api"
    )
    adjust(c, demo.merchant_id, customer, coins, "test funds", now=utcnow(), idempotency=None)


def balance(api: InProcessApi, demo: DemoStore, customer: str = CUSTOMER) -> int:
    value: int = api.get(f"/v1/customers/{customer}/wallet", key=demo.api_keys.read).json()["balance"]
    return value


def redeem_api(api: InProcessApi, demo: DemoStore, body: dict[str, Any], **headers: str) -> ApiResponse:
    return api.post(
        f"/v1/customers/{CUSTOMER}/redemptions", key=demo.api_keys.write, json_body=body, headers=headers
    )


def test_demo_catalogue_has_one_reward_of_each_type(api: InProcessApi, demo: DemoStore) -> None:
    listed = api.get("/v1/admin/rewards", key=demo.api_keys.admin).json()["items"]
    assert sorted(r["type"] for r in listed) == ["dynamic", "fixed_amount", "free_shipping", "percentage"]


def test_offers_show_eligibility_and_allowed_dynamic_coins(api: InProcessApi, demo: DemoStore) -> None:
    funded(demo, 120)
    offers = api.get(
        "/v1/rewards", key=demo.api_keys.read, query={"customer_id": CUSTOMER, "cart_total": "20.00"}
    ).json()["items"]
    by_id = {o["reward_id"]: o for o in offers}
    assert by_id["five-off"] | {"eligible": True} == by_id["five-off"]
    assert (by_id["five-off"]["coins"], by_id["five-off"]["value"]) == (100, "5.00")
    assert (by_id["ten-percent"]["eligible"], by_id["ten-percent"]["reason"]) == (
        False,
        "below_minimum_order",
    )
    assert by_id["free-shipping"]["eligible"] is True
    # 50% of 20.00 = 10.00 = 200 coins at 0.05, but the balance is 120 → 20 + 10k ≤ 120
    assert by_id["pay-with-coins"]["allowed_coins"] == {"min": 20, "max": 120, "step": 10}
    assert by_id["pay-with-coins"]["coin_value"] == "0.05"
    anonymous = api.get("/v1/rewards", key=demo.api_keys.read).json()["items"]
    assert all(o["eligible"] for o in anonymous)
    assert problem(api.get("/v1/rewards", key=demo.api_keys.read, query={"customer_id": "nobody"}), 404)


def test_redeem_dynamic_then_list_and_history(api: InProcessApi, demo: DemoStore, table_name: str) -> None:
    funded(demo, 500)
    response = redeem_api(
        api, demo, {"reward_id": "pay-with-coins", "coins": 300, "cart_total": "100.00", "channel": "widget"}
    )
    assert response.status == 201, response.body
    body = response.json()
    coupon = body["coupon"]
    assert (coupon["type"], coupon["value"], coupon["currency"], coupon["coins"]) == (
        "dynamic",
        "15.00",
        "USD",
        300,
    )
    assert (coupon["status"], coupon["channel"]) == ("issued", "widget")
    assert body["balance"] == 200
    assert (body["transaction"]["type"], body["transaction"]["coins"]) == ("redeem", 300)
    assert body["transaction"]["reference"] == coupon["code"]
    listed = api.get(f"/v1/customers/{CUSTOMER}/coupons", key=demo.api_keys.read).json()["items"]
    assert [c["code"] for c in listed] == [coupon["code"]]
    history = api.get(f"/v1/customers/{CUSTOMER}/transactions", key=demo.api_keys.read).json()["items"]
    assert (history[0]["type"], history[0]["coins"]) == ("redeem", 300)
    events = [i for i in items(table_name) if i.get("entity") == "outbox"]
    created = [e for e in events if e["event_type"] == "coupon_created"]
    assert len(created) == 1
    assert (
        created[0]["payload"] | {"code": coupon["code"], "coins": 300, "value": "15.00"}
        == created[0]["payload"]
    )
    assert created[0]["payload"]["customer"]["customer_id"] == CUSTOMER
    # the debit's ledger entry is its wallet_transaction event (no outbox item of its own)
    assert not [e for e in events if e["event_type"] == "wallet_transaction"]
    debits = [i for i in items(table_name) if i.get("entity") == "ledger" and i["type"] == "redeem"]
    assert len(debits) == 1
    assert debits[0]["event_id"]
    assert_ledgers_balance(table_name)


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"reward_id": "pay-with-coins", "coins": 600, "cart_total": "1000.00"}, 409, "insufficient-coins"),
        ({"reward_id": "five-off"}, 201, None),
        ({"reward_id": "ten-percent"}, 422, "validation-failed"),  # a minimum needs the cart total
        ({"reward_id": "pay-with-coins", "coins": 25, "cart_total": "100.00"}, 422, "coins-out-of-range"),
        ({"reward_id": "pay-with-coins", "coins": 300, "cart_total": "10.00"}, 422, "coins-out-of-range"),
        ({"reward_id": "pay-with-coins", "coins": 300}, 422, "validation-failed"),
        ({"reward_id": "ten-percent", "cart_total": "29.99"}, 422, "below-minimum-order"),
        ({"reward_id": "nope"}, 404, "not-found"),
        ({"reward_id": "five-off", "channel": "carrier-pigeon"}, 422, "validation-failed"),
    ],
)
def test_redemption_rules_answer_problems_and_write_nothing(
    api: InProcessApi,
    demo: DemoStore,
    table_name: str,
    *,
    body: dict[str, Any],
    status: int,
    slug: str | None,
) -> None:
    funded(demo, 500)
    before = items(table_name)
    response = redeem_api(api, demo, body)
    if slug is None:
        assert response.status == status
        return
    assert problem(response, status)["type"].endswith(slug)
    assert items(table_name) == before
    assert balance(api, demo) == 500


def test_disabled_reward_is_a_409(api: InProcessApi, demo: DemoStore) -> None:
    funded(demo, 500)
    reward = api.get("/v1/admin/rewards/five-off", key=demo.api_keys.admin).json()
    settings = {k: v for k, v in reward.items() if k not in {"reward_id", "created_at", "updated_at"}}
    assert (
        api.put(
            "/v1/admin/rewards/five-off", key=demo.api_keys.admin, json_body={**settings, "enabled": False}
        ).status
        == 200
    )
    assert problem(redeem_api(api, demo, {"reward_id": "five-off"}), 409)["type"].endswith("reward-disabled")


def test_unknown_customer_is_a_404(api: InProcessApi, demo: DemoStore) -> None:
    response = api.post(
        "/v1/customers/ghost/redemptions", key=demo.api_keys.write, json_body={"reward_id": "five-off"}
    )
    problem(response, 404)


def test_same_idempotency_key_returns_the_same_coupon(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    funded(demo, 500)
    first = redeem_api(api, demo, {"reward_id": "five-off"}, **{"idempotency-key": "k-1"})
    again = redeem_api(api, demo, {"reward_id": "five-off"}, **{"idempotency-key": "k-1"})
    assert first.status == again.status == 201
    assert first.json() == again.json()
    assert balance(api, demo) == 400
    reused = redeem_api(api, demo, {"reward_id": "free-shipping"}, **{"idempotency-key": "k-1"})
    assert problem(reused, 422)["type"].endswith("idempotency-key-reused")
    assert len([i for i in items(table_name) if i.get("entity") == "coupon"]) == 1


def test_cancel_refunds_into_the_same_lots_and_cannot_repeat(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    funded(demo, 500)
    before = api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read).json()
    code = redeem_api(api, demo, {"reward_id": "five-off"}).json()["coupon"]["code"]
    cancelled = api.delete(f"/v1/customers/{CUSTOMER}/coupons/{code.lower()}", key=demo.api_keys.write)
    assert cancelled.status == 200, cancelled.body
    body = cancelled.json()
    assert (body["coupon"]["status"], body["balance"]) == ("cancelled", 500)
    assert (body["transaction"]["type"], body["transaction"]["operation"]) == ("refund", "credit")
    after = api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read).json()
    assert after["expiring"] == before["expiring"]
    again = api.delete(f"/v1/customers/{CUSTOMER}/coupons/{code}", key=demo.api_keys.write)
    assert problem(again, 409)["type"].endswith("coupon-not-cancellable")
    other = api.delete(f"/v1/customers/someone-else/coupons/{code}", key=demo.api_keys.write)
    problem(other, 404)
    statuses = {
        s: len(
            api.get(f"/v1/customers/{CUSTOMER}/coupons", key=demo.api_keys.read, query={"status": s}).json()[
                "items"
            ]
        )
        for s in ("issued", "cancelled")
    }
    assert statuses == {"issued": 0, "cancelled": 1}
    refunds = [i for i in items(table_name) if i.get("entity") == "ledger" and i["type"] == "refund"]
    assert len(refunds) == 1
    assert refunds[0]["event_id"]  # the refund's entry is its wallet_transaction event
    assert_ledgers_balance(table_name)


def test_order_with_the_code_marks_it_used_and_attributes_the_order(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    funded(demo, 500)
    code = redeem_api(api, demo, {"reward_id": "five-off", "channel": "app"}).json()["coupon"]["code"]
    order = {
        "order_id": "o-77",
        "customer_id": CUSTOMER,
        "currency": "USD",
        "lines": [{"line_id": "l-1", "quantity": 1, "unit_price": "40.00", "discount": "5.00"}],
        "total": "35.00",
        "discount_codes": [code.lower(), "SUMMER"],
        "discount_amounts": {code.lower(): "5.00"},
    }
    created = api.post("/v1/orders", key=demo.api_keys.write, json_body=order)
    assert created.status == 200, created.body
    assert created.json()["attributions"] == [
        {
            "source": "redemption",
            "channel": "app",
            "code": code,
            "reward_id": "five-off",
            "discount_amount": "5.00",
        }
    ]
    used = api.get(
        f"/v1/customers/{CUSTOMER}/coupons", key=demo.api_keys.read, query={"status": "used"}
    ).json()
    assert [(c["code"], c["order_id"], c["discount_amount"]) for c in used["items"]] == [
        (code, "o-77", "5.00")
    ]
    # paid later: nothing is used twice, the attribution stays
    paid = api.post("/v1/orders/o-77/paid", key=demo.api_keys.write).json()
    assert len(paid["attributions"]) == 1
    assert problem(api.delete(f"/v1/customers/{CUSTOMER}/coupons/{code}", key=demo.api_keys.write), 409)
    used_events = [i for i in items(table_name) if i.get("event_type") == "coupon_used"]
    assert len(used_events) == 1
    assert used_events[0]["payload"]["order_id"] == "o-77"
    assert_ledgers_balance(table_name)


def test_another_customer_using_the_code_is_recorded_as_misuse_and_the_coupon_stays_issued(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    funded(demo, 500)
    code = redeem_api(api, demo, {"reward_id": "five-off"}).json()["coupon"]["code"]
    order = {
        "order_id": "o-88",
        "customer_id": "someone-else",
        "currency": "USD",
        "lines": [{"line_id": "l-1", "quantity": 1, "unit_price": "40.00", "discount": "5.00"}],
        "total": "35.00",
        "discount_codes": [code],
    }
    created = api.post("/v1/orders", key=demo.api_keys.write, json_body=order)
    assert created.status == 200, created.body
    assert created.json()["attributions"] == []  # not Pollen's doing: the code was not theirs
    assert created.json()["coupon_misuse"] == [
        {
            "code": code,
            "owner_customer_id": CUSTOMER,
            "buyer_customer_id": "someone-else",
            "reason": "another_customer",
        }
    ]
    issued = api.get(
        f"/v1/customers/{CUSTOMER}/coupons", key=demo.api_keys.read, query={"status": "issued"}
    ).json()
    assert [c["code"] for c in issued["items"]] == [code]  # still the owner's to use
    assert [i for i in items(table_name) if i.get("event_type") == "coupon_used"] == []
    replay = api.post("/v1/orders/o-88/paid", key=demo.api_keys.write).json()
    assert len(replay["coupon_misuse"]) == 1  # recorded once
    assert_ledgers_balance(table_name)


def test_shopify_order_webhook_using_the_code_marks_it_used(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    customer = "115310627314723954"
    funded(demo, 500, customer=customer)
    response = api.post(
        f"/v1/customers/{customer}/redemptions",
        key=demo.api_keys.write,
        json_body={"reward_id": "pay-with-coins", "coins": 200, "cart_total": "300.00"},
    )
    code = response.json()["coupon"]["code"]
    payload = json.loads(body_of("orders/paid"))
    payload["discount_codes"] = [{"code": code, "amount": "10.00", "type": "fixed_amount"}]
    assert deliver(api, demo, "orders/paid", json.dumps(payload).encode()).status == 200
    admin = api.get(f"/v1/admin/orders/{payload['id']}", key=demo.api_keys.admin).json()
    assert (
        admin["attributions"][0] | {"source": "redemption", "code": code, "discount_amount": "10.00"}
        == (admin["attributions"][0])
    )
    coupons = api.get(f"/v1/customers/{customer}/coupons", key=demo.api_keys.read).json()["items"]
    assert coupons[0]["status"] == "used"
    assert_ledgers_balance(table_name)


def test_hundred_concurrent_redemptions_against_ten_rewards_worth(demo: DemoStore, table_name: str) -> None:
    funded(demo, 1000)
    c = container()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(100)

    def attempt() -> None:
        start.wait()
        try:
            redeem(
                c,
                demo.merchant_id,
                CUSTOMER,
                RedeemRequest(reward_id="five-off", coins=None, cart_total=None, channel="app"),
                now=utcnow(),
            )
            result = "redeemed"
        except DomainError as exc:
            result = type(exc).__name__
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=attempt) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes["redeemed"] == 10, outcomes
    assert set(outcomes) - {"redeemed"} <= {"InsufficientCoins", "RetryableConflict"}
    coupons = [i for i in items(table_name) if i.get("entity") == "coupon"]
    assert len({c["code"] for c in coupons}) == len(coupons) == 10
    wallet = next(
        i for i in items(table_name) if i.get("entity") == "customer" and i["customer_id"] == CUSTOMER
    )
    assert wallet["wallet"]["balance"] == 0
    assert_ledgers_balance(table_name)


def test_redemption_costs_two_calls_warm(api: InProcessApi, demo: DemoStore, calls: CallCounter) -> None:
    funded(demo, 500)
    redeem_api(api, demo, {"reward_id": "five-off"})  # warm the container
    calls.reset()
    assert redeem_api(api, demo, {"reward_id": "five-off"}, **{"idempotency-key": "warm"}).status == 201
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}
    api.get(f"/v1/customers/{CUSTOMER}/coupons", key=demo.api_keys.read)  # warms the read key
    calls.reset()
    coupons = api.get(f"/v1/customers/{CUSTOMER}/coupons", key=demo.api_keys.read).json()["items"]
    assert calls.snapshot() == {"Query": 1}
    calls.reset()
    code = coupons[0]["code"]
    assert api.delete(f"/v1/customers/{CUSTOMER}/coupons/{code}", key=demo.api_keys.write).status == 200
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}


def test_admin_rewards_crud_validation_and_auth(api: InProcessApi, demo: DemoStore) -> None:
    admin = demo.api_keys.admin
    body = {"type": "percentage", "name": "15% off", "coins": 300, "percentage": "15", "validity_days": 7}
    created = api.put("/v1/admin/rewards/fifteen", key=admin, json_body=body)
    assert created.status == 201, created.body
    assert created.json() | {"reward_id": "fifteen", "percentage": "15", "enabled": True} == created.json()
    assert api.put("/v1/admin/rewards/fifteen", key=admin, json_body={**body, "coins": 250}).status == 200
    assert api.get("/v1/admin/rewards/fifteen", key=admin).json()["coins"] == 250
    bad = api.put("/v1/admin/rewards/fifteen", key=admin, json_body={**body, "percentage": "150"})
    assert "percentage" in {e["field"].split(".")[-1] for e in problem(bad, 422)["errors"]}
    assert problem(api.put("/v1/admin/rewards/Bad Id", key=admin, json_body=body), 422)
    assert problem(api.put("/v1/admin/rewards/fifteen", key=demo.api_keys.write, json_body=body), 403)
    assert problem(api.get("/v1/admin/rewards", key=demo.api_keys.read), 403)
    assert api.delete("/v1/admin/rewards/fifteen", key=admin).status == 204
    assert problem(api.get("/v1/admin/rewards/fifteen", key=admin), 404)
    assert problem(api.delete("/v1/admin/rewards/fifteen", key=admin), 404)


def test_coupon_pages_are_newest_first_with_a_cursor(api: InProcessApi, demo: DemoStore) -> None:
    funded(demo, 1000)
    codes = [redeem_api(api, demo, {"reward_id": "free-shipping"}).json()["coupon"]["code"] for _ in range(5)]
    first = api.get(f"/v1/customers/{CUSTOMER}/coupons", key=demo.api_keys.read, query={"limit": "3"}).json()
    second = api.get(
        f"/v1/customers/{CUSTOMER}/coupons",
        key=demo.api_keys.read,
        query={"limit": "3", "cursor": first["next_cursor"]},
    ).json()
    listed = [c["code"] for c in first["items"] + second["items"]]
    assert sorted(listed) == sorted(codes)
    assert Decimal(first["items"][0]["coins"]) == 80
