"""Order paths: every Shopify webhook topic (with a warm and a cold config cache) and the orders API."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from infra.bench_cases import Bench, Case
from infra.onboard import onboard
from infra.seed import DEMO_PROGRAM
from pollen.domain.merchants import ShopifyConnection
from pollen.integrations.shopify.webhooks import sign
from pollen.services.container import container

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "shopify"
_fixtures: dict[str, dict[str, Any]] = {}


def fixture(topic: str) -> dict[str, Any]:
    """A copy of Shopify's sample payload for ``topic`` (``orders/paid`` → orders_paid.json)."""
    name = topic.replace("/", "_")
    if name not in _fixtures:
        _fixtures[name] = json.loads((FIXTURES / f"{name}.json").read_text())
    return copy.deepcopy(_fixtures[name])


def deliver(
    bench: Bench,
    topic: str,
    payload: dict[str, Any],
    *,
    shop: str = "",
    secret: str = "",
    via_url: bool = False,
) -> int:
    """POST /webhooks/shopify as Shopify sends it: signed with the shop's secret, a new webhook id;
    ``via_url``: to the order function's Lambda function URL (where Shopify delivers), not the API."""
    raw = json.dumps(payload).encode()
    headers = {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": shop or bench.demo.shopify.shop_domain,
        "x-shopify-webhook-id": str(uuid.uuid4()),
        "x-shopify-hmac-sha256": sign(secret or bench.demo.shopify.webhook_secret, raw),
        "x-shopify-api-version": "2025-10",
    }
    if via_url:
        return bench.api.function_url(
            "OrderWebhooksFunction", "POST", "/webhooks/shopify", body=raw, headers=headers
        ).status
    return bench.status("POST", "/webhooks/shopify", None, body=raw, headers=headers)


def shopify_order(
    bench: Bench, topic: str = "orders/paid", *, guest_email: str | None = None
) -> dict[str, Any]:
    """A new Shopify order (a new customer of it too), or a guest order when ``guest_email`` is given."""
    n = bench.n()
    order = fixture(topic)
    order["id"] = 7_000_000_000 + n
    if guest_email is None:
        order["customer"] = {**order["customer"], "id": 8_000_000_000 + n, "email": f"o{n}@example.com"}
        order["email"] = f"o{n}@example.com"
    else:
        order["customer"] = None
        order["email"] = guest_email
    return order


def cold_config(bench: Bench) -> None:
    """A container whose config, shop look-up and order → customer caches are empty."""
    c = container()
    c.config.invalidate(bench.demo.merchant_id)
    c.config.forget_shop(bench.demo.shopify.shop_domain)
    c.order_customers._items.clear()  # no public way to forget: a new container would also drop auth


def api_order(bench: Bench, customer_id: str | None, *, paid: bool, price: str = "25.00") -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": f"bench-o-{bench.n()}",
        "currency": "USD",
        "paid": paid,
        "lines": [{"line_id": "1", "quantity": 1, "unit_price": price}],
    }
    if customer_id is not None:
        body["customer_id"] = customer_id
    return body


def place(bench: Bench, body: dict[str, Any]) -> str:
    bench.ok("POST", "/v1/orders", "write", json_body=body)
    return str(body["order_id"])


# ---- prepare functions (untimed) -----------------------------------------------------------------


def _new_order(topic: str, cold: bool = False) -> Any:
    def prepare(bench: Bench) -> dict[str, Any]:
        order = shopify_order(bench, topic)
        if cold:
            cold_config(bench)
        return order

    return prepare


def _paid_then(topic: str, cold: bool = False, unseen: bool = False) -> Any:
    """An order paid by webhook, then the payload of ``topic`` (orders/cancelled, refunds/create) for it."""

    def prepare(bench: Bench) -> dict[str, Any]:
        order = shopify_order(bench, "orders/paid")
        if deliver(bench, "orders/paid", order) != 200:
            raise AssertionError("bench set-up: orders/paid")
        if topic == "refunds/create":
            payload = fixture(topic)
            payload["id"] = 9_000_000_000 + bench.n()
            payload["order_id"] = order["id"]
        else:
            payload = {
                **fixture(topic),
                "id": order["id"],
                "customer": order["customer"],
                "email": order["email"],
            }
        if cold:
            cold_config(bench)
        elif unseen:
            container().order_customers._items.clear()
        return payload

    return prepare


def _customer(topic: str, cold: bool = False) -> Any:
    def prepare(bench: Bench) -> dict[str, Any]:
        n = bench.n()
        payload = {**fixture(topic), "id": 8_500_000_000 + n, "email": f"cust{n}@example.com"}
        if topic == "customers/update":  # an update of a customer Shopify created before
            deliver(bench, "customers/create", {**payload, "email": f"old{n}@example.com"})
        if cold:
            cold_config(bench)
        return payload

    return prepare


def _privacy(topic: str) -> Any:
    def prepare(bench: Bench) -> dict[str, Any]:
        order = shopify_order(bench, "orders/paid")
        deliver(bench, "orders/paid", order)
        payload = fixture(topic)
        payload["shop_domain"] = bench.demo.shopify.shop_domain
        payload["customer"] = {**payload["customer"], "id": order["customer"]["id"], "email": order["email"]}
        if "orders_to_redact" in payload:
            payload["orders_to_redact"] = [order["id"]]
        if "orders_requested" in payload:
            payload["orders_requested"] = [order["id"]]
        if "data_request" in payload:
            payload["data_request"] = {**payload["data_request"], "id": 9_500_000_000 + bench.n()}
        return payload

    return prepare


