"""The wallet issue's acceptance checks over HTTP against `make dev`'s stack (signed Shopify webhooks)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from pollen.integrations.shopify.webhooks import sign
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"


def _order(customer_id: int, order_id: int) -> dict[str, Any]:
    order: dict[str, Any] = json.loads((FIXTURES / "orders_paid.json").read_text())
    order = copy.deepcopy(order)
    order["id"] = order_id
    order["customer"]["id"] = customer_id
    return order


def _post(
    http: httpx.Client, stack: LocalStack, topic: str, payload: dict[str, Any], *, secret: str | None = None
) -> httpx.Response:
    raw = json.dumps(payload).encode()
    return http.post(
        "/webhooks/shopify",
        content=raw,
        headers={
            "content-type": "application/json",
            "x-shopify-topic": topic,
            "x-shopify-shop-domain": stack.demo["shopify"]["shop_domain"],
            "x-shopify-webhook-id": str(uuid.uuid4()),
            "x-shopify-hmac-sha256": sign(secret or stack.demo["shopify"]["webhook_secret"], raw),
        },
    )


def test_signed_paid_order_twice_credits_once_then_half_refund_claws_back_half(
    http: httpx.Client, stack: LocalStack
) -> None:
    customer, order_id = 900_000 + uuid.uuid4().int % 100_000, 700_000 + uuid.uuid4().int % 100_000
    order = _order(customer, order_id)
    assert _post(http, stack, "orders/paid", order).status_code == 200
    assert _post(http, stack, "orders/paid", order).status_code == 200
    read = {"x-api-key": stack.key("read")}
    wallet = http.get(f"/v1/customers/{customer}/wallet", headers=read).json()
    assert wallet["balance"] == 234
    history = http.get(f"/v1/customers/{customer}/transactions", headers=read).json()["items"]
    assert [(t["type"], t["coins"]) for t in history] == [("reward", 234)]

    # refund half of every eligible line's merchandise: 117.45 of 234.90 → 117 coins remain
    lines = [li for li in order["line_items"] if not li["gift_card"]]
    halves = {"866550311766439020": "97.20", "141249953214522974": "20.25"}
    refund = {
        "id": 555_000 + order_id,
        "order_id": order_id,
        "refund_line_items": [
            {"id": n + 1, "line_item_id": li["id"], "quantity": 1, "subtotal": halves[str(li["id"])]}
            for n, li in enumerate(lines)
        ],
    }
    assert _post(http, stack, "refunds/create", refund).status_code == 200
    assert http.get(f"/v1/customers/{customer}/wallet", headers=read).json()["balance"] == 117


def test_bad_signature_is_401_and_writes_nothing(http: httpx.Client, stack: LocalStack) -> None:
    customer = 800_000 + uuid.uuid4().int % 100_000
    response = _post(http, stack, "orders/paid", _order(customer, customer), secret="wrong")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    missing = http.get(f"/v1/customers/{customer}/wallet", headers={"x-api-key": stack.key("read")})
    assert missing.status_code == 404
