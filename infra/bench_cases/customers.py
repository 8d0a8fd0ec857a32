"""Customer paths (WalletFunction) and customer tokens: profile, wallet, history, triggers, cart, tier."""

from __future__ import annotations

import json
from typing import Any

from infra.bench_cases import Bench, Case
from infra.bench_cases.orders import api_order, place
from pollen.clock import utcnow
from pollen.integrations.shopify import app_proxy

CUSTOMER = "bench-c"  # a customer with orders, coins and a tier (set up once)


def rich_customer(bench: Bench) -> None:
    """Once: ``bench-c`` with a profile, thousands of coins (Gold) and an unlimited trigger."""
    if bench.state.get("rich"):
        return
    bench.ok("PUT", f"/v1/customers/{CUSTOMER}", "write", json_body={"email": "bench-c@example.com"})
    place(bench, api_order(bench, CUSTOMER, paid=True, price="4000.00"))
    bench.ok("PUT", "/v1/admin/triggers/bench-unlimited", json_body={"coins": 1, "frequency": "unlimited"})
    bench.state["rich"] = True


def _guest_order(bench: Bench) -> tuple[str, str]:
    """A paid guest order with a new email, and the customer id that will claim it."""
    n = bench.n()
    email = f"guest{n}@example.com"
    body = api_order(bench, None, paid=True)
    body["email"] = email
    place(bench, body)
    return f"claimer-{n}", email


def _claim(bench: Bench, arg: tuple[str, str]) -> int:
    customer, email = arg
    response = bench.request(
        "PUT", f"/v1/customers/{customer}", "write", json_body={"email": email, "email_verified": True}
    )
    claimed = response.status == 200 and len(json.loads(response.body)["claimed_orders"]) == 1
    return response.status if claimed or response.status != 200 else 599  # 599: nothing was claimed


def _app_proxy_query(bench: Bench) -> dict[str, str]:
    params = {
        "shop": bench.demo.shopify.shop_domain,
        "logged_in_customer_id": CUSTOMER,
        "path_prefix": "/apps/pollen",
        "timestamp": str(int(utcnow().timestamp())),
    }
    signature = app_proxy.signature(bench.demo.shopify.webhook_secret, {k: [v] for k, v in params.items()})
    return {**params, "signature": signature}


def _token_headers(bench: Bench) -> dict[str, str]:
    minted = bench.ok("POST", "/v1/customer-tokens", "write", json_body={"customer_id": CUSTOMER})
    return {"authorization": f"Bearer {minted['token']}"}


CART: dict[str, Any] = {
    "currency": "USD",
    "lines": [{"product_id": "p1", "variant_id": "v1", "quantity": 2, "unit_price": "19.99", "tags": ["a"]}],
    "discount_total": "4.00",
}
C = f"/v1/customers/{CUSTOMER}"

CASES = [
    Case(
        "PUT /v1/customers/{customer_id}",
        "new customer",
        lambda b, c: b.status("PUT", f"/v1/customers/{c}", "write", json_body={"email": f"{c}@example.com"}),
        lambda b: f"new-{b.n()}",
        setup=rich_customer,
        expect=201,
    ),
    Case(
        "PUT /v1/customers/{customer_id}",
        "profile update",
        lambda b, _: b.status("PUT", C, "write", json_body={"first_name": "Bench", "last_name": "C"}),
    ),
    Case("PUT /v1/customers/{customer_id}", "guest order to claim", _claim, _guest_order, expect=201),
    Case("GET /v1/customers/{customer_id}", "", lambda b, _: b.status("GET", C, "read")),
    Case(
        "GET /v1/customers/{customer_id}/wallet",
        "",
        lambda b, _: b.status("GET", f"{C}/wallet", "read"),
        budget=1,
    ),
    Case(
        "GET /v1/customers/{customer_id}/wallet",
        "app key + customer token",
        lambda b, headers: b.status("GET", f"{C}/wallet", "public", headers=headers),
        setup=lambda b: b.state.setdefault("token", _token_headers(b)),
        prepare=lambda b: b.state["token"],
        budget=1,
    ),
    Case(
        "GET /v1/customers/{customer_id}/transactions",
        "",
        lambda b, _: b.status("GET", f"{C}/transactions", "read", query={"limit": "10"}),
        budget=1,
    ),
    Case(
        "POST /v1/customers/{customer_id}/triggers/{trigger_id}",
        "",
        lambda b, _: b.status("POST", f"{C}/triggers/bench-unlimited", "write", idempotent=True),
        budget=2,
        expect=201,
    ),
    Case("GET /v1/program", "app key", lambda b, _: b.status("GET", "/v1/program", "public"), budget=0),
    Case(
        "POST /v1/cart/coins",
        "anonymous",
        lambda b, _: b.status("POST", "/v1/cart/coins", "read", json_body=CART),
        budget=1,
    ),
    Case(
        "POST /v1/cart/coins",
        "known customer",
        lambda b, _: b.status("POST", "/v1/cart/coins", "read", json_body={**CART, "customer_id": CUSTOMER}),
        budget=1,
    ),
    Case(
        "GET /v1/customers/{customer_id}/tier",
        "",
        lambda b, _: b.status("GET", f"{C}/tier", "read"),
        budget=1,
    ),
    Case(
        "POST /v1/customer-tokens",
        "",
        lambda b, _: b.status("POST", "/v1/customer-tokens", "write", json_body={"customer_id": CUSTOMER}),
        expect=201,
    ),
    Case(
        "GET /v1/shopify/app-proxy/customer-token",
        "",
        lambda b, q: b.status("GET", "/v1/shopify/app-proxy/customer-token", None, query=q),
        _app_proxy_query,
    ),
    Case(
        "POST /v1/admin/customer-tokens/rotate",
        "",
        lambda b, _: b.status("POST", "/v1/admin/customer-tokens/rotate", json_body={"grace_seconds": 3600}),
        runs=5,
    ),
]