def _other_shop(bench: Bench) -> tuple[str, str, dict[str, Any]]:
    """A separate merchant and shop each run, for shop/redact (which erases the whole shop)."""
    n = bench.n()
    shop, secret = f"bench-shop-{n}.myshopify.com", f"bench-secret-{n}"
    onboard(
        f"bench-shop-{n}",
        "Bench shop",
        DEMO_PROGRAM,
        shopify=ShopifyConnection(shop_domain=shop, webhook_secret=secret),
    )
    return shop, secret, {**fixture("shop/redact"), "shop_domain": shop}


def _webhook(topic: str, *, via_url: bool = False) -> Any:
    return lambda bench, payload: deliver(bench, topic, payload, via_url=via_url)


# ---- the orders API ----------------------------------------------------------------------------------


def _post_order(bench: Bench, body: dict[str, Any]) -> int:
    return bench.status("POST", "/v1/orders", "write", json_body=body, idempotent=True)


def _unpaid(bench: Bench) -> str:
    return place(bench, api_order(bench, "bench-buyer", paid=False))


def _paid(bench: Bench) -> str:
    return place(bench, api_order(bench, "bench-buyer", paid=True))


def _cold_api_order(bench: Bench) -> dict[str, Any]:
    cold_config(bench)
    return api_order(bench, "bench-buyer", paid=True)


def _refund(bench: Bench, order_id: str) -> int:
    body = {"refund_id": f"r-{bench.n()}", "lines": [{"line_id": "1", "quantity": 1, "subtotal": "25.00"}]}
    return bench.status("POST", f"/v1/orders/{order_id}/refunds", "write", json_body=body, idempotent=True)


WEBHOOK = "POST /webhooks/shopify"

CASES = [
    Case(
        WEBHOOK, "orders/create, new order", _webhook("orders/create"), _new_order("orders/create"), budget=2
    ),
    Case(WEBHOOK, "orders/create, cold config", _webhook("orders/create"), _new_order("orders/create", True)),
    Case(WEBHOOK, "orders/paid, new order", _webhook("orders/paid"), _new_order("orders/paid"), budget=2),
    Case(WEBHOOK, "orders/paid, cold config", _webhook("orders/paid"), _new_order("orders/paid", True)),
    Case(
        WEBHOOK,
        "orders/paid, through the function URL",
        _webhook("orders/paid", via_url=True),
        _new_order("orders/paid"),
        budget=2,
    ),
    Case(WEBHOOK, "orders/cancelled", _webhook("orders/cancelled"), _paid_then("orders/cancelled"), budget=2),
    Case(
        WEBHOOK,
        "orders/cancelled, cold config",
        _webhook("orders/cancelled"),
        _paid_then("orders/cancelled", True),
    ),
    Case(WEBHOOK, "refunds/create", _webhook("refunds/create"), _paid_then("refunds/create"), budget=2),
    Case(
        WEBHOOK,
        "refunds/create, order unseen",
        _webhook("refunds/create"),
        _paid_then("refunds/create", unseen=True),
        budget=3,
    ),
    Case(
        WEBHOOK, "refunds/create, cold config", _webhook("refunds/create"), _paid_then("refunds/create", True)
    ),
    Case(
        WEBHOOK,
        "orders/fulfilled (schedules a review request)",
        _webhook("orders/fulfilled"),
        _paid_then("orders/fulfilled"),
        budget=2,
    ),
    Case(WEBHOOK, "customers/create", _webhook("customers/create"), _customer("customers/create")),
    Case(
        WEBHOOK,
        "customers/create, cold config",
        _webhook("customers/create"),
        _customer("customers/create", True),
    ),
    Case(WEBHOOK, "customers/update", _webhook("customers/update"), _customer("customers/update")),
    Case(
        WEBHOOK,
        "customers/data_request",
        _webhook("customers/data_request"),
        _privacy("customers/data_request"),
    ),
    Case(WEBHOOK, "customers/redact", _webhook("customers/redact"), _privacy("customers/redact"), runs=5),
    Case(
        WEBHOOK,
        "shop/redact",
        lambda bench, arg: deliver(bench, "shop/redact", arg[2], shop=arg[0], secret=arg[1]),
        _other_shop,
        runs=5,
    ),
    Case("POST /v1/orders", "paid", _post_order, lambda b: api_order(b, "bench-buyer", paid=True), budget=2),
    Case(
        "POST /v1/orders", "unpaid", _post_order, lambda b: api_order(b, "bench-buyer", paid=False), budget=2
    ),
    Case("POST /v1/orders", "guest", _post_order, lambda b: api_order(b, None, paid=True), budget=2),
    Case("POST /v1/orders", "paid, cold config", _post_order, _cold_api_order),
    Case(
        "POST /v1/orders/{order_id}/paid",
        "",
        lambda b, o: b.status("POST", f"/v1/orders/{o}/paid", "write", idempotent=True),
        _unpaid,
        budget=2,
    ),
    Case(
        "POST /v1/orders/{order_id}/cancel",
        "",
        lambda b, o: b.status("POST", f"/v1/orders/{o}/cancel", "write", idempotent=True),
        _paid,
        budget=2,
    ),
    Case("POST /v1/orders/{order_id}/refunds", "", _refund, _paid, budget=2),
]
