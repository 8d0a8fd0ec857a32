"""Referral paths: the program (admin), the admin lists, the referral page, invitations, shares."""

from __future__ import annotations

from infra.bench_cases import Bench, Case
from infra.bench_cases.customers import CUSTOMER, rich_customer

C = f"/v1/customers/{CUSTOMER}"


def _invite(bench: Bench, email: str) -> int:
    return bench.status("POST", f"{C}/referrals", "write", json_body={"email": email, "name": "Sam"})


def _setup(bench: Bench) -> None:
    rich_customer(bench)
    program = bench.ok("GET", "/v1/admin/referral-program")
    bench.state["referral_program"] = {k: v for k, v in program.items() if k not in {"version", "updated_at"}}
    invited = bench.ok("POST", f"{C}/referrals", "write", json_body={"email": "first-friend@example.com"})
    bench.state["referral_id"] = invited["referral_id"]


CASES = [
    Case(
        "GET /v1/admin/referral-program",
        "",
        lambda b, _: b.status("GET", "/v1/admin/referral-program"),
        setup=_setup,
    ),
    Case(
        "PUT /v1/admin/referral-program",
        "same settings",
        lambda b, _: b.status("PUT", "/v1/admin/referral-program", json_body=b.state["referral_program"]),
    ),
    Case("GET /v1/admin/referrals", "", lambda b, _: b.status("GET", "/v1/admin/referrals")),
    Case(
        "GET /v1/admin/referrals/{referral_id}",
        "",
        lambda b, _: b.status("GET", f"/v1/admin/referrals/{b.state['referral_id']}"),
    ),
    Case(
        "GET /v1/customers/{customer_id}/referral",
        "",
        lambda b, _: b.status("GET", f"{C}/referral", "read"),
        budget=1,
    ),
    Case(
        "POST /v1/customers/{customer_id}/referrals",
        "new friend",
        _invite,
        lambda b: f"friend-{b.n()}@example.com",
        budget=2,
        expect=201,
    ),
    Case(
        "GET /v1/customers/{customer_id}/referrals",
        "",
        lambda b, _: b.status("GET", f"{C}/referrals", "read"),
        budget=1,
    ),
    Case(
        "POST /v1/customers/{customer_id}/referral/shares",
        "",
        lambda b, _: b.status("POST", f"{C}/referral/shares", "write", json_body={"channel": "whatsapp"}),
        expect=204,
    ),
]
