"""The access acceptance over HTTP against `make dev`'s stack: the app key from demo-store.json plus a
customer token minted by the merchant's server."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e


def test_app_key_plus_token_reaches_its_customer_only(stack: LocalStack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as http:
        server = {"x-api-key": stack.key("write")}
        for customer in ("e2e-x", "e2e-y"):
            assert http.put(f"/v1/customers/{customer}", headers=server, json={}).status_code in (200, 201)
        minted = http.post("/v1/customer-tokens", headers=server, json={"customer_id": "e2e-x"})
        assert minted.status_code == 201, minted.text
        assert set(minted.json()) == {"token", "expires_at"}
        app = {"x-api-key": stack.key("public"), "authorization": f"Bearer {minted.json()['token']}"}

        assert http.get("/v1/customers/e2e-x/wallet", headers=app).status_code == 200
        assert http.get("/v1/customers/e2e-y/wallet", headers=app).status_code == 403
        redeem = http.post("/v1/customers/e2e-y/redemptions", headers=app, json={"reward_id": "five-off"})
        assert redeem.status_code == 403
        order = {
            "order_id": "e2e-app-order",
            "customer_id": "e2e-x",
            "currency": "USD",
            "paid": True,
            "lines": [{"line_id": "1", "quantity": 1, "unit_price": "500.00"}],
        }
        assert http.post("/v1/orders", headers=app, json=order).status_code == 403
        forged = {**app, "authorization": "Bearer " + minted.json()["token"][:-3] + "abc"}
        assert http.get("/v1/customers/e2e-x/wallet", headers=forged).status_code == 401
        alone = {"x-api-key": stack.key("public")}
        assert http.get("/v1/customers/e2e-x/wallet", headers=alone).status_code == 401
        assert http.get("/v1/program", headers=alone).status_code == 200
        assert http.get("/v1/customers/e2e-x/wallet", headers=app).json()["balance"] == 0
