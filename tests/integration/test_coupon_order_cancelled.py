"""Issue 16.7: a Pollen coupon whose order is cancelled gives its coins back and is cancelled, once.

Shopify keeps a cancelled order's discount code spent, so the coupon cannot become ``issued``
again; the coins return into the lots they came from (a ``refund`` ledger entry).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.storage.client import CallCounter
from tests.integration.test_redemption_api import balance, funded, items
from tests.integration.test_shopify_webhook_api import body_of, deliver
from tests.support.ledger import assert_ledgers_balance

SHOPIFY_CUSTOMER = "115310627314723954"


def _redeem(api: InProcessApi, demo: DemoStore, customer: str, reward: str = "five-off") -> dict[str, Any]:
    response = api.post(
        f"/v1/customers/{customer}/redemptions", key=demo.api_keys.write, json_body={"reward_id": reward}
    )
    assert response.status == 201, response.body
    coupon: dict[str, Any] = response.json()["coupon"]
    return coupon


def _with_code(topic: str, code: str) -> bytes:
    payload = json.loads(body_of(topic))
    payload["discount_codes"] = [{"code": code, "amount": "5.00", "type": "fixed_amount"}]
    return json.dumps(payload).encode()


def _coupon(api: InProcessApi, demo: DemoStore, customer: str, code: str) -> dict[str, Any]:
    listed: list[dict[str, Any]] = api.get(
        f"/v1/customers/{customer}/coupons", key=demo.api_keys.read
    ).json()["items"]
    [coupon] = [c for c in listed if c["code"] == code]
    return coupon


def _history(api: InProcessApi, demo: DemoStore, customer: str) -> list[tuple[str, int, str]]:
    listed = api.get(f"/v1/customers/{customer}/transactions", key=demo.api_keys.read).json()["items"]
    return [(t["type"], t["coins"], t["reference"]) for t in listed]


def test_shopify_cancel_gives_the_coupons_coins_back_once_in_two_calls(
    api: InProcessApi, demo: DemoStore, table_name: str, calls: CallCounter
) -> None:
    funded(demo, 500, customer=SHOPIFY_CUSTOMER)
    coupon = _redeem(api, demo, SHOPIFY_CUSTOMER)
    code, coins = coupon["code"], coupon["coins"]
    assert deliver(api, demo, "orders/paid", _with_code("orders/paid", code)).status == 200
    assert _coupon(api, demo, SHOPIFY_CUSTOMER, code)["status"] == "used"
    assert balance(api, demo, SHOPIFY_CUSTOMER) == 500 - coins + 234

    calls.reset()
    cancelled = deliver(api, demo, "orders/cancelled", _with_code("orders/cancelled", code), webhook_id="x-1")
    assert cancelled.status == 200, cancelled.body
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}  # the webhook's budget
    assert cancelled.json()["status"] == "cancelled"
    assert balance(api, demo, SHOPIFY_CUSTOMER) == 500  # the order's 234 taken back, the coupon's coins given
    shown = _coupon(api, demo, SHOPIFY_CUSTOMER, code)
    assert shown["status"] == "cancelled"
    history = _history(api, demo, SHOPIFY_CUSTOMER)  # newest first
    assert history[:2] == [("refund", coins, code), ("reversal", 234, "820982911946154508")]

    # replays: the same delivery, another delivery id, and the orders API's cancel change nothing
    snapshot = sorted(json.dumps(i, sort_keys=True, default=str) for i in items(table_name))
    deliver(api, demo, "orders/cancelled", _with_code("orders/cancelled", code), webhook_id="x-1")
    deliver(api, demo, "orders/cancelled", _with_code("orders/cancelled", code), webhook_id="x-2")
    assert api.post("/v1/orders/820982911946154508/cancel", key=demo.api_keys.write).status == 200
    assert sorted(json.dumps(i, sort_keys=True, default=str) for i in items(table_name)) == snapshot
    events = [i for i in items(table_name) if i.get("event_type") == "coupon_cancelled"]
    assert len(events) == 1
    assert events[0]["payload"]["reason"] == "order_cancelled"
    assert_ledgers_balance(table_name)


def test_orders_api_cancel_reads_the_coupon_and_gives_its_coins_back(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    funded(demo, 500)
    coupon = _redeem(api, demo, "c-42")
    order = {
        "order_id": "o-91",
        "customer_id": "c-42",
        "currency": "USD",
        "lines": [{"line_id": "l-1", "quantity": 1, "unit_price": "40.00", "discount": "5.00"}],
        "discount_codes": [coupon["code"]],
        "paid": True,
    }
    assert api.post("/v1/orders", key=demo.api_keys.write, json_body=order).status == 200
    assert balance(api, demo, "c-42") == 500 - coupon["coins"] + 35  # 35 coins for the order
    assert api.post("/v1/orders/o-91/cancel", key=demo.api_keys.write).json()["status"] == "cancelled"
    assert balance(api, demo, "c-42") == 500
    assert _coupon(api, demo, "c-42", coupon["code"])["status"] == "cancelled"
    assert_ledgers_balance(table_name)


def test_a_cancel_arriving_first_uses_and_cancels_the_coupon_in_one_write(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    funded(demo, 500, customer=SHOPIFY_CUSTOMER)
    coupon = _redeem(api, demo, SHOPIFY_CUSTOMER)
    body = _with_code("orders/cancelled", coupon["code"])
    assert deliver(api, demo, "orders/cancelled", body).status == 200
    assert deliver(api, demo, "orders/paid", _with_code("orders/paid", coupon["code"])).status == 200  # late
    assert _coupon(api, demo, SHOPIFY_CUSTOMER, coupon["code"])["status"] == "cancelled"
    assert balance(api, demo, SHOPIFY_CUSTOMER) == 500
    assert_ledgers_balance(table_name)


def test_racing_cancellations_give_the_coins_back_once(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    funded(demo, 500, customer=SHOPIFY_CUSTOMER)
    coupon = _redeem(api, demo, SHOPIFY_CUSTOMER)
    assert deliver(api, demo, "orders/paid", _with_code("orders/paid", coupon["code"])).status == 200
    body = _with_code("orders/cancelled", coupon["code"])
    answers: list[int] = []
    barrier = threading.Barrier(4)

    def cancel(n: int) -> None:
        barrier.wait()
        answers.append(deliver(api, demo, "orders/cancelled", body, webhook_id=f"race-{n}").status)

    threads = [threading.Thread(target=cancel, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 4
    assert balance(api, demo, SHOPIFY_CUSTOMER) == 500
    refunds = [t for t in _history(api, demo, SHOPIFY_CUSTOMER) if t[0] == "refund"]
    assert refunds == [("refund", coupon["coins"], coupon["code"])]
    assert_ledgers_balance(table_name)


def test_a_refund_leaves_the_coupon_used(api: InProcessApi, demo: DemoStore, table_name: str) -> None:
    funded(demo, 500, customer=SHOPIFY_CUSTOMER)
    coupon = _redeem(api, demo, SHOPIFY_CUSTOMER)
    assert deliver(api, demo, "orders/paid", _with_code("orders/paid", coupon["code"])).status == 200
    assert deliver(api, demo, "refunds/create").status == 200
    assert _coupon(api, demo, SHOPIFY_CUSTOMER, coupon["code"])["status"] == "used"
    assert_ledgers_balance(table_name)
