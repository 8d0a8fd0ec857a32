"""Wallet, customers, triggers, adjustments, cart coins and the orders API, in-process on moto."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain.customers import CustomerData
from pollen.domain.errors import DomainError
from pollen.domain.triggers import TriggerSettings
from pollen.services.container import container
from pollen.services.customers import upsert_customer
from pollen.services.triggers import award_trigger, put_trigger
from pollen.storage.client import CallCounter
from tests.support.ledger import assert_ledgers_balance
from tests.support.problems import problem

ORDER: dict[str, Any] = {
    "order_id": "5001",
    "customer_id": "c-42",
    "email": "Ana@Example.com",
    "currency": "USD",
    "lines": [
        {"line_id": "l-1", "product_id": "p-1", "quantity": 2, "unit_price": "40.00", "discount": "10.00"},
        {"line_id": "l-2", "product_id": "p-2", "quantity": 1, "unit_price": "30.50"},
    ],
    "total": "110.00",
}


def scan(table_name: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=table_name)["Items"]


def balance(api: InProcessApi, demo: DemoStore, customer: str = "c-42") -> int:
    value: int = api.get(f"/v1/customers/{customer}/wallet", key=demo.api_keys.read).json()["balance"]
    return value


def test_orders_api_create_paid_refund_cancel(api: InProcessApi, demo: DemoStore, table_name: str) -> None:
    write = demo.api_keys.write
    created = api.post("/v1/orders", key=write, json_body=ORDER)
    assert created.status == 200, created.body
    assert created.json()["coins_pending"] == 100  # 70.00 + 30.50 → 100 coins, floored
    wallet = api.get("/v1/customers/c-42/wallet", key=demo.api_keys.read).json()
    assert (wallet["balance"], wallet["pending"]) == (0, 100)
    assert api.post("/v1/orders/5001/paid", key=write).json()["coins_credited"] == 100
    refund = {"refund_id": "r-1", "lines": [{"line_id": "l-2", "quantity": 1, "subtotal": "30.50"}]}
    assert api.post("/v1/orders/5001/refunds", key=write, json_body=refund).json()["coins_credited"] == 70
    assert balance(api, demo) == 70
    assert api.post("/v1/orders/5001/cancel", key=write).json()["status"] == "cancelled"
    assert balance(api, demo) == 0
    admin_view = api.get("/v1/admin/orders/5001", key=demo.api_keys.admin).json()
    assert (admin_view["cancelled"], admin_view["refunds"], admin_view["shortfall"]) == (True, ["r-1"], 0)
    assert_ledgers_balance(table_name)


def test_orders_api_refuses_bad_input_and_writes_nothing(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = scan(table_name)
    write = demo.api_keys.write
    assert "currency" in {
        e["field"]
        for e in problem(api.post("/v1/orders", key=write, json_body={**ORDER, "currency": "EUR"}), 422)[
            "errors"
        ]
    }
    missing = {k: v for k, v in ORDER.items() if k != "order_id"}
    assert "order_id" in {
        e["field"] for e in problem(api.post("/v1/orders", key=write, json_body=missing), 422)["errors"]
    }
    negative = {**ORDER, "lines": [{**ORDER["lines"][0], "unit_price": "-1"}]}
    problem(api.post("/v1/orders", key=write, json_body=negative), 422)
    problem(api.post("/v1/orders", key=demo.api_keys.read, json_body=ORDER), 403)
    problem(api.post("/v1/orders", json_body=ORDER), 401)
    problem(
        api.post("/v1/orders", key=write, body=b"{oops", headers={"content-type": "application/json"}), 400
    )
    assert scan(table_name) == before


def test_idempotency_key_replays_the_same_answer(api: InProcessApi, demo: DemoStore, table_name: str) -> None:
    headers = {"idempotency-key": "k-1"}
    first = api.post(
        "/v1/orders", key=demo.api_keys.write, json_body={**ORDER, "paid": True}, headers=headers
    )
    again = api.post(
        "/v1/orders", key=demo.api_keys.write, json_body={**ORDER, "paid": True}, headers=headers
    )
    assert first.json()["coins_credited"] == 100
    assert again.status == 200
    assert balance(api, demo) == 100
    assert_ledgers_balance(table_name)


def test_unknown_customer_is_a_404_problem(api: InProcessApi, demo: DemoStore) -> None:
    problem(api.get("/v1/customers/nobody/wallet", key=demo.api_keys.read), 404)
    problem(api.get("/v1/customers/nobody/transactions", key=demo.api_keys.read), 404)


def test_put_customer_creates_then_updates_and_claims_guest_orders(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    guest = {**ORDER, "customer_id": None, "paid": True}
    assert api.post("/v1/orders", key=demo.api_keys.write, json_body=guest).json()["customer_id"] is None
    created = api.put(
        "/v1/customers/c-42",
        key=demo.api_keys.write,
        json_body={"email": "ana@example.com", "email_verified": True},  # the server vouches for it
    )
    assert created.status == 201, created.body
    assert created.json()["claimed_orders"] == ["5001"]
    assert balance(api, demo) == 100
    updated = api.put("/v1/customers/c-42", key=demo.api_keys.write, json_body={"first_name": "Ana"})
    assert updated.status == 200
    assert (updated.json()["first_name"], updated.json()["email"]) == ("Ana", "ana@example.com")
    assert balance(api, demo) == 100
    problem(api.put("/v1/customers/c-42", key=demo.api_keys.write, json_body={"email": "not-an-email"}), 422)
    assert_ledgers_balance(table_name)


def test_transactions_are_newest_first_paginated_and_filtered(api: InProcessApi, demo: DemoStore) -> None:
    api.put("/v1/customers/c-42", key=demo.api_keys.write, json_body={})
    for n in range(5):
        api.post(
            "/v1/admin/customers/c-42/adjustments",
            key=demo.api_keys.admin,
            json_body={"coins": 10 + n, "reason": f"gift {n}"},
        )
    api.post(
        "/v1/admin/customers/c-42/adjustments",
        key=demo.api_keys.admin,
        json_body={"coins": -5, "reason": "oops"},
    )
    seen: list[int] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/customers/c-42/transactions", key=demo.api_keys.read, query=query).json()
        seen.extend(t["balance_after"] for t in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [55, 60, 46, 33, 21, 10]
    debits = api.get(
        "/v1/customers/c-42/transactions", key=demo.api_keys.read, query={"type": "adjust", "limit": "50"}
    ).json()["items"]
    assert len(debits) == 6
    problem(api.get("/v1/customers/c-42/transactions", key=demo.api_keys.read, query={"type": "nope"}), 422)


def test_adjustments_never_go_below_zero(api: InProcessApi, demo: DemoStore, table_name: str) -> None:
    admin = demo.api_keys.admin
    api.put("/v1/customers/c-42", key=demo.api_keys.write, json_body={})
    assert (
        api.post(
            "/v1/admin/customers/c-42/adjustments", key=admin, json_body={"coins": 30, "reason": "hi"}
        ).status
        == 201
    )
    too_much = api.post(
        "/v1/admin/customers/c-42/adjustments", key=admin, json_body={"coins": -31, "reason": "x"}
    )
    assert problem(too_much, 409)["type"].endswith("insufficient-coins")
    problem(
        api.post("/v1/admin/customers/c-42/adjustments", key=admin, json_body={"coins": 0, "reason": "x"}),
        422,
    )
    problem(
        api.post("/v1/admin/customers/ghost/adjustments", key=admin, json_body={"coins": 5, "reason": "x"}),
        404,
    )
    assert balance(api, demo) == 30
    assert_ledgers_balance(table_name)


def test_triggers_admin_crud_and_award_frequencies(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    admin, write = demo.api_keys.admin, demo.api_keys.write
    assert api.put("/v1/admin/triggers/social_follow", key=admin, json_body={"coins": 25}).status == 201
    assert (
        api.put("/v1/admin/triggers/review", key=admin, json_body={"coins": 5, "frequency": 2}).status == 201
    )
    assert (
        api.put(
            "/v1/admin/triggers/daily_login", key=admin, json_body={"coins": 1, "frequency": "daily"}
        ).status
        == 201
    )
    assert [t["trigger_id"] for t in api.get("/v1/admin/triggers", key=admin).json()["items"]] == [
        "app_install",
        "daily_login",
        "review",
        "signup",
        "social_follow",
    ]
    problem(api.put("/v1/admin/triggers/bad", key=admin, json_body={"coins": 0}), 422)
    api.put("/v1/customers/c-42", key=write, json_body={})
    awarded = api.post("/v1/customers/c-42/triggers/social_follow", key=write)
    assert awarded.status == 201
    assert awarded.json()["balance"] == 25
    problem(api.post("/v1/customers/c-42/triggers/social_follow", key=write), 409)
    assert api.post("/v1/customers/c-42/triggers/review", key=write).status == 201
    assert api.post("/v1/customers/c-42/triggers/review", key=write).status == 201
    problem(api.post("/v1/customers/c-42/triggers/review", key=write), 409)
    assert api.post("/v1/customers/c-42/triggers/daily_login", key=write).status == 201
    problem(api.post("/v1/customers/c-42/triggers/daily_login", key=write), 409)
    problem(api.post("/v1/customers/c-42/triggers/unknown", key=write), 404)
    api.put("/v1/admin/triggers/review", key=admin, json_body={"coins": 5, "enabled": False})
    problem(api.post("/v1/customers/c-42/triggers/review", key=write), 409)
    assert api.delete("/v1/admin/triggers/review", key=admin).status == 204
    problem(api.get("/v1/admin/triggers/review", key=admin), 404)
    assert balance(api, demo) == 25 + 10 + 1
    assert_ledgers_balance(table_name)


def test_trigger_idempotency_key_returns_the_same_award(api: InProcessApi, demo: DemoStore) -> None:
    api.put(
        "/v1/admin/triggers/review", key=demo.api_keys.admin, json_body={"coins": 5, "frequency": "unlimited"}
    )
    api.put("/v1/customers/c-42", key=demo.api_keys.write, json_body={})
    headers = {"idempotency-key": "review-77"}
    first = api.post("/v1/customers/c-42/triggers/review", key=demo.api_keys.write, headers=headers)
    again = api.post("/v1/customers/c-42/triggers/review", key=demo.api_keys.write, headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert first.json() == again.json()
    assert balance(api, demo) == 5


def test_an_idempotency_key_reused_for_another_request_is_refused(api: InProcessApi, demo: DemoStore) -> None:
    api.put("/v1/customers/c-42", key=demo.api_keys.write, json_body={})
    headers = {"idempotency-key": "k-9"}
    assert (
        api.post("/v1/customers/c-42/triggers/app_install", key=demo.api_keys.write, headers=headers).status
        == 201
    )
    reused = api.post("/v1/customers/c-42/triggers/signup", key=demo.api_keys.write, headers=headers)
    assert problem(reused, 422)["type"].endswith("idempotency-key-reused")
    assert balance(api, demo) == 25


def test_fifty_concurrent_awards_of_a_once_trigger_credit_once(demo: DemoStore, table_name: str) -> None:
    c = container()
    put_trigger(c, demo.merchant_id, "signup", TriggerSettings(coins=100), now=utcnow())
    upsert_customer(c, demo.merchant_id, CustomerData(customer_id="c-42"), now=utcnow(), source="api")
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def award() -> None:
        start.wait()
        try:
            award_trigger(c, demo.merchant_id, "c-42", "signup", now=utcnow())
            result = "awarded"
        except DomainError as exc:
            result = type(exc).__name__
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=award) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("awarded") == 1
    assert set(outcomes) - {"awarded"} <= {"TriggerNotAllowed"}
    assert_ledgers_balance(table_name)


def test_cart_coins_per_line_and_total_without_writing(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = scan(table_name)
    cart = {
        "currency": "USD",
        "lines": [
            {"product_id": "p-1", "quantity": 2, "unit_price": "40.00"},
            {"product_id": "p-2", "quantity": 1, "unit_price": "30.50"},
        ],
        "discount_total": "10.00",
    }
    body = api.post("/v1/cart/coins", key=demo.api_keys.read, json_body=cart).json()
    assert body["coins"] == 100
    assert [line["coins"] for line in body["lines"]] == [72, 27]
    single = {"currency": "USD", "lines": [{"product_id": "p-1", "quantity": 1, "unit_price": "19.99"}]}
    assert api.post("/v1/cart/coins", key=demo.api_keys.read, json_body=single).json()["coins"] == 19
    problem(api.post("/v1/cart/coins", key=demo.api_keys.read, json_body={**cart, "currency": "EUR"}), 422)
    problem(
        api.post("/v1/cart/coins", key=demo.api_keys.read, json_body={"currency": "USD", "lines": []}), 422
    )
    assert scan(table_name) == before


@pytest.mark.parametrize(
    ("path", "budget"), [("/v1/customers/c-42/wallet", 1), ("/v1/customers/c-42/transactions", 1)]
)
def test_reads_cost_one_call_warm(
    api: InProcessApi, demo: DemoStore, calls: CallCounter, path: str, budget: int
) -> None:
    api.post("/v1/orders", key=demo.api_keys.write, json_body={**ORDER, "paid": True})
    api.get(path, key=demo.api_keys.read)
    calls.reset()
    assert api.get(path, key=demo.api_keys.read).status == 200
    assert calls.total == budget


def test_trigger_award_costs_two_calls_warm(api: InProcessApi, demo: DemoStore, calls: CallCounter) -> None:
    api.put(
        "/v1/admin/triggers/review", key=demo.api_keys.admin, json_body={"coins": 5, "frequency": "unlimited"}
    )
    api.put("/v1/customers/c-42", key=demo.api_keys.write, json_body={})
    api.post("/v1/customers/c-42/triggers/review", key=demo.api_keys.write)
    calls.reset()
    assert api.post("/v1/customers/c-42/triggers/review", key=demo.api_keys.write).status == 201
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}
