"""Customer-bound access, as an attacker holding what ships in an app would try it: the app key
(``public``) plus a customer token for their own customer X."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import boto3
import jwt
import pytest

from infra.inprocess import InProcessApi
from infra.onboard import onboard
from infra.seed import DEMO_PROGRAM, DemoStore
from pollen.clock import utcnow
from pollen.domain import customer_tokens as rules
from pollen.domain.customer_tokens import audience
from pollen.integrations.shopify import app_proxy
from pollen.services.container import container
from pollen.storage.client import CallCounter
from pollen.storage.customer_tokens import parse_keyring, put_keyring
from pollen.storage.keys import token_keyring_key
from tests.support.problems import problem

X, Y = "cust-x", "cust-y"
ORDER: dict[str, Any] = {
    "order_id": "9001",
    "customer_id": Y,
    "email": "y@example.com",
    "currency": "USD",
    "lines": [{"line_id": "l-1", "product_id": "p-1", "quantity": 3, "unit_price": "100.00"}],
    "paid": True,
}


def mint(api: InProcessApi, demo: DemoStore, customer_id: str, ttl: int = 3600) -> str:
    answer = api.post(
        "/v1/customer-tokens",
        key=demo.api_keys.write,
        json_body={"customer_id": customer_id, "ttl_seconds": ttl},
    )
    assert answer.status == 201, answer.body
    assert answer.headers["cache-control"] == "no-store"
    assert set(answer.json()) == {"token", "expires_at"}
    token: str = answer.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def balance(api: InProcessApi, demo: DemoStore, customer_id: str) -> int:
    value: int = api.get(f"/v1/customers/{customer_id}/wallet", key=demo.api_keys.read).json()["balance"]
    return value


@pytest.fixture
def two_customers(api: InProcessApi, demo: DemoStore) -> None:
    """X and Y both exist; Y has 300 coins (a paid order), X has none."""
    for customer in (X, Y):
        assert api.put(f"/v1/customers/{customer}", key=demo.api_keys.write, json_body={}).status == 201
    assert api.post("/v1/orders", key=demo.api_keys.write, json_body=ORDER).json()["coins_credited"] == 300


@pytest.mark.usefixtures("two_customers")
def test_app_key_with_x_token_reaches_x_only(api: InProcessApi, demo: DemoStore) -> None:
    app, token = demo.api_keys.public, bearer(mint(api, demo, X))
    assert api.get(f"/v1/customers/{X}/wallet", key=app, headers=token).status == 200
    assert api.get(f"/v1/customers/{X}/transactions", key=app, headers=token).status == 200
    assert api.get(f"/v1/customers/{X}/coupons", key=app, headers=token).status == 200

    denied = problem(api.get(f"/v1/customers/{Y}/wallet", key=app, headers=token), 403)
    redeem = {"reward_id": "five-off"}
    same = problem(api.post(f"/v1/customers/{Y}/redemptions", key=app, headers=token, json_body=redeem), 403)
    orders = problem(
        api.post("/v1/orders", key=app, headers=token, json_body={**ORDER, "order_id": "e"}), 403
    )
    others = [
        api.get(f"/v1/customers/{Y}/transactions", key=app, headers=token),
        api.get(f"/v1/customers/{Y}/coupons", key=app, headers=token),
        api.delete(f"/v1/customers/{Y}/coupons/ABCD-EFGH-JKLM", key=app, headers=token),
        api.post(f"/v1/customers/{Y}/triggers/app_install", key=app, headers=token),
        api.put(f"/v1/customers/{Y}", key=app, headers=token, json_body={"email": "x@example.com"}),
        api.get("/v1/rewards", key=app, headers=token, query={"customer_id": Y}),
        api.post("/v1/orders/9001/cancel", key=app, headers=token),
        api.post("/v1/orders/9001/paid", key=app, headers=token),
        api.post(
            "/v1/orders/9001/refunds",
            key=app,
            headers=token,
            json_body={"refund_id": "r", "lines": [{"line_id": "l-1", "quantity": 3, "subtotal": "300.00"}]},
        ),
        api.post(f"/v1/admin/customers/{X}/adjustments", key=app, headers=token, json_body={"coins": 5}),
        api.post("/v1/customer-tokens", key=app, headers=token, json_body={"customer_id": Y}),
    ]
    for response in others:
        assert problem(response, 403) == denied  # one 403 body: nothing says why or who exists
    assert same == orders == denied
    assert balance(api, demo, Y) == 300  # nothing moved
    assert api.get("/v1/admin/orders/9001", key=demo.api_keys.admin).json()["status"] == "confirmed"


@pytest.mark.usefixtures("two_customers")
def test_app_key_alone_reads_the_program_catalogue_and_cart_but_no_customer(
    api: InProcessApi, demo: DemoStore
) -> None:
    app = demo.api_keys.public
    program = api.get("/v1/program", key=app)
    assert program.status == 200
    assert program.json()["currency"] == "USD"
    assert {t["trigger_id"]: t["customer_runnable"] for t in program.json()["triggers"]} == {
        "app_install": True,
        "signup": False,
    }
    catalogue = api.get("/v1/rewards", key=app)
    assert catalogue.status == 200
    assert catalogue.json() == api.get("/v1/rewards", key=demo.api_keys.read).json()  # no customer in it
    assert len(catalogue.json()["items"]) == 4
    cart = {"currency": "USD", "lines": [{"product_id": "p", "quantity": 1, "unit_price": "10.00"}]}
    assert api.post("/v1/cart/coins", key=app, json_body=cart).status == 200

    unauthenticated = problem(api.get(f"/v1/customers/{X}/wallet", key=app), 401)
    for response in (
        api.get(f"/v1/customers/{Y}/wallet", key=app),
        api.get(f"/v1/customers/{Y}/coupons", key=app),
        api.post(f"/v1/customers/{Y}/redemptions", key=app, json_body={"reward_id": "five-off"}),
        api.get("/v1/rewards", key=app, query={"customer_id": Y}),
        api.get("/v1/customers/nobody/wallet", key=app),  # no 404 either: existence is not revealed
    ):
        assert problem(response, 401) == unauthenticated
    assert problem(api.post("/v1/orders", key=app, json_body=ORDER), 403)["title"] == "Forbidden"
    assert api.get("/v1/admin/program", key=app).status == 403
    assert balance(api, demo, Y) == 300


@pytest.mark.usefixtures("two_customers")
def test_expired_forged_and_foreign_tokens_are_401(
    api: InProcessApi, demo: DemoStore, monkeypatch: pytest.MonkeyPatch, table_name: str
) -> None:
    app, path = demo.api_keys.public, f"/v1/customers/{X}/wallet"
    good = mint(api, demo, X, ttl=60)
    baseline = problem(api.get(path, key=app, headers=bearer("not-a-token")), 401)

    item = boto3.client("dynamodb").get_item(
        TableName=table_name,
        Key={"PK": {"S": token_keyring_key(demo.merchant_id).pk}, "SK": {"S": "TOKEN_KEYS"}},
    )["Item"]
    kid = item["secrets"]["L"][0]["M"]["kid"]["S"]
    now = int(time.time())
    claims = {"iss": "pollen", "aud": audience(demo.merchant_id), "sub": X, "iat": now, "exp": now + 600}
    head, _, signature = good.split(".")
    forged = [
        jwt.encode(
            claims, "a-guessed-secret-of-enough-length-for-hs256", algorithm="HS256", headers={"kid": kid}
        ),
        jwt.encode(claims, "", algorithm="none", headers={"kid": kid}),
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),  # signature tampered
        ".".join([head, jwt.utils.base64url_encode(b'{"sub":"cust-y"}').decode(), signature]),
    ]
    for token in forged:
        assert problem(api.get(path, key=app, headers=bearer(token)), 401) == baseline

    # a token of another merchant, whose app key cannot help either
    other = onboard("other-store", "Other", DEMO_PROGRAM)
    foreign = api.post(
        "/v1/customer-tokens", key=other.write, json_body={"customer_id": X, "ttl_seconds": 600}
    ).json()["token"]
    assert problem(api.get(path, key=app, headers=bearer(foreign)), 401) == baseline
    assert problem(api.get(path, key=other.public, headers=bearer(good)), 401) == baseline

    assert api.get(path, key=app, headers=bearer(good)).status == 200
    later = utcnow() + timedelta(seconds=60 + 31)  # past the expiry and the 30 s leeway
    monkeypatch.setattr("pollen.api.app.utcnow", lambda: later)
    assert problem(api.get(path, key=app, headers=bearer(good)), 401) == baseline
    assert problem(api.get(path, key=app, headers={"authorization": "Basic eDp5"}), 401) == baseline


@pytest.mark.usefixtures("two_customers")
def test_server_keys_keep_working_for_any_customer(api: InProcessApi, demo: DemoStore) -> None:
    for key in (demo.api_keys.read, demo.api_keys.write, demo.api_keys.admin):
        assert api.get(f"/v1/customers/{Y}/wallet", key=key).status == 200
        assert api.get("/v1/rewards", key=key, query={"customer_id": Y}).status == 200
    assert api.post(f"/v1/customers/{Y}/triggers/signup", key=demo.api_keys.write).status == 201
    assert api.post(f"/v1/customers/{Y}/redemptions", key=demo.api_keys.read, json_body={}).status == 403
    # a read key with Y's token may act for Y (the token is the customer's consent), not for X
    token = bearer(mint(api, demo, Y))
    redeemed = api.post(
        f"/v1/customers/{Y}/redemptions",
        key=demo.api_keys.read,
        headers=token,
        json_body={"reward_id": "five-off"},
    )
    assert redeemed.status == 201, redeemed.body
    assert api.get(f"/v1/customers/{X}/wallet", key=demo.api_keys.public, headers=token).status == 403


@pytest.mark.usefixtures("two_customers")
def test_an_app_awards_only_customer_runnable_triggers(api: InProcessApi, demo: DemoStore) -> None:
    app, token = demo.api_keys.public, bearer(mint(api, demo, X))
    denied = problem(api.get(f"/v1/customers/{Y}/wallet", key=app, headers=token), 403)
    assert problem(api.post(f"/v1/customers/{X}/triggers/signup", key=app, headers=token), 403) == denied
    installed = api.post(f"/v1/customers/{X}/triggers/app_install", key=app, headers=token)
    assert installed.status == 201, installed.body
    assert installed.json()["balance"] == 25
    assert api.post(f"/v1/customers/{X}/triggers/app_install", key=app, headers=token).status == 409
    assert balance(api, demo, X) == 25


def test_an_email_change_through_an_app_captures_no_guest_order(api: InProcessApi, demo: DemoStore) -> None:
    victim_order = {**ORDER, "order_id": "g-1", "customer_id": None, "email": "victim@example.com"}
    assert (
        api.post("/v1/orders", key=demo.api_keys.write, json_body=victim_order).json()["customer_id"] is None
    )
    api.put(f"/v1/customers/{X}", key=demo.api_keys.write, json_body={})
    app, token = demo.api_keys.public, bearer(mint(api, demo, X))

    changed = api.put(f"/v1/customers/{X}", key=app, headers=token, json_body={"email": "victim@example.com"})
    assert changed.status == 200, changed.body
    assert changed.json()["claimed_orders"] == []
    assert changed.json()["email_verified"] is False
    vouched = {"email": "victim@example.com", "email_verified": True}
    denied = problem(api.get(f"/v1/customers/{Y}/wallet", key=app, headers=token), 403)
    assert problem(api.put(f"/v1/customers/{X}", key=app, headers=token, json_body=vouched), 403) == denied
    # a later guest order with that email is not credited to the attacker either
    later = {**victim_order, "order_id": "g-2"}
    assert api.post("/v1/orders", key=demo.api_keys.write, json_body=later).json()["customer_id"] is None
    assert balance(api, demo, X) == 0
    for order_id in ("g-1", "g-2"):
        assert api.get(f"/v1/admin/orders/{order_id}", key=demo.api_keys.admin).json()["customer_id"] is None

    # the real owner, proven by the merchant's server, gets both
    owner = api.put(f"/v1/customers/{Y}", key=demo.api_keys.write, json_body=vouched)
    assert sorted(owner.json()["claimed_orders"]) == ["g-1", "g-2"]
    assert balance(api, demo, Y) == 600


@pytest.mark.usefixtures("two_customers")
def test_customer_token_auth_costs_no_dynamodb_call_warm(
    api: InProcessApi, demo: DemoStore, calls: CallCounter
) -> None:
    app, token = demo.api_keys.public, bearer(mint(api, demo, X))
    api.get(f"/v1/customers/{X}/wallet", key=app, headers=token)
    calls.reset()
    assert api.get(f"/v1/customers/{X}/wallet", key=app, headers=token).status == 200
    assert calls.snapshot() == {"GetItem": 1}  # the wallet itself; the key and the token cost nothing
    calls.reset()
    assert api.get(f"/v1/customers/{Y}/wallet", key=app, headers=token).status == 403
    assert calls.total == 0


@pytest.mark.usefixtures("two_customers")
def test_rotation_keeps_old_tokens_for_the_grace_period_only(api: InProcessApi, demo: DemoStore) -> None:
    app, path = demo.api_keys.public, f"/v1/customers/{X}/wallet"
    old = bearer(mint(api, demo, X))
    assert problem(api.post("/v1/admin/customer-tokens/rotate", key=demo.api_keys.write), 403)
    rotated = api.post("/v1/admin/customer-tokens/rotate", key=demo.api_keys.admin)
    assert rotated.status == 200, rotated.body
    keys = rotated.json()["keys"]
    assert [k["retires_at"] is None for k in keys] == [True, False]
    assert all(set(k) == {"kid", "created_at", "retires_at"} for k in keys)  # never the secret
    new = bearer(mint(api, demo, X))
    assert api.get(path, key=app, headers=old).status == 200  # grace period: no downtime
    assert api.get(path, key=app, headers=new).status == 200
    again = api.post(
        "/v1/admin/customer-tokens/rotate", key=demo.api_keys.admin, json_body={"grace_seconds": 0}
    )
    assert again.status == 200
    assert problem(api.get(path, key=app, headers=old), 401)
    assert problem(api.get(path, key=app, headers=new), 401)
    assert api.get(path, key=app, headers=bearer(mint(api, demo, X))).status == 200


def test_mint_needs_a_server_write_key_and_a_sane_ttl(api: InProcessApi, demo: DemoStore) -> None:
    body = {"customer_id": X, "ttl_seconds": 600}
    for key in (demo.api_keys.public, demo.api_keys.read):
        problem(api.post("/v1/customer-tokens", key=key, json_body=body), 403)
    problem(api.post("/v1/customer-tokens", json_body=body), 401)
    for ttl in (0, 59, 86_401, "600", 600.5, True):
        problem(
            api.post("/v1/customer-tokens", key=demo.api_keys.write, json_body={**body, "ttl_seconds": ttl}),
            422,
        )
    problem(api.post("/v1/customer-tokens", key=demo.api_keys.write, json_body={"customer_id": "a/b"}), 422)


def _proxy_query(
    demo: DemoStore, customer: str, *, secret: str | None = None, age: int = 0
) -> dict[str, str]:
    params = {
        "shop": demo.shopify.shop_domain,
        "logged_in_customer_id": customer,
        "path_prefix": "/apps/pollen",
        "timestamp": str(int(time.time()) - age),
    }
    signed = app_proxy.signature(secret or demo.shopify.webhook_secret, {k: [v] for k, v in params.items()})
    return {**params, "signature": signed}


@pytest.mark.usefixtures("two_customers")
def test_shopify_app_proxy_signature_yields_a_token_for_the_signed_in_customer(
    api: InProcessApi, demo: DemoStore
) -> None:
    route = "/v1/shopify/app-proxy/customer-token"
    answer = api.get(route, query=_proxy_query(demo, X))
    assert answer.status == 200, answer.body
    token = bearer(answer.json()["token"])
    assert api.get(f"/v1/customers/{X}/wallet", key=demo.api_keys.public, headers=token).status == 200
    assert api.get(f"/v1/customers/{Y}/wallet", key=demo.api_keys.public, headers=token).status == 403

    refused = [
        _proxy_query(demo, X, secret="wrong-secret"),
        _proxy_query(demo, ""),  # nobody signed in
        _proxy_query(demo, X, age=3600),  # replayed an hour later
        {**_proxy_query(demo, X), "logged_in_customer_id": Y},  # customer swapped after signing
        {**_proxy_query(demo, X), "shop": "other.myshopify.com"},
    ]
    for query in refused:
        problem(api.get(route, query=query), 401)
    no_signature = {k: v for k, v in _proxy_query(demo, X).items() if k != "signature"}
    problem(api.get(route, query=no_signature), 401)


@pytest.mark.usefixtures("two_customers")
def test_a_secret_rotated_by_another_container_verifies_after_one_read(
    api: InProcessApi, demo: DemoStore, calls: CallCounter
) -> None:
    app, path = demo.api_keys.public, f"/v1/customers/{X}/wallet"
    assert api.get(path, key=app, headers=bearer(mint(api, demo, X))).status == 200  # warm, keyring cached
    c = container()
    ring = parse_keyring(c.table.get(token_keyring_key(demo.merchant_id), consistent=True))
    rotated = ring.rotated(utcnow(), timedelta(days=1))
    tx = c.table.transaction()
    put_keyring(tx, demo.merchant_id, rotated)
    tx.commit()  # as another container would: this one's cache still has the old keyring
    token, _ = rules.mint(rotated.secrets[0], demo.merchant_id, X, ttl_seconds=600, now=utcnow())

    calls.reset()
    assert api.get(path, key=app, headers=bearer(token)).status == 200
    assert calls.snapshot() == {"Query": 1, "GetItem": 1}  # one config re-read, then the wallet
    calls.reset()
    forged = jwt.encode({"sub": X}, "x" * 40, algorithm="HS256", headers={"kid": "f" * 16})
    for _ in range(8):  # under the anonymous burst (10): a 401 pays from it, the 11th would be a 429
        assert api.get(path, key=app, headers=bearer(forged)).status == 401
    assert calls.total == 0  # unknown kids do not turn into reads


def test_tracking_with_the_app_key_reports_only_for_the_tokens_customer(
    api: InProcessApi, demo: DemoStore
) -> None:
    app = demo.api_keys.public
    anonymous = {"events": [{"id": "e-anon-1", "type": "widget_opened", "channel": "widget"}]}
    assert api.post("/v1/events/track", key=app, json_body=anonymous).status == 202  # a guest's open

    about_x = {"events": [{"id": "e-x-1", "type": "widget_clicked", "customer_id": X}]}
    assert api.post("/v1/events/track", key=app, json_body=about_x).status == 401  # no token
    token = bearer(mint(api, demo, X))
    assert api.post("/v1/events/track", key=app, headers=token, json_body=about_x).status == 202
    about_y = {"events": [{"id": "e-y-1", "type": "widget_clicked", "customer_id": Y}]}
    assert api.post("/v1/events/track", key=app, headers=token, json_body=about_y).status == 403
    assert api.post("/v1/events/track", key=demo.api_keys.read, json_body=about_y).status == 202  # server
