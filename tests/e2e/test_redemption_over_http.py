"""The redemption issue's acceptance checks over HTTP against `make dev`'s stack."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.test_wallet_over_http import _order, _post

pytestmark = pytest.mark.e2e


def test_credit_redeem_dynamic_list_use_and_overdraw(http: httpx.Client, stack: LocalStack) -> None:
    customer, order_id = 800_000 + uuid.uuid4().int % 100_000, 600_000 + uuid.uuid4().int % 100_000
    assert _post(http, stack, "orders/paid", _order(customer, order_id)).status_code == 200
    read, write = {"x-api-key": stack.key("read")}, {"x-api-key": stack.key("write")}
    assert http.get(f"/v1/customers/{customer}/wallet", headers=read).json()["balance"] == 234

    offers = http.get("/v1/rewards", headers=read, params={"customer_id": customer, "cart_total": "100.00"})
    dynamic = next(o for o in offers.json()["items"] if o["type"] == "dynamic")
    coin_value = Decimal(dynamic["coin_value"])  # another e2e test may have changed the program
    cap = int(Decimal(50) / coin_value)  # 50% of a 100.00 cart
    assert dynamic["allowed_coins"] == {"min": 20, "max": 20 + (min(cap, 234) - 20) // 10 * 10, "step": 10}

    redeemed = http.post(
        f"/v1/customers/{customer}/redemptions",
        headers={**write, "idempotency-key": str(uuid.uuid4())},
        json={"reward_id": dynamic["reward_id"], "coins": 200, "cart_total": "100.00", "channel": "widget"},
    )
    assert redeemed.status_code == 201, redeemed.text
    coupon = redeemed.json()["coupon"]
    assert (coupon["value"], redeemed.json()["balance"]) == (
        str((200 * coin_value).quantize(Decimal("0.01"))),
        34,
    )
    listed = http.get(f"/v1/customers/{customer}/coupons", headers=read).json()["items"]
    assert [(c["code"], c["status"]) for c in listed] == [(coupon["code"], "issued")]
    history = http.get(f"/v1/customers/{customer}/transactions", headers=read).json()["items"]
    assert (history[0]["type"], history[0]["coins"]) == ("redeem", 200)

    next_order = _order(customer, order_id + 1)
    next_order["discount_codes"] = [{"code": coupon["code"], "amount": "10.00", "type": "fixed_amount"}]
    assert _post(http, stack, "orders/create", next_order).status_code == 200
    used = http.get(f"/v1/customers/{customer}/coupons", headers=read, params={"status": "used"}).json()
    assert [c["order_id"] for c in used["items"]] == [str(order_id + 1)]
    admin = http.get(f"/v1/admin/orders/{order_id + 1}", headers={"x-api-key": stack.key("admin")}).json()
    assert admin["attributions"][0]["source"] == "redemption"
    assert admin["attributions"][0]["channel"] == "widget"

    overdraw = http.post(
        f"/v1/customers/{customer}/redemptions",
        headers=write,
        json={"reward_id": dynamic["reward_id"], "coins": 1000, "cart_total": "5000.00"},
    )
    assert overdraw.status_code == 409
    assert overdraw.headers["content-type"] == "application/problem+json"
