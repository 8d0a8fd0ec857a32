"""`make bench`: DynamoDB round trips and latency per request, against the budgets in docs/design.md.

Runs every route in-process on moto (no network, no Docker), cold and warm, and prints one row per
request: DynamoDB calls (by operation), and in-process latency p50/p95 over repeated warm calls.
Also holds each function's cold start to 1.10x the floor of its kind (:mod:`infra.cold_start`). Exits 1
when a request exceeds its round-trip budget or a function its floor, so the budgets are enforced
where they are measured.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from moto import mock_aws

from infra import cold_start, cost
from infra.aws_resources import create_resources
from infra.bench_cases import run_coverage
from infra.inprocess import InProcessApi
from infra.moto_atomic import make_dynamodb_writes_atomic
from infra.seed import DemoStore, seed_demo_store
from infra.template import describe_functions, load_template
from pollen.integrations.shopify.webhooks import sign
from pollen.services.container import reset_container
from pollen.storage.client import call_counter, reset_clients

ROOT = Path(__file__).resolve().parents[1]
WARM_RUNS = int(os.environ.get("BENCH_RUNS", "200"))


@dataclass(frozen=True)
class Case:
    name: str
    budget: int  # DynamoDB calls on a warm container with config cached (docs/design.md round-trip budget)
    call: Callable[[str], int]  # performs the request with what prepare made, returns the HTTP status
    prepare: Callable[[], str] = lambda: ""  # untimed, uncounted set-up (e.g. a key to revoke)


def _measure(case: Case, runs: int) -> tuple[int, dict[str, int], list[float]]:
    case.call(case.prepare())  # warm the container, auth and config caches
    arg = case.prepare()
    call_counter.reset()
    status = case.call(arg)
    used = call_counter.snapshot()
    samples = []
    for _ in range(runs):
        arg = case.prepare()
        started = time.perf_counter()
        case.call(arg)
        samples.append((time.perf_counter() - started) * 1000)
    return status, used, samples


def _env() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106 - moto accepts any credentials
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
        # One merchant sends thousands of requests a minute here: the per-container token buckets
        # (pollen.api.limits, in memory, no DynamoDB call) would answer 429 and the bench would time those.
        RATE_LIMIT_MERCHANT_RPS="0",
        RATE_LIMIT_ANONYMOUS_RPS="0",
        RATE_LIMIT_PUBLIC_RPS="0",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)


def _wallet_cases(api: InProcessApi, demo: DemoStore) -> list[Case]:
    """Order webhooks (a new order each run, its customer already known), orders API, wallet reads."""
    order = json.loads((ROOT / "tests" / "fixtures" / "shopify" / "orders_paid.json").read_text())
    counter = itertools.count(1)
    secret, shop = demo.shopify.webhook_secret, demo.shopify.shop_domain

    def signed_order() -> str:
        return json.dumps({**order, "id": 10_000 + next(counter)})

    def webhook(body: str) -> int:
        raw = body.encode()
        headers = {
            "content-type": "application/json",
            "x-shopify-topic": "orders/paid",
            "x-shopify-shop-domain": shop,
            "x-shopify-webhook-id": str(uuid.uuid4()),
            "x-shopify-hmac-sha256": sign(secret, raw),
        }
        return api.post("/webhooks/shopify", body=raw, headers=headers).status

    write, read = demo.api_keys.write, demo.api_keys.read
    customer = str(order["customer"]["id"])
    api.put(
        "/v1/admin/triggers/bench", key=demo.api_keys.admin, json_body={"coins": 1, "frequency": "unlimited"}
    )
    cart = {"currency": "USD", "lines": [{"product_id": "p1", "quantity": 2, "unit_price": "19.99"}]}
    minted = api.post("/v1/customer-tokens", key=write, json_body={"customer_id": customer}).json()["token"]
    token = {"authorization": f"Bearer {minted}"}

    def api_order() -> str:
        return f"api-{next(counter)}"

    def create_and_pay(order_id: str) -> int:
        body = {
            "order_id": order_id,
            "customer_id": customer,
            "currency": "USD",
            "paid": True,
            "lines": [{"line_id": "1", "quantity": 1, "unit_price": "25.00"}],
        }
        return api.post("/v1/orders", key=write, json_body=body).status

    return [
        Case("POST /webhooks/shopify orders/paid", 2, webhook, prepare=signed_order),
        Case("POST /v1/orders (paid)", 2, create_and_pay, prepare=api_order),
        Case(
            "GET /v1/customers/{id}/wallet",
            1,
            lambda _: api.get(f"/v1/customers/{customer}/wallet", key=read).status,
        ),
        Case(
            "GET /v1/customers/{id}/transactions",
            1,
            lambda _: api.get(f"/v1/customers/{customer}/transactions", key=read).status,
        ),
        Case(
            "POST /v1/customers/{id}/triggers/{t}",
            2,
            lambda _: api.post(f"/v1/customers/{customer}/triggers/bench", key=write).status,
        ),
        Case("POST /v1/cart/coins", 0, lambda _: api.post("/v1/cart/coins", key=read, json_body=cart).status),
        # the webhooks above leave the customer thousands of coins to spend
        Case(
            "POST /v1/customers/{id}/redemptions (dynamic)",
            2,
            lambda _: (
                api.post(
                    f"/v1/customers/{customer}/redemptions",
                    key=write,
                    json_body={"reward_id": "pay-with-coins", "coins": 20, "cart_total": "100.00"},
                ).status
            ),
        ),
        Case(
            "GET /v1/rewards?customer_id",
            1,
            lambda _: api.get("/v1/rewards", key=read, query={"customer_id": customer}).status,
        ),
        Case(
            "GET /v1/customers/{id}/coupons",
            1,
            lambda _: api.get(f"/v1/customers/{customer}/coupons", key=read).status,
        ),
        # the storefront widget's settings, on every shop page (from the cached config: 0 calls)
        Case(
            "GET /v1/widget/settings (app key)",
            0,
            lambda _: api.get("/v1/widget/settings", key=demo.api_keys.public).status,
        ),
        # an app: the app key plus a customer token (verified from the cached keyring: 0 calls)
        Case(
            "GET wallet, app key + customer token",
            1,
            lambda _: (
                api.get(f"/v1/customers/{customer}/wallet", key=demo.api_keys.public, headers=token).status
            ),
        ),
        Case(
            "GET /v1/program (app key)", 0, lambda _: api.get("/v1/program", key=demo.api_keys.public).status
        ),
    ]


def _analytics_cases(api: InProcessApi, demo: DemoStore) -> list[Case]:
    admin, read = demo.api_keys.admin, demo.api_keys.read

    def track(_: str) -> int:
        events = [
            {"id": str(uuid.uuid4()), "type": "widget_opened", "customer_id": f"b-{i % 10}"}
            for i in range(40)
        ] + [{"id": str(uuid.uuid4()), "type": "widget_clicked"} for _ in range(10)]
        return api.post("/v1/events/track", key=read, json_body={"events": events}).status

    return [
        Case(
            "GET analytics summary 90d",
            1,
            lambda _: api.get("/v1/admin/analytics/summary", key=admin, query={"range": "90d"}).status,
        ),
        Case(
            "GET analytics series 90d by week",
            1,
            lambda _: (
                api.get(
                    "/v1/admin/analytics/series",
                    key=admin,
                    query={
                        "metrics": "orders,revenue,liability_value",
                        "range": "90d",
                        "granularity": "week",
                    },
                ).status
            ),
        ),
        Case("POST /v1/events/track (50)", 2, track),
    ]


def _analytics_volume(api: InProcessApi) -> int:
    """The 90-day summary of a store with 1,000 orders against one with 100,000, in the same run: the
    orders are folded through the aggregator's rules into day items (as the stream would leave them);
    the summary reads one item per day either way, so its time must not grow (ratio <= 1.2)."""
    from datetime import timedelta  # noqa: PLC0415

    from infra.onboard import onboard  # noqa: PLC0415
    from infra.seed import DEMO_PROGRAM  # noqa: PLC0415
    from pollen.clock import utcnow  # noqa: PLC0415
    from pollen.domain import analytics as rules  # noqa: PLC0415
    from pollen.services.container import container  # noqa: PLC0415
    from pollen.storage.analytics import RollupStore  # noqa: PLC0415

    now = utcnow()
    timings: dict[int, list[float]] = {}
    keys: dict[int, str] = {}
    for orders in (1_000, 100_000):
        merchant = f"bench-{orders}"
        keys[orders] = onboard(merchant, merchant, DEMO_PROGRAM).admin
        days: dict[object, dict[str, rules.Number]] = {}
        sources = ("widget", "app", "email", "referral", "pos", "api")
        for n in range(orders):
            day = (now - timedelta(days=n % 180)).date()
            attributions = [{"source": "redemption", "channel": sources[n % 6]}] if n % 3 == 0 else []
            rules.add(
                days.setdefault(day, {}), rules.order_counters(f"{20 + n % 50}.{n % 100:02d}", attributions)
            )
            rules.add(days[day], rules.wallet_counters("reward", "credit", 20 + n % 50, "order"))
            if n % 5 == 0:
                rules.add(days[day], rules.comm_counters("wallet_transaction", "klaviyo", "delivered", False))
        contributions = [rules.Contribution(f"bench:{d}", d, c) for d, c in days.items()]  # type: ignore[arg-type]
        RollupStore(container().table).apply(merchant, contributions, now)
    for orders in (1_000, 100_000):  # warm both
        api.get("/v1/admin/analytics/summary", key=keys[orders], query={"range": "90d"})
    for _ in range(max(5, WARM_RUNS // 10)):
        for orders in (1_000, 100_000):  # interleaved, so machine noise hits both alike
            call_counter.reset()
            started = time.perf_counter()
            status = api.get("/v1/admin/analytics/summary", key=keys[orders], query={"range": "90d"}).status
            timings.setdefault(orders, []).append((time.perf_counter() - started) * 1000)
            assert status == 200, status
            assert call_counter.snapshot() == {"Query": 1}, call_counter.snapshot()
    small, large = statistics.median(timings[1_000]), statistics.median(timings[100_000])
    ratio = large / small
    flag = "" if ratio <= 1.2 else "  OVER 1.2"
    print(
        f"\nAnalytics 90-day summary, 1 Query each: 1,000 orders {small:.2f} ms, "
        f"100,000 orders {large:.2f} ms (median), ratio {ratio:.2f}{flag}"
    )
    return 0 if ratio <= 1.2 else 1


def _tier_cases(api: InProcessApi, demo: DemoStore) -> list[Case]:
    """VIP tiers: an order that upgrades a new customer to Gold (entry reward, event), the tier read,
    and the cart for a known customer (its multiplier)."""
    counter = itertools.count(1)

    def vip() -> str:
        return f"vip-{next(counter)}"

    def upgrade(customer: str) -> int:
        body = {
            "order_id": f"{customer}-o",
            "customer_id": customer,
            "currency": "USD",
            "paid": True,
            "lines": [{"line_id": "1", "quantity": 1, "unit_price": "600.00"}],
        }
        return api.post("/v1/orders", key=demo.api_keys.write, json_body=body).status

    read = demo.api_keys.read
    upgrade("vip-0")
    cart = {
        "customer_id": "vip-0",
        "currency": "USD",
        "lines": [{"product_id": "p1", "quantity": 2, "unit_price": "19.99"}],
    }
    return [
        Case("POST /v1/orders (upgrades a tier)", 2, upgrade, prepare=vip),
        Case(
            "GET /v1/customers/{id}/tier", 1, lambda _: api.get("/v1/customers/vip-0/tier", key=read).status
        ),
        Case(
            "POST /v1/cart/coins (known customer)",
            1,
            lambda _: api.post("/v1/cart/coins", key=read, json_body=cart).status,
        ),
        Case(
            "GET /v1/admin/tiers (members)",
            1,
            lambda _: api.get("/v1/admin/tiers", key=demo.api_keys.admin).status,
        ),
    ]


def _referral_cases(api: InProcessApi, demo: DemoStore) -> list[Case]:
    """An order webhook that completes a referral by code (a new friend each run), the referral
    page, an invitation (a new friend each run) and the referral history."""
    order = json.loads((ROOT / "tests" / "fixtures" / "shopify" / "orders_paid.json").read_text())
    counter = itertools.count(1)
    secret, shop = demo.shopify.webhook_secret, demo.shopify.shop_domain
    write, read = demo.api_keys.write, demo.api_keys.read
    referrer = "bench-referrer"
    api.put(f"/v1/customers/{referrer}", key=write, json_body={"email": "referrer@example.com"})
    code = api.get(f"/v1/customers/{referrer}/referral", key=read).json()["code"]

    def friend_order() -> str:
        n = next(counter)
        friend = {**order["customer"], "id": 50_000_000 + n, "email": f"f{n}@example.com", "phone": None}
        body = {
            **order,
            "id": 40_000_000 + n,
            "email": f"f{n}@example.com",
            "customer": friend,
            "discount_codes": [{"code": code, "amount": "0.00", "type": "fixed_amount"}],
        }
        return json.dumps(body)

    def webhook(body: str) -> int:
        raw = body.encode()
        headers = {
            "content-type": "application/json",
            "x-shopify-topic": "orders/paid",
            "x-shopify-shop-domain": shop,
            "x-shopify-webhook-id": str(uuid.uuid4()),
            "x-shopify-hmac-sha256": sign(secret, raw),
        }
        return api.post("/webhooks/shopify", body=raw, headers=headers).status

    def invitee() -> str:
        return f"invitee-{next(counter)}@example.com"

    return [
        Case("POST /webhooks/shopify (referral completes)", 3, webhook, prepare=friend_order),
        Case(
            "GET /v1/customers/{id}/referral",
            1,
            lambda _: api.get(f"/v1/customers/{referrer}/referral", key=read).status,
        ),
        Case(
            "POST /v1/customers/{id}/referrals",
            2,
            lambda email: (
                api.post(f"/v1/customers/{referrer}/referrals", key=write, json_body={"email": email}).status
            ),
            prepare=invitee,
        ),
        Case(
            "GET /v1/customers/{id}/referrals",
            1,
            lambda _: api.get(f"/v1/customers/{referrer}/referrals", key=read).status,
        ),
    ]


def main() -> int:
    _env()
    make_dynamodb_writes_atomic()
    template = load_template(ROOT / "template.yaml")
    failures = 0
    with mock_aws():
        resources = create_resources(template, prefix="pollen-bench")
        resolver = resources.resolver(template, parameters={"Stage": "dev"}, stack_name="pollen-bench")
        for spec in describe_functions(template, resolver):
            os.environ.update({k: v for k, v in spec.env.items() if k != "POWERTOOLS_SERVICE_NAME"})
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        # The budgets are for a warm container with config and keys cached (docs/design.md); on a busy
        # machine a run outlasts the template's 30 s config cache, and its re-read would be counted
        # against whichever route happened to come next.
        os.environ.update(CONFIG_CACHE_TTL_SECONDS="3600", AUTH_CACHE_TTL_SECONDS="3600")
        reset_clients()
        reset_container()
        demo = seed_demo_store("http://bench", tiers=True)  # as `make dev`: every order also moves tiers
        api = InProcessApi(template, resources)
        admin = demo.api_keys.admin
        program = api.get("/v1/admin/program", key=admin).json()
        body = {k: program[k] for k in ("currency", "earning", "coin_value", "expiry")}

        def new_key_id() -> str:
            created = api.post("/v1/admin/api-keys", key=admin, json_body={"name": "b", "scope": "read"})
            return str(created.json()["key_id"])

        new_key = {"name": "bench", "scope": "read"}
        unknown_key = "pollen.demo-store.0123456789abcdef." + "a" * 43
        cases = [
            Case("GET /v1/health", 0, lambda _: api.get("/v1/health").status),
            Case("GET /v1/admin/program", 0, lambda _: api.get("/v1/admin/program", key=admin).status),
            Case("GET /v1/admin/api-keys", 1, lambda _: api.get("/v1/admin/api-keys", key=admin).status),
            Case(
                "PUT /v1/admin/program",
                2,
                lambda _: api.put("/v1/admin/program", key=admin, json_body=body).status,
            ),
            Case(
                "POST /v1/admin/api-keys",
                1,
                lambda _: api.post("/v1/admin/api-keys", key=admin, json_body=new_key).status,
            ),
            Case(
                "DELETE /v1/admin/api-keys/{id}",
                1,
                lambda key_id: api.delete(f"/v1/admin/api-keys/{key_id}", key=admin).status,
                prepare=new_key_id,
            ),
            Case("GET, unknown key (401)", 0, lambda _: api.get("/v1/admin/program", key=unknown_key).status),
            *_wallet_cases(api, demo),
            *_analytics_cases(api, demo),
            *_tier_cases(api, demo),
            *_referral_cases(api, demo),
        ]
        header = f"{'request':34} {'status':>6} {'ddb calls':>9} {'budget':>6}  {'p50 ms':>7} {'p95 ms':>7}"
        print(f"{header}  operations")
        for case in cases:
            status, used, samples = _measure(case, WARM_RUNS if case.budget == 0 else WARM_RUNS // 4)
            p50 = statistics.median(samples)
            p95 = statistics.quantiles(samples, n=20)[-1]
            total = sum(used.values())
            flag = "" if total <= case.budget else "  OVER BUDGET"
            failures += total > case.budget
            if status == 429 or status >= 500:  # a throttled or failed request measures nothing
                flag += f"  UNEXPECTED {status}"
                failures += 1
            ops = ", ".join(f"{op} x{n}" for op, n in sorted(used.items())) or "-"
            print(
                f"{case.name:34} {status:>6} {total:>9} {case.budget:>6}  {p50:7.2f} {p95:7.2f}  {ops}{flag}"
            )
        failures += _analytics_volume(api)
        failures += run_coverage(api, demo, template, resources)  # every other path (infra/bench_cases)
    failures += cold_start.main()
    print("\nLatency is in-process on moto: it measures our code path, not DynamoDB's network time.")
    print()
    failures += cost.main()  # the per-order cost with its arithmetic (infra/cost.py)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
