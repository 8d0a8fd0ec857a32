"""Redemption paths: the rewards catalogue (admin), offers, redemptions, coupons and coupon cancel."""

from __future__ import annotations

from typing import Any

from infra.bench_cases import Bench, Case
from infra.bench_cases.customers import CUSTOMER, rich_customer

C = f"/v1/customers/{CUSTOMER}"
REWARD = {"type": "fixed_amount", "name": "$5 off", "coins": 100, "amount": "5.00"}


def _redeem(bench: Bench, body: dict[str, Any]) -> int:
    return bench.status("POST", f"{C}/redemptions", "write", json_body=body, idempotent=True)


def _issued_code(bench: Bench) -> str:
    """A coupon just redeemed (untimed), for the cancel."""
    redeemed = bench.ok("POST", f"{C}/redemptions", "write", json_body={"reward_id": "five-off"})
    return str(redeemed["coupon"]["code"])


def _reward_to_delete(bench: Bench) -> str:
    reward_id = f"bench-r-{bench.n()}"
    bench.ok("PUT", f"/v1/admin/rewards/{reward_id}", json_body=REWARD)
    return reward_id


CASES = [
    Case("GET /v1/admin/rewards", "", lambda b, _: b.status("GET", "/v1/admin/rewards"), setup=rich_customer),
    Case("GET /v1/admin/rewards/{reward_id}", "", lambda b, _: b.status("GET", "/v1/admin/rewards/five-off")),
    Case(
        "PUT /v1/admin/rewards/{reward_id}",
        "replace",
        lambda b, _: b.status("PUT", "/v1/admin/rewards/bench-reward", json_body=REWARD),
        setup=lambda b: b.ok("PUT", "/v1/admin/rewards/bench-reward", json_body=REWARD),
    ),
    Case(
        "DELETE /v1/admin/rewards/{reward_id}",
        "",
        lambda b, r: b.status("DELETE", f"/v1/admin/rewards/{r}"),
        _reward_to_delete,
        expect=204,
    ),
    Case(
        "GET /v1/rewards",
        "offers for a customer and cart",
        lambda b, _: b.status(
            "GET", "/v1/rewards", "read", query={"customer_id": CUSTOMER, "cart_total": "80.00"}
        ),
        budget=1,
    ),
    Case(
        "POST /v1/customers/{customer_id}/redemptions",
        "fixed amount",
        lambda b, _: _redeem(b, {"reward_id": "five-off"}),
        budget=2,
        expect=201,
    ),
    Case(
        "POST /v1/customers/{customer_id}/redemptions",
        "dynamic (pay with coins)",
        lambda b, _: _redeem(b, {"reward_id": "pay-with-coins", "coins": 20, "cart_total": "100.00"}),
        budget=2,
        expect=201,
    ),
    Case(
        "GET /v1/customers/{customer_id}/coupons",
        "",
        lambda b, _: b.status("GET", f"{C}/coupons", "read", query={"status": "issued"}),
        budget=1,
    ),
    Case(
        "DELETE /v1/customers/{customer_id}/coupons/{code}",
        "coupon cancel",
        lambda b, code: b.status("DELETE", f"{C}/coupons/{code}", "write"),
        _issued_code,
        budget=2,
    ),
]
