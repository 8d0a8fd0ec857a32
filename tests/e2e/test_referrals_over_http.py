"""The referrals issue's acceptance over HTTP against `make dev`'s stack (Shopify webhooks, the API)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.test_wallet_over_http import FIXTURES, _order, _post

pytestmark = pytest.mark.e2e


def _shopify_customer(customer_id: int, email: str, first_name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / "customers_create.json").read_text())
    return payload | {"id": customer_id, "email": email, "phone": None, "first_name": first_name}


def _order_by(customer_id: int, order_id: int, email: str, codes: list[str] | None = None) -> dict[str, Any]:
    order = _order(customer_id, order_id)
    order["email"] = order["contact_email"] = email
    order["customer"] |= {"email": email, "phone": None}
    order["discount_codes"] = [{"code": c, "amount": "0.00", "type": "fixed_amount"} for c in codes or []]
    return order


def _referral_coins(http: httpx.Client, stack: LocalStack, customer_id: int) -> list[int]:
    items = http.get(
        f"/v1/customers/{customer_id}/transactions", headers={"x-api-key": stack.key("read")}
    ).json()["items"]
    return [t["coins"] for t in items if t["source"] == "referral"]


def test_invite_code_and_self_referral_acceptance(http: httpx.Client, stack: LocalStack) -> None:
    run = uuid.uuid4().int % 10_000_000
    a, friend, b, regular, newcomer = (3_000_000_000 + run * 10 + n for n in range(5))
    read, write = {"x-api-key": stack.key("read")}, {"x-api-key": stack.key("write")}
    a_email, friend_email = f"a.{run}@example.com", f"friend.{run}@x.example"

    # A invites friend@x; the friend signs up in Shopify and pays a qualifying order
    assert _post(http, stack, "customers/create", _shopify_customer(a, a_email, "Ada")).status_code == 200
    invited = http.post(f"/v1/customers/{a}/referrals", headers=write, json={"email": friend_email})
    assert invited.status_code == 201, invited.text
    assert invited.json()["status"] == "invited"
    signup = _shopify_customer(friend, friend_email, "Fred")
    assert _post(http, stack, "customers/create", signup).status_code == 200
    paid = _order_by(friend, 5_000_000_000 + run, friend_email)
    assert _post(http, stack, "orders/paid", paid).status_code == 200
    assert _post(http, stack, "orders/paid", paid).status_code == 200  # Shopify delivers twice
    assert _referral_coins(http, stack, a) == [500]
    assert _referral_coins(http, stack, friend) == [250]
    page = http.get(f"/v1/customers/{a}/referral", headers=read).json()
    assert (page["stats"]["completed"], page["stats"]["coins_earned"]) == (1, 500)
    history = http.get(f"/v1/customers/{a}/referrals", headers=read).json()["items"]
    assert [(r["status"], r["friend_email"]) for r in history] == [("completed", "f***@x.example")]

    # B's code used by an existing customer: rejected not_new_customer, no reward
    assert (
        _post(http, stack, "customers/create", _shopify_customer(b, f"b.{run}@example.com", "Bo")).status_code
        == 200
    )
    code = http.get(f"/v1/customers/{b}/referral", headers=read).json()["code"]
    regular_email = f"r.{run}@example.com"
    assert (
        _post(http, stack, "orders/paid", _order_by(regular, 6_000_000_000 + run, regular_email)).status_code
        == 200
    )
    second = _order_by(regular, 6_100_000_000 + run, regular_email, codes=[code])
    assert _post(http, stack, "orders/paid", second).status_code == 200
    assert _referral_coins(http, stack, b) == []
    assert _referral_coins(http, stack, regular) == []
    refused = http.get(f"/v1/customers/{b}/referrals", headers=read).json()["items"]
    assert [(r["status"], r["reason"]) for r in refused] == [("rejected", "not_new_customer")]
    # ... while a new customer's first order with the same code completes B's referral
    fresh = _order_by(newcomer, 6_200_000_000 + run, f"n.{run}@example.com", codes=[code])
    assert _post(http, stack, "orders/paid", fresh).status_code == 200
    assert _referral_coins(http, stack, b) == [500]
    admin = http.get(
        f"/v1/admin/orders/{6_200_000_000 + run}", headers={"x-api-key": stack.key("admin")}
    ).json()
    assert admin["attributions"][-1] | {"source": "referral", "code": code} == admin["attributions"][-1]

    # A referring A's own email with a +tag: rejected
    own = http.post(
        f"/v1/customers/{a}/referrals", headers=write, json={"email": a_email.replace("@", "+deal@")}
    )
    assert own.status_code == 201
    assert (own.json()["status"], own.json()["reason"]) == ("rejected", "self_referral")
    assert _referral_coins(http, stack, a) == [500]
