"""Issue 16.6: connecting Shopify checks the shop's currency; presentment-currency orders earn on
shop-currency amounts.

The shop is a fake Admin GraphQL endpoint (httpx.MockTransport) that asserts the exact request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from infra.inprocess import ApiResponse, InProcessApi
from infra.seed import DemoStore
from pollen.services import shopify_admin
from tests.integration.test_redemption_shopify import TOKEN, FakeShopify, ok, read_timeout
from tests.integration.test_shopify_webhook_api import CUSTOMER, body_of, deliver, wallet
from tests.support.ledger import assert_ledgers_balance

SHOP_QUERY = {"query": "query shopCurrency { shop { currencyCode } }", "variables": {}}


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeShopify]:
    fake = FakeShopify()
    client = httpx.Client(transport=httpx.MockTransport(fake.handle), timeout=10.0)
    monkeypatch.setattr(shopify_admin, "http_client", lambda: client)
    yield fake
    client.close()


def connect(api: InProcessApi, demo: DemoStore, *, token: str | None = TOKEN) -> ApiResponse:
    body: dict[str, Any] = {
        "shop_domain": demo.shopify.shop_domain,
        "webhook_secret": demo.shopify.webhook_secret,
    }
    if token:
        body["admin_access_token"] = token
    return api.put("/v1/admin/shopify", key=demo.api_keys.admin, json_body=body)


def program(api: InProcessApi, demo: DemoStore) -> dict[str, Any]:
    response = api.get("/v1/admin/program", key=demo.api_keys.admin)
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


def assert_one_shop_query(shop: FakeShopify, demo: DemoStore) -> None:
    assert len(shop.requests) == 1
    request = shop.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"https://{demo.shopify.shop_domain}/admin/api/2026-10/graphql.json"
    assert request.headers["x-shopify-access-token"] == TOKEN
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == SHOP_QUERY


def test_a_shop_in_the_programs_currency_connects(
    api: InProcessApi, demo: DemoStore, shop: FakeShopify, table_name: str
) -> None:
    connected = connect(api, demo)
    assert connected.status == 200, connected.body
    assert connected.json()["currency_check"] == "matches"
    assert_one_shop_query(shop, demo)
    assert api.get("/v1/admin/shopify", key=demo.api_keys.admin).json()["currency_check"] == "matches"
    assert_ledgers_balance(table_name)


def test_a_shop_in_another_currency_is_refused_once_the_program_has_history(
    api: InProcessApi, demo: DemoStore, shop: FakeShopify, table_name: str
) -> None:
    assert deliver(api, demo, "orders/paid").json()["coins_credited"] == 234  # history: a customer
    shop.script["shop"] = [ok("shop", {"currencyCode": "HKD"})]
    before = program(api, demo)
    refused = connect(api, demo)
    assert refused.status == 422, refused.body
    problem = refused.json()
    assert "HKD" in problem["detail"]
    assert "USD" in problem["detail"]
    assert problem["errors"][0]["type"] == "currency_mismatch"
    assert_one_shop_query(shop, demo)
    assert program(api, demo) == before  # nothing written
    view = api.get("/v1/admin/shopify", key=demo.api_keys.admin).json()
    assert view["admin_access_token_set"] is False
    assert view["currency_check"] is None
    assert_ledgers_balance(table_name)


def test_a_program_without_history_takes_the_shops_currency(
    api: InProcessApi, demo: DemoStore, shop: FakeShopify, table_name: str
) -> None:
    shop.script["shop"] = [ok("shop", {"currencyCode": "HKD"})]
    before = program(api, demo)
    assert before["currency"] == "USD"
    connected = connect(api, demo)
    assert connected.status == 200, connected.body
    assert connected.json()["currency_check"] == "adopted"
    assert "USD" in connected.json()["currency_check_detail"]
    after = program(api, demo)
    assert after["currency"] == "HKD"
    assert after["version"] == before["version"] + 1
    # an HKD order now earns at the program's rate
    hkd = json.loads(body_of("orders/paid"))
    hkd["currency"] = "HKD"
    credited = deliver(api, demo, "orders/paid", json.dumps(hkd).encode())
    assert credited.json()["coins_credited"] == 234, credited.body
    assert_ledgers_balance(table_name)


def test_an_unreachable_shop_is_saved_with_a_warning_and_orders_stay_guarded(
    api: InProcessApi, demo: DemoStore, shop: FakeShopify, table_name: str
) -> None:
    shop.script["shop"] = [read_timeout]
    connected = connect(api, demo)
    assert connected.status == 200, connected.body
    assert connected.json()["currency_check"] == "unverified"
    assert "rejected-webhooks" in connected.json()["currency_check_detail"]
    hkd = json.loads(body_of("orders/paid"))
    hkd["currency"] = "HKD"
    assert deliver(api, demo, "orders/paid", json.dumps(hkd).encode()).json()["rejected"] is True
    assert api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read).status == 404  # nothing
    assert_ledgers_balance(table_name)


def test_a_refused_token_is_a_422_and_no_token_skips_the_check(
    api: InProcessApi, demo: DemoStore, shop: FakeShopify, table_name: str
) -> None:
    shop.script["shop"] = [lambda request: httpx.Response(401, json={"errors": "Invalid API key"})]
    refused = connect(api, demo)
    assert refused.status == 422, refused.body
    assert refused.json()["errors"][0]["type"] == "token_rejected"
    shop.requests.clear()
    skipped = connect(api, demo, token=None)
    assert skipped.status == 200, skipped.body
    assert skipped.json()["currency_check"] == "skipped"
    assert shop.requests == []  # no token: Shopify is not asked
    assert_ledgers_balance(table_name)


def _presentment(value: Any, rate: Decimal) -> Any:
    """Every ``presentment_money`` in EUR at ``rate`` times the shop amount (shop_money untouched)."""
    if isinstance(value, dict):
        out = {k: _presentment(v, rate) for k, v in value.items()}
        if "shop_money" in out and "presentment_money" in out:
            amount = Decimal(out["shop_money"]["amount"]) * rate
            out["presentment_money"] = {
                "amount": str(amount.quantize(Decimal("0.01"))),
                "currency_code": "EUR",
            }
        return out
    if isinstance(value, list):
        return [_presentment(v, rate) for v in value]
    return value


def test_a_presentment_currency_order_earns_on_shop_currency_amounts(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    order = _presentment(json.loads(body_of("orders/paid")), Decimal("0.5"))
    order["presentment_currency"] = "EUR"
    assert order["currency"] == "USD"
    assert order["total_price_set"]["presentment_money"] == {"amount": "155.84", "currency_code": "EUR"}
    credited = deliver(api, demo, "orders/paid", json.dumps(order).encode())
    assert credited.status == 200, credited.body
    # the same 234 coins as the USD-only order: 194.40 + 40.50 USD of merchandise, not the EUR figures
    assert credited.json()["coins_credited"] == 234
    assert wallet(api, demo, CUSTOMER)["balance"] == 234
    assert_ledgers_balance(table_name)
