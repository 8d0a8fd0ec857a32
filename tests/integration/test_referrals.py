"""Referrals through the API, in-process on moto: settings, both flows, every fraud guard, limits,
clawback, races, reminders across a moved clock, and the round-trip budgets."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from infra.inprocess import ApiResponse, InProcessApi
from infra.seed import DemoStore
from pollen.services.expiry import run_due
from pollen.storage.client import CallCounter
from tests.support.problems import problem

_des = TypeDeserializer()


def _items(table_name: str) -> list[dict[str, Any]]:
    found = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [{k: _des.deserialize(v) for k, v in i.items()} for i in found]


def outbox(table_name: str, event_type: str) -> list[dict[str, Any]]:
    return [i for i in _items(table_name) if i.get("entity") == "outbox" and i["event_type"] == event_type]


def ledger(table_name: str) -> list[dict[str, Any]]:
    """Ledger entries: each is its own ``wallet_transaction`` event."""
    return [i for i in _items(table_name) if i.get("entity") == "ledger"]


def customer(
    api: InProcessApi, demo: DemoStore, customer_id: str, email: str | None = None, **more: Any
) -> None:
    body = {"email": email, "email_verified": True, **more} if email else more  # the store vouches
    response = api.put(f"/v1/customers/{customer_id}", key=demo.api_keys.write, json_body=body)
    assert response.status in {200, 201}, response.body


def order(
    api: InProcessApi,
    demo: DemoStore,
    order_id: str,
    customer_id: str,
    *,
    amount: str = "60.00",
    paid: bool = True,
    codes: list[str] | None = None,
    email: str | None = None,
    **more: Any,
) -> ApiResponse:
    body = {
        "order_id": order_id,
        "customer_id": customer_id,
        "email": email,
        "currency": "USD",
        "paid": paid,
        "lines": [{"line_id": "1", "quantity": 1, "unit_price": amount}],
        "discount_codes": codes or [],
        **more,
    }
    response = api.post("/v1/orders", key=demo.api_keys.write, json_body=body)
    assert response.status in {200, 201}, response.body
    return response


def referral_coins(api: InProcessApi, demo: DemoStore, customer_id: str) -> list[int]:
    items = api.get(f"/v1/customers/{customer_id}/transactions", key=demo.api_keys.read).json()["items"]
    return [
        i["coins"] if i["operation"] == "credit" else -i["coins"] for i in items if i["source"] == "referral"
    ]


def invite(api: InProcessApi, demo: DemoStore, referrer: str, **body: Any) -> dict[str, Any]:
    response = api.post(f"/v1/customers/{referrer}/referrals", key=demo.api_keys.write, json_body=body)
    assert response.status == 201, response.body
    result: dict[str, Any] = response.json()
    return result


def code_of(api: InProcessApi, demo: DemoStore, customer_id: str) -> str:
    page = api.get(f"/v1/customers/{customer_id}/referral", key=demo.api_keys.read)
    assert page.status == 200, page.body
    code: str = page.json()["code"]
    return code


def settings(api: InProcessApi, demo: DemoStore, **changes: Any) -> dict[str, Any]:
    current = api.get("/v1/admin/referral-program", key=demo.api_keys.admin)
    body = {k: v for k, v in current.json().items() if k not in {"version", "updated_at"}}
    body.update(changes)
    response = api.put(
        "/v1/admin/referral-program",
        key=demo.api_keys.admin,
        json_body=body,
        headers={"if-match": current.headers["etag"]},
    )
    assert response.status == 200, response.body
    result: dict[str, Any] = response.json()
    return result


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


# ---- settings ------------------------------------------------------------------------------------


def test_settings_use_if_match_and_validate(api: InProcessApi, demo: DemoStore) -> None:
    current = api.get("/v1/admin/referral-program", key=demo.api_keys.admin)
    assert current.status == 200
    assert current.json()["enabled"] is True  # the demo store runs referrals
    etag = current.headers["etag"]
    changed = settings(api, demo, limits={"max_rewarded": {"count": 3, "per": "month"}})
    assert changed["limits"]["max_rewarded"] == {"count": 3, "per": "month"}
    stale = api.put(
        "/v1/admin/referral-program",
        key=demo.api_keys.admin,
        json_body={"enabled": False},
        headers={"if-match": etag},
    )
    assert stale.status == 412
    bad = api.put(
        "/v1/admin/referral-program",
        key=demo.api_keys.admin,
        json_body={"referrer_reward": {"type": "coins", "value": "5.00"}},
    )
    problem(bad, 422)
    assert api.put("/v1/admin/referral-program", key=demo.api_keys.write, json_body={}).status == 403


# ---- the email flow ------------------------------------------------------------------------------


def test_invite_signup_and_first_paid_order_reward_both_once(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    customer(api, demo, "ann", "ann@example.com", first_name="Ann")
    invited = invite(api, demo, "ann", email="Friend@X.com", name="Sam")
    assert (invited["status"], invited["friend_email"]) == ("invited", "f***@x.com")
    event = outbox(table_name, "referral_invited")[0]
    assert event["payload"]["customer"]["email"] == "friend@x.com"  # sent about the friend, to invite them
    assert event["payload"]["friend_reward"] == {
        "type": "coins",
        "coins": 250,
        "validity_days": 30,
        "issue_on": "completion",
    }
    code = invited["code"]  # the first invitation made Ann's code: the friend's email carries her link
    assert code.startswith("ANN-")
    assert event["payload"]["share_url"] == f"https://{demo.shopify.shop_domain}/discount/{code}"
    assert code_of(api, demo, "ann") == code

    customer(api, demo, "sam", "friend@x.com")
    listed = api.get("/v1/customers/ann/referrals", key=demo.api_keys.read).json()["items"]
    assert listed[0]["status"] == "signed_up"
    order(api, demo, "o-small", "sam", amount="10.00")  # below the 25.00 minimum: does not qualify
    assert referral_coins(api, demo, "ann") == []
    order(api, demo, "o-1", "sam", amount="60.00")
    order(api, demo, "o-1", "sam", amount="60.00")  # a duplicate delivery
    order(api, demo, "o-2", "sam", amount="60.00")  # a later order
    assert referral_coins(api, demo, "ann") == [500]
    assert referral_coins(api, demo, "sam") == [250]
    listed = api.get("/v1/customers/ann/referrals", key=demo.api_keys.read).json()["items"]
    assert [(r["status"], r["friend_email"]) for r in listed] == [("completed", "f***@x.com")]
    page = api.get("/v1/customers/ann/referral", key=demo.api_keys.read).json()
    assert (
        page["stats"] | {"invited": 1, "signed_up": 1, "completed": 1, "coins_earned": 500} == page["stats"]
    )
    assert page["stats"]["friends_revenue"] == "60.00"
    assert (
        api.post(
            "/v1/customers/ann/referral/shares", key=demo.api_keys.write, json_body={"channel": "email"}
        ).status
        == 204
    )
    assert len(outbox(table_name, "referral_shared")) == 1
    completed = outbox(table_name, "referral_completed")
    assert sorted(e["payload"]["role"] for e in completed) == ["friend", "referrer"]
    assert outbox(table_name, "wallet_transaction") == []  # each ledger entry is its own event
    rewards = [i for i in ledger(table_name) if i["source"] == "referral"]
    assert sorted(i["coins"] for i in rewards) == [250, 500]
    assert all(i["event_id"] for i in rewards)
    admin = api.get("/v1/admin/referrals", key=demo.api_keys.admin, query={"status": "completed"}).json()
    assert [(r["referrer_customer_id"], r["friend_customer_id"], r["order_id"]) for r in admin["items"]] == [
        ("ann", "sam", "o-1")
    ]
    detail = api.get(f"/v1/admin/referrals/{admin['items'][0]['referral_id']}", key=demo.api_keys.admin)
    assert detail.json()["friend_email"] == "f***@x.com"
    orders = api.get("/v1/admin/orders/o-1", key=demo.api_keys.admin).json()
    assert (
        orders["attributions"][0] | {"source": "referral", "referrer_customer_id": "ann"}
        == (orders["attributions"][0])
    )


def test_an_order_naming_the_invited_email_links_and_completes(api: InProcessApi, demo: DemoStore) -> None:
    customer(api, demo, "ann", "ann@example.com")
    invite(api, demo, "ann", phone="+1 (613) 555-0101")
    order(api, demo, "o-9", "new-buyer", phone="+16135550101")  # the customer appears with this order
    assert referral_coins(api, demo, "ann") == [500]
    assert referral_coins(api, demo, "new-buyer") == [250]


# ---- the code flow -------------------------------------------------------------------------------


def test_code_by_new_customer_completes_by_existing_customer_is_rejected(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    customer(api, demo, "bea", "bea@example.com", first_name="Béa")
    code = code_of(api, demo, "bea")
    assert code.startswith("BEA-")
    assert len(code) == 12
    assert code_of(api, demo, "bea") == code  # personal and stable
    customer(api, demo, "old", "old@example.com")
    order(api, demo, "old-1", "old")
    order(api, demo, "old-2", "old", codes=[code.lower()])
    order(api, demo, "new-1", "newbie", codes=[code])
    assert referral_coins(api, demo, "old") == []
    assert referral_coins(api, demo, "bea") == [500]
    assert referral_coins(api, demo, "newbie") == [250]
    items = api.get("/v1/customers/bea/referrals", key=demo.api_keys.read).json()["items"]
    assert sorted((r["status"], r["reason"]) for r in items) == [
        ("completed", None),
        ("rejected", "not_new_customer"),
    ]
    rejected = outbox(table_name, "referral_rejected")
    assert [e["payload"]["reason"] for e in rejected] == ["not_new_customer"]
    attributed = api.get("/v1/admin/orders/new-1", key=demo.api_keys.admin).json()["attributions"]
    assert attributed == [
        {
            "source": "referral",
            "channel": "code",
            "code": code,
            "reward_id": None,
            "discount_amount": None,
            "referrer_customer_id": "bea",
        }
    ]


def test_code_on_an_unpaid_order_completes_when_paid_and_clawback_on_cancel(
    api: InProcessApi, demo: DemoStore
) -> None:
    customer(api, demo, "cat", "cat@example.com")
    code = code_of(api, demo, "cat")
    order(api, demo, "u-1", "fresh", paid=False, codes=[code])
    assert referral_coins(api, demo, "cat") == []
    order(api, demo, "u-1", "fresh", paid=True, codes=[code])
    assert referral_coins(api, demo, "cat") == [500]
    # cat spends 300 of the 500 before the order is cancelled: 200 come back, 300 are the shortfall
    spent = api.post(
        "/v1/customers/cat/redemptions",
        key=demo.api_keys.write,
        json_body={"reward_id": "pay-with-coins", "coins": 300, "cart_total": "1000.00"},
    )
    assert spent.status == 201, spent.body
    assert api.post("/v1/orders/u-1/cancel", key=demo.api_keys.write).status == 200
    assert referral_coins(api, demo, "cat") == [-200, 500]
    assert api.get("/v1/customers/cat/wallet", key=demo.api_keys.read).json()["balance"] == 0
    assert referral_coins(api, demo, "fresh") == [-250, 250]
    referral = api.get("/v1/customers/cat/referrals", key=demo.api_keys.read).json()["items"][0]
    assert referral["status"] == "reversed"
    assert referral["rewards"][0] | {"reversed_coins": 200, "shortfall": 300} == referral["rewards"][0]
    assert api.post("/v1/orders/u-1/cancel", key=demo.api_keys.write).status == 200  # replayed: no change
    assert referral_coins(api, demo, "cat") == [-200, 500]


def test_a_full_refund_before_confirmation_reverses_a_partial_one_does_not(
    api: InProcessApi, demo: DemoStore
) -> None:
    settings(api, demo, friend_reward={"type": "percentage", "value": "10"})
    customer(api, demo, "ola", "ola@example.com")
    invite(api, demo, "ola", email="opal@example.com")
    order(api, demo, "r-1", "opal", email="opal@example.com", amount="80.00")
    coupon = api.get("/v1/customers/opal/coupons", key=demo.api_keys.read).json()["items"][0]
    refund = {"refund_id": "rf-1", "lines": [{"line_id": "1", "quantity": 1, "subtotal": "30.00"}]}
    assert api.post("/v1/orders/r-1/refunds", key=demo.api_keys.write, json_body=refund).status == 200
    assert referral_coins(api, demo, "ola") == [500]
    rest = {"refund_id": "rf-2", "lines": [{"line_id": "1", "quantity": 1, "subtotal": "50.00"}]}
    assert api.post("/v1/orders/r-1/refunds", key=demo.api_keys.write, json_body=rest).status == 200
    assert referral_coins(api, demo, "ola") == [-500, 500]
    cancelled = api.get("/v1/customers/opal/coupons", key=demo.api_keys.read).json()["items"]
    assert [(c["code"], c["status"]) for c in cancelled] == [(coupon["code"], "cancelled")]
    assert api.get("/v1/customers/ola/referrals", key=demo.api_keys.read).json()["items"][0]["status"] == (
        "reversed"
    )


def test_discount_rewards_become_coupons(api: InProcessApi, demo: DemoStore) -> None:
    settings(
        api,
        demo,
        referrer_reward={"type": "percentage", "value": "15", "max_discount": "20.00"},
        friend_reward={"type": "fixed_amount", "value": "10.00", "validity_days": 14},
    )
    customer(api, demo, "dan", "dan@example.com")
    invite(api, demo, "dan", email="dpal@example.com")
    order(api, demo, "d-1", "dpal", email="dpal@example.com")
    mine = api.get("/v1/customers/dan/coupons", key=demo.api_keys.read).json()["items"]
    assert [(c["type"], c["value"], c["max_discount"], c["coins"]) for c in mine] == [
        ("percentage", "15", "20.00", 0)
    ]
    coupons = api.get("/v1/customers/dpal/coupons", key=demo.api_keys.read).json()["items"]
    assert [(c["type"], c["value"], c["coins"], c["status"]) for c in coupons] == [
        ("fixed_amount", "10.00", 0, "issued")
    ]
    # the coupon works like any Pollen coupon on the friend's next order
    order(api, demo, "d-2", "dpal", codes=[coupons[0]["code"]])
    used = api.get("/v1/customers/dpal/coupons", key=demo.api_keys.read).json()["items"]
    assert used[0]["status"] == "used"
    # with a code, the friend's discount was the code itself at checkout: no second coupon
    code = code_of(api, demo, "dan")
    order(api, demo, "d-3", "dcode", codes=[code])
    assert api.get("/v1/customers/dcode/coupons", key=demo.api_keys.read).json()["items"] == []
    referral = api.get("/v1/customers/dan/referrals", key=demo.api_keys.read).json()["items"][0]
    assert [(r["side"], r["coupon_code"]) for r in referral["rewards"]][1] == ("friend", code)


def test_a_friend_reward_issued_on_signup(api: InProcessApi, demo: DemoStore) -> None:
    settings(
        api,
        demo,
        friend_reward={"type": "free_shipping", "issue_on": "signup", "min_order_subtotal": "20.00"},
    )
    customer(api, demo, "nia", "nia@example.com")
    invite(api, demo, "nia", email="npal@example.com")
    customer(api, demo, "npal", "npal@example.com")  # signs up: the coupon for the first order
    coupons = api.get("/v1/customers/npal/coupons", key=demo.api_keys.read).json()["items"]
    assert [(c["type"], c["min_order"]) for c in coupons] == [("free_shipping", "20.00")]
    order(api, demo, "n-1", "npal", codes=[coupons[0]["code"]])
    assert referral_coins(api, demo, "nia") == [500]
    assert len(api.get("/v1/customers/npal/coupons", key=demo.api_keys.read).json()["items"]) == 1
    rewards = api.get("/v1/customers/nia/referrals", key=demo.api_keys.read).json()["items"][0]["rewards"]
    assert sorted(r["side"] for r in rewards) == ["friend", "referrer"]


# ---- fraud guards --------------------------------------------------------------------------------


def test_self_referral_by_tagged_dotted_email_and_phone_is_rejected(
    api: InProcessApi, demo: DemoStore
) -> None:
    customer(api, demo, "eve", "Eve.Smith@gmail.com", phone="+1 613 555 0199")
    for contact in (
        {"email": "evesmith+promo@gmail.com"},
        {"email": "EVE.SMITH+x@googlemail.com"},
        {"phone": "(613) 555-0199"},
    ):
        result = invite(api, demo, "eve", **contact)
        assert (result["status"], result["reason"]) == ("rejected", "self_referral")
    other = invite(api, demo, "eve", email="eve.smith+x@example.com")
    assert (
        other["status"] == "invited"
    )  # dots and tags only collapse where the provider ignores them... tags do
    code = code_of(api, demo, "eve")
    order(api, demo, "e-1", "eve", codes=[code])
    assert referral_coins(api, demo, "eve") == []


def test_existing_customer_and_already_referred_are_rejected(api: InProcessApi, demo: DemoStore) -> None:
    customer(api, demo, "fay", "fay@example.com")
    customer(api, demo, "gus", "gus@example.com")
    customer(api, demo, "known", "known@example.com")
    assert invite(api, demo, "fay", email="known@example.com")["reason"] == "not_new_customer"
    assert invite(api, demo, "fay", email="pal@example.com")["status"] == "invited"
    late = invite(api, demo, "gus", email="Pal@example.com")
    assert (late["status"], late["reason"]) == ("rejected", "already_referred")
    # the first referrer wins the friend's order too, even with the second referrer's code
    code = code_of(api, demo, "gus")
    customer(api, demo, "pal", "pal@example.com")
    order(api, demo, "p-1", "pal", codes=[code])
    assert referral_coins(api, demo, "gus") == []
    reasons = [
        r["reason"] for r in api.get("/v1/customers/gus/referrals", key=demo.api_keys.read).json()["items"]
    ]
    assert reasons == ["already_referred", "already_referred"]


def test_same_address_and_same_device_are_rejected(api: InProcessApi, demo: DemoStore) -> None:
    customer(api, demo, "hal", "hal@example.com")
    code = code_of(api, demo, "hal")
    order(api, demo, "h-own", "hal", shipping_address="1 Main St, Ottawa, K1A 0B1, CA")
    order(api, demo, "h-1", "hal-twin", codes=[code], shipping_address="1 main st. Ottawa K1A 0B1 CA")
    track = api.post(
        "/v1/customers/hal/referral/shares",
        key=demo.api_keys.write,
        json_body={"channel": "whatsapp", "device_id": "dev-123"},
    )
    assert track.status == 204
    order(api, demo, "h-2", "hal-phone", codes=[code], device_id="dev-123")
    reasons = sorted(
        r["reason"] for r in api.get("/v1/customers/hal/referrals", key=demo.api_keys.read).json()["items"]
    )
    assert reasons == ["same_address", "same_device"]
    assert referral_coins(api, demo, "hal") == []
    page = api.get("/v1/customers/hal/referral", key=demo.api_keys.read).json()
    assert page["stats"]["shares"] == {"whatsapp": 1}
    settings(api, demo, fraud={"same_address": False, "same_device": False})
    order(api, demo, "h-3", "hal-twin-2", codes=[code], shipping_address="1 Main St, Ottawa, K1A 0B1, CA")
    assert referral_coins(api, demo, "hal") == [500]


def test_max_rewarded_limit(api: InProcessApi, demo: DemoStore) -> None:
    settings(api, demo, limits={"max_rewarded": {"count": 2, "per": "month"}})
    customer(api, demo, "ida", "ida@example.com")
    code = code_of(api, demo, "ida")
    for n in range(3):
        order(api, demo, f"i-{n}", f"ida-friend-{n}", codes=[code])
    assert referral_coins(api, demo, "ida") == [500, 500]
    statuses = sorted(
        (r["status"], r["reason"])
        for r in api.get("/v1/customers/ida/referrals", key=demo.api_keys.read).json()["items"]
    )
    assert statuses == [("completed", None), ("completed", None), ("rejected", "limit_reached")]


def test_disabled_program_refuses_invites(api: InProcessApi, demo: DemoStore) -> None:
    settings(api, demo, enabled=False)
    customer(api, demo, "jo", "jo@example.com")
    refused = api.post(
        "/v1/customers/jo/referrals", key=demo.api_keys.write, json_body={"email": "x@example.com"}
    )
    assert refused.status == 409
    empty = api.post("/v1/customers/jo/referrals", key=demo.api_keys.write, json_body={})
    assert empty.status == 422
    assert (
        api.post(
            "/v1/customers/nobody/referrals", key=demo.api_keys.read, json_body={"email": "x@y.co"}
        ).status
        == 403
    )


# ---- races ---------------------------------------------------------------------------------------


def test_concurrent_duplicate_completions_credit_once(api: InProcessApi, demo: DemoStore) -> None:
    customer(api, demo, "kim", "kim@example.com")
    code = code_of(api, demo, "kim")
    customer(api, demo, "kfriend", "kfriend@example.com")
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def place(n: int) -> None:
        try:
            barrier.wait()
            order(api, demo, f"k-{n % 3}", "kfriend", codes=[code])  # 3 orders, each delivered twice
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=place, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert referral_coins(api, demo, "kim") == [500]
    assert referral_coins(api, demo, "kfriend") == [250]


# ---- reminders across a moved clock --------------------------------------------------------------


def test_reminders_after_days_up_to_max_exactly_once_each(
    api: InProcessApi, demo: DemoStore, table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    monkeypatch.setattr("functions.referrals.app.utcnow", lambda: start)
    customer(api, demo, "lea", "lea@example.com")
    invite(api, demo, "lea", email="slow@example.com")

    def sent() -> int:
        return len(outbox(table_name, "referral_incomplete"))

    for day, expected in ((2, 0), (3, 1), (3, 1), (5, 1), (6, 2), (6, 2), (30, 2)):
        run_due(start + timedelta(days=day, hours=1))
        assert sent() == expected, day
    payload = outbox(table_name, "referral_incomplete")[0]["payload"]
    assert payload["customer"]["email"] == "slow@example.com"


# ---- budgets -------------------------------------------------------------------------------------


def test_round_trips(api: InProcessApi, demo: DemoStore, calls: CallCounter) -> None:
    customer(api, demo, "max", "max@example.com")
    code = code_of(api, demo, "max")
    calls.reset()
    api.get("/v1/customers/max/referral", key=demo.api_keys.read)
    assert calls.snapshot() == {"BatchGetItem": 1}
    calls.reset()
    invite(api, demo, "max", email="budget@example.com")
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}
    customer(api, demo, "mfriend", "mfriend@example.com")
    calls.reset()
    order(api, demo, "m-1", "mfriend", codes=[code])
    assert sum(calls.snapshot().values()) <= 3, calls.snapshot()
    assert referral_coins(api, demo, "max") == [500]
    calls.reset()
    order(api, demo, "m-2", "someone-else")
    assert calls.snapshot() == {"BatchGetItem": 1, "TransactWriteItems": 1}
    calls.reset()
    api.get("/v1/customers/max/referrals", key=demo.api_keys.read)
    assert calls.snapshot() == {"Query": 1}
