"""Only servers mint coins, and never more than the program's limits: every amount past a bound is a
422 that writes nothing, and no wallet can reach a value its own reads cannot serve."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain.errors import ValidationFailed
from pollen.domain.wallet import MAX_COINS, Source, TxnType, Wallet
from tests.support.problems import problem

LINE = {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_price": "10.00"}
ORDER: dict[str, Any] = {
    "order_id": "b-1",
    "customer_id": "c-1",
    "currency": "USD",
    "lines": [LINE],
    "paid": True,
}


def scan(table_name: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=table_name)["Items"]


def refused(api: InProcessApi, key: str, path: str, body: Any) -> dict[str, Any]:
    return problem(api.post(path, key=key, json_body=body), 422)


@pytest.mark.parametrize(
    "line",
    [
        {**LINE, "quantity": 2**63},  # once credited ~9.2e18 coins
        {**LINE, "quantity": 10**37},  # once credited, then every wallet read was a 500
        {**LINE, "quantity": 10_001},  # past the default limits.max_quantity
        {**LINE, "unit_price": "1000000.01"},  # past the default limits.max_unit_price
        {**LINE, "unit_price": "1e37"},
        {**LINE, "quantity": 10_000, "unit_price": "999999.00"},  # each bound holds; the coins do not
    ],
)
def test_orders_past_the_bounds_are_422_and_write_nothing(
    api: InProcessApi, demo: DemoStore, table_name: str, line: dict[str, Any]
) -> None:
    before = scan(table_name)
    refused(api, demo.api_keys.write, "/v1/orders", {**ORDER, "lines": [line]})
    assert scan(table_name) == before


def test_a_merchant_raises_the_limits_for_bigger_orders(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    big = {**ORDER, "lines": [{**LINE, "quantity": 20_000, "unit_price": "100.00"}]}
    answer = refused(api, demo.api_keys.write, "/v1/orders", big)
    assert [e["field"] for e in answer["errors"]] == ["lines.0.quantity"]
    program = api.get("/v1/admin/program", key=demo.api_keys.admin)
    settings = {k: v for k, v in program.json().items() if k not in {"version", "updated_at"}}
    assert settings["limits"] == {
        "max_quantity": 10_000,
        "max_unit_price": "1000000",
        "max_coins_per_order": 1_000_000,
        "max_coins_per_call": 1_000_000,
    }
    settings["limits"] = {**settings["limits"], "max_quantity": 50_000, "max_coins_per_order": 5_000_000}
    updated = api.put(
        "/v1/admin/program",
        key=demo.api_keys.admin,
        json_body=settings,
        headers={"if-match": program.headers["etag"]},
    )
    assert updated.status == 200, updated.body
    assert (
        api.post("/v1/orders", key=demo.api_keys.write, json_body=big).json()["coins_credited"] == 2_000_000
    )
    wallet = api.get("/v1/customers/c-1/wallet", key=demo.api_keys.read)
    assert wallet.status == 200
    assert wallet.json()["balance"] == 2_000_000
    bad = {**settings, "limits": {**settings["limits"], "max_quantity": 10**7}}
    put = api.put("/v1/admin/program", key=demo.api_keys.admin, json_body=bad)
    assert put.status == 422  # the absolute ceiling is not configurable


def test_coins_per_call_bound_adjustments_and_triggers(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    api.put("/v1/customers/c-1", key=demo.api_keys.write, json_body={})
    program = api.get("/v1/admin/program", key=demo.api_keys.admin).json()
    settings = {k: v for k, v in program.items() if k not in {"version", "updated_at"}}
    settings["limits"] = {**settings["limits"], "max_coins_per_call": 500}
    assert api.put("/v1/admin/program", key=demo.api_keys.admin, json_body=settings).status == 200
    before = scan(table_name)
    path = "/v1/admin/customers/c-1/adjustments"
    for coins in (501, -501, 10**12, 2**63):
        refused(api, demo.api_keys.admin, path, {"coins": coins, "reason": "too many"})
    put = api.put("/v1/admin/triggers/review", key=demo.api_keys.admin, json_body={"coins": 501})
    assert put.status == 422
    assert scan(table_name) == before
    assert api.post(path, key=demo.api_keys.admin, json_body={"coins": 500, "reason": "ok"}).status == 201


def test_no_credit_takes_a_wallet_past_what_json_readers_read_exactly() -> None:
    now = utcnow()
    wallet = Wallet(customer_id="c", balance=MAX_COINS - 1, lots={"never": MAX_COINS - 1})
    full, _ = wallet.credit(
        1, type=TxnType.ADJUST, source=Source.ADMIN, reference="r", now=now, expiry_days=None
    )
    assert full.balance == MAX_COINS == 2**53 - 1
    with pytest.raises(ValidationFailed):
        full.credit(1, type=TxnType.ADJUST, source=Source.ADMIN, reference="r", now=now, expiry_days=None)
    with pytest.raises(ValidationFailed):
        full.with_pending(1)
