"""Admin paths: API keys, program, triggers, adjustments, orders, Shopify, customers (search, export,
imports), privacy requests, deliveries and dead letters, test events, integrations, subscriptions,
the events switch and tiers. Every resource's CRUD."""

from __future__ import annotations

from typing import Any

from infra.bench_cases import Bench, Case
from infra.bench_cases.consumers import dead_letters, pipeline
from infra.bench_cases.customers import CUSTOMER, rich_customer
from infra.bench_cases.orders import api_order, deliver, fixture, place
from infra.seed import DEMO_TIERS
from tests.support.flow import configure, subscription, webhook

KLAVIYO = {"kind": "klaviyo", "api_key": "pk_live_0123456789abcdef0123456789abcd", "enabled": True}
SUBSCRIPTION = {
    "event": "wallet_transaction",
    "integration_id": "bench-klaviyo",
    "name_prefix": "Pollen ",
    "filters": {"transaction_types": ["reward"], "operations": ["credit"]},
    "enabled": False,  # CRUD only: the consumer rows deliver to the bench webhook alone
}
TRIGGER = {"name": "Bench", "coins": 10, "frequency": "once"}


def _setup(bench: Bench) -> None:
    rich_customer(bench)
    program = bench.ok("GET", "/v1/admin/program")
    bench.state["program"] = {k: program[k] for k in ("currency", "earning", "coin_value", "expiry")}
    bench.state["tiers"] = DEMO_TIERS.model_dump(mode="json")
    bench.state["order"] = place(bench, api_order(bench, CUSTOMER, paid=True))
    request = {**fixture("customers/data_request"), "shop_domain": bench.demo.shopify.shop_domain}
    request["data_request"] = {**request["data_request"], "id": 9_400_000_001}
    deliver(bench, "customers/data_request", request)
    bench.ok("PUT", "/v1/admin/integrations/bench-klaviyo", json_body=KLAVIYO)
    bench.state["subscription"] = bench.ok("POST", "/v1/admin/event-subscriptions", json_body=SUBSCRIPTION)[
        "subscription_id"
    ]
    imported = bench.ok("POST", "/v1/admin/imports", body=_csv(bench), headers={"content-type": "text/csv"})
    bench.state["import"] = imported["import_id"]


def _csv(bench: Bench, rows: int = 20) -> bytes:
    """A migration CSV of ``rows`` new customers (new ids each call: an import is idempotent per file)."""
    lines = ["customer_id,email,first_name,last_name,balance,expires_on"]
    for _ in range(rows):
        n = bench.n()
        lines.append(f"imp-{n},imp{n}@example.com,Imp,{n},{100 + n % 50},2027-06-30")
    return ("\n".join(lines) + "\n").encode()


def _new_key(bench: Bench) -> str:
    return str(bench.ok("POST", "/v1/admin/api-keys", json_body={"name": "b", "scope": "read"})["key_id"])


def _new_trigger(bench: Bench) -> str:
    trigger_id = f"bench-t-{bench.n()}"
    bench.ok("PUT", f"/v1/admin/triggers/{trigger_id}", json_body=TRIGGER)
    return trigger_id


def _new_integration(bench: Bench) -> str:
    integration_id = f"bench-i-{bench.n()}"
    bench.ok("PUT", f"/v1/admin/integrations/{integration_id}", json_body=KLAVIYO)
    return integration_id


def _new_subscription(bench: Bench) -> str:
    return str(bench.ok("POST", "/v1/admin/event-subscriptions", json_body=SUBSCRIPTION)["subscription_id"])


def _dead_letters(bench: Bench) -> None:
    dead_letters(bench, 10)


def _test_subscription(bench: Bench) -> None:
    """A webhook integration answered by the bench receiver, for the test-event route."""
    line = pipeline(bench)
    sub = subscription("coins_expiring", "bench-test")  # only the jobs may produce one
    configure(bench.demo.merchant_id, [webhook("bench-test", url="https://test.example.com/hook")], [sub])
    line.receiver.install()
    bench.state["test_subscription"] = sub.subscription_id
    shopper = {**fixture("customers/create"), "id": 8_400_000_001, "email": "tested@example.com"}
    deliver(bench, "customers/create", shopper)  # a proven email: the test event finds its customer


def _get(path: str, scope: str = "admin", **kwargs: Any) -> Any:
    return lambda b, _: b.status("GET", path, scope, **kwargs)


S = "/v1/admin/event-subscriptions"
CASES = [
    Case("GET /v1/health", "", lambda b, _: b.status("GET", "/v1/health", None), budget=0, setup=_setup),
    Case("GET /v1/admin/api-keys", "", _get("/v1/admin/api-keys"), budget=1),
    Case(
        "POST /v1/admin/api-keys",
        "",
        lambda b, _: b.status("POST", "/v1/admin/api-keys", json_body={"name": "bench", "scope": "read"}),
        budget=1,
        expect=201,
    ),
    Case(
        "DELETE /v1/admin/api-keys/{key_id}",
        "",
        lambda b, k: b.status("DELETE", f"/v1/admin/api-keys/{k}"),
        _new_key,
        budget=1,
        expect=204,
    ),
    Case("GET /v1/admin/program", "", _get("/v1/admin/program"), budget=0),
    Case("GET /v1/admin/widget", "", _get("/v1/admin/widget")),
    Case(
        "PUT /v1/admin/widget",
        "defaults, no If-Match",
        lambda b, _: b.status("PUT", "/v1/admin/widget", json_body={}),
    ),
    Case(
        "GET /v1/widget/settings",
        "app key, cached config",
        lambda b, _: b.status("GET", "/v1/widget/settings", "public"),
        budget=0,
    ),
    Case(
        "PUT /v1/admin/program",
        "same settings",
        lambda b, _: b.status("PUT", "/v1/admin/program", json_body=b.state["program"]),
        budget=2,
    ),
    Case("GET /v1/admin/triggers", "", _get("/v1/admin/triggers")),
    Case("GET /v1/admin/triggers/{trigger_id}", "", _get("/v1/admin/triggers/signup")),
    Case(
        "PUT /v1/admin/triggers/{trigger_id}",
        "replace",
        lambda b, _: b.status("PUT", "/v1/admin/triggers/signup", json_body={**TRIGGER, "coins": 50}),
    ),
    Case(
        "DELETE /v1/admin/triggers/{trigger_id}",
        "",
        lambda b, t: b.status("DELETE", f"/v1/admin/triggers/{t}"),
        _new_trigger,
        expect=204,
    ),
    Case(
        "POST /v1/admin/customers/{customer_id}/adjustments",
        "",
        lambda b, _: b.status(
            "POST",
            f"/v1/admin/customers/{CUSTOMER}/adjustments",
            json_body={"coins": 5, "reason": "bench"},
            idempotent=True,
        ),
        budget=2,
        expect=201,
    ),
    Case(
        "GET /v1/admin/orders/{order_id}",
        "",
        lambda b, _: b.status("GET", f"/v1/admin/orders/{b.state['order']}"),
    ),
    Case("GET /v1/admin/shopify", "", _get("/v1/admin/shopify")),
    Case(
        "PUT /v1/admin/shopify",
        "same shop and secret",
        lambda b, _: b.status(
            "PUT",
            "/v1/admin/shopify",
            json_body={
                "shop_domain": b.demo.shopify.shop_domain,
                "webhook_secret": b.demo.shopify.webhook_secret,
            },
        ),
    ),
    Case("GET /v1/admin/shopify/rejected-webhooks", "", _get("/v1/admin/shopify/rejected-webhooks")),
    Case(
        "GET /v1/admin/customers",
        "search by email",
        _get("/v1/admin/customers", query={"query": "bench-c@example.com"}),
    ),
    Case(
        "GET /v1/admin/customers/export",
        "500 rows",
        _get("/v1/admin/customers/export", query={"limit": "500"}),
        runs=5,
    ),
    Case(
        "POST /v1/admin/imports",
        "20 rows",
        lambda b, csv: b.status("POST", "/v1/admin/imports", body=csv, headers={"content-type": "text/csv"}),
        _csv,
        runs=5,
    ),
    Case(
        "GET /v1/admin/imports/{import_id}",
        "",
        lambda b, _: b.status("GET", f"/v1/admin/imports/{b.state['import']}"),
    ),
    Case(
        "GET /v1/admin/privacy/data-requests/{request_id}",
        "",
        _get("/v1/admin/privacy/data-requests/9400000001"),
    ),
    Case("GET /v1/admin/event-types", "", _get("/v1/admin/event-types"), budget=0),
    Case("GET /v1/admin/integrations", "", _get("/v1/admin/integrations")),
    Case("GET /v1/admin/integrations/{integration_id}", "", _get("/v1/admin/integrations/bench-klaviyo")),
    Case(
        "PUT /v1/admin/integrations/{integration_id}",
        "replace",
        lambda b, _: b.status("PUT", "/v1/admin/integrations/bench-klaviyo", json_body=KLAVIYO),
    ),
    Case(
        "DELETE /v1/admin/integrations/{integration_id}",
        "",
        lambda b, i: b.status("DELETE", f"/v1/admin/integrations/{i}"),
        _new_integration,
        expect=204,
        runs=5,
    ),
    Case("GET /v1/admin/events/settings", "", _get("/v1/admin/events/settings")),
    Case(
        "PUT /v1/admin/events/settings",
        "enabled",
        lambda b, _: b.status("PUT", "/v1/admin/events/settings", json_body={"enabled": True}),
    ),
    Case(f"POST {S}", "", lambda b, _: b.status("POST", S, json_body=SUBSCRIPTION), expect=201, runs=5),
    Case(f"GET {S}", "", _get(S)),
    Case(f"GET {S}/{{subscription_id}}", "", lambda b, _: b.status("GET", f"{S}/{b.state['subscription']}")),
    Case(
        f"PUT {S}/{{subscription_id}}",
        "replace",
        lambda b, _: b.status("PUT", f"{S}/{b.state['subscription']}", json_body=SUBSCRIPTION),
    ),
    Case(
        f"DELETE {S}/{{subscription_id}}",
        "",
        lambda b, s: b.status("DELETE", f"{S}/{s}"),
        _new_subscription,
        expect=204,
        runs=5,
    ),
    Case(
        f"POST {S}/{{subscription_id}}/test",
        "webhook receiver",
        lambda b, _: b.status(
            "POST", f"{S}/{b.state['test_subscription']}/test", json_body={"email": "tested@example.com"}
        ),
        setup=_test_subscription,
    ),
    Case(
        "GET /v1/admin/deliveries",
        "",
        _get("/v1/admin/deliveries", query={"limit": "25"}),
        setup=_dead_letters,
    ),
    Case(
        "GET /v1/admin/deliveries/dead-letters", "10 dead letters", _get("/v1/admin/deliveries/dead-letters")
    ),
    Case(
        "POST /v1/admin/deliveries/dead-letters/replay",
        "all of 2",
        lambda b, _: b.status("POST", "/v1/admin/deliveries/dead-letters/replay"),
        lambda b: dead_letters(b, 2),
        runs=5,
    ),
    Case("GET /v1/admin/tiers", "", _get("/v1/admin/tiers")),
    Case(
        "PUT /v1/admin/tiers",
        "same tiers",
        lambda b, _: b.status("PUT", "/v1/admin/tiers", json_body=b.state["tiers"]),
        runs=5,
    ),
    Case("GET /v1/admin/tiers/status", "", _get("/v1/admin/tiers/status")),
]
