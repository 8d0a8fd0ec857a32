"""The analytics issue's acceptance over HTTP against `make dev`'s stack: the stream poller feeds the
aggregator and the admin summary shows the demo day (replays are proven in-process:
tests/integration/test_analytics.py)."""

from __future__ import annotations

import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import boto3
import httpx
import pytest

from pollen.clock import utcnow
from pollen.events.envelope import OutboxEvent
from pollen.storage.codec import deserialize, serialize
from tests.e2e.conftest import LocalStack
from tests.e2e.test_wallet_over_http import _order, _post

pytestmark = pytest.mark.e2e


def _summary(http: httpx.Client, stack: LocalStack) -> dict[str, Any]:
    response = http.get(
        "/v1/admin/analytics/summary", params={"range": "today"}, headers={"x-api-key": stack.key("admin")}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _values(body: dict[str, Any]) -> dict[str, Any]:
    values = {m["name"]: m["current"] for m in body["metrics"]}
    for row in body["breakdowns"]["attributed_revenue_by_source"]:
        values[f"source:{row['key']}"] = row["current"]
    return values


def _ddb(stack: LocalStack) -> tuple[Any, str]:
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (table,) = [t for t in ddb.list_tables()["TableNames"] if "PollenTable" in t]
    return ddb, table


def _balances(stack: LocalStack) -> int:
    ddb, table = _ddb(stack)
    total = 0
    kwargs: dict[str, Any] = {}
    while True:
        page = ddb.scan(TableName=table, **kwargs)
        for raw in page["Items"]:
            item = deserialize(raw)
            if item.get("entity") == "customer" and str(item["PK"]).startswith("M#demo-store#"):
                total += int(item["wallet"]["balance"])
        if "LastEvaluatedKey" not in page:
            return total
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def _today_order(customer: int, order_id: int) -> dict[str, Any]:
    order = _order(customer, order_id)
    order["created_at"] = utcnow().isoformat()  # orders count on the day they were placed
    return order


def _wait_for(http: httpx.Client, stack: LocalStack, check: Any, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        body = _summary(http, stack)
        if check(_values(body)) or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_demo_day_reaches_the_summary_through_the_stream(http: httpx.Client, stack: LocalStack) -> None:
    before = _values(_wait_for(http, stack, lambda v: True))
    customer = 500_000 + uuid.uuid4().int % 100_000
    plain_id, email_id = 400_000 + uuid.uuid4().int % 50_000, 450_000 + uuid.uuid4().int % 50_000
    write = {"x-api-key": stack.key("write")}
    # a paid order credits coins; the customer redeems them in a coupon from an email
    assert _post(http, stack, "orders/paid", _today_order(customer, plain_id)).status_code == 200
    redeemed = http.post(
        f"/v1/customers/{customer}/redemptions",
        headers=write,
        json={"reward_id": "five-off", "channel": "email"},
    )
    assert redeemed.status_code == 201, redeemed.text
    code = redeemed.json()["coupon"]["code"]
    with_coupon = _today_order(customer, email_id)
    with_coupon["discount_codes"] = [{"code": code, "amount": "5.00", "type": "fixed_amount"}]
    assert _post(http, stack, "orders/create", with_coupon).status_code == 200
    # a referral order, as the referrals work emits it (attributed in the order's own transaction)
    ddb, table = _ddb(stack)
    ddb.put_item(
        TableName=table,
        Item=serialize(
            OutboxEvent(
                event_type="order_updated",
                merchant_id="demo-store",
                customer_id=f"r-{customer}",
                occurred_at=utcnow(),
                payload={
                    "order_id": f"ref-{customer}",
                    "status": "paid",
                    "currency": "USD",
                    "total": "30.00",
                    "attributions": [
                        {"source": "referral", "code": "REF", "referrer_customer_id": str(customer)}
                    ],
                },
            ).to_item()
        ),
    )
    tracked = http.post(
        "/v1/events/track",
        headers={"x-api-key": stack.key("read")},
        json={"events": [{"id": str(uuid.uuid4()), "type": "widget_opened"}]},
    )
    assert (tracked.status_code, tracked.json()["accepted"]) == (202, 1)

    body = _wait_for(
        http,
        stack,
        lambda v: (
            v["orders"] >= before["orders"] + 3
            and v["widget_opens"] >= before["widget_opens"] + 1
            and v["coupons_used"] >= before["coupons_used"] + 1
        ),
    )
    after = _values(body)
    assert after["orders"] - before["orders"] == 3
    assert after["attributed_orders"] - before["attributed_orders"] == 2
    revenue = Decimal(after["revenue"]) - Decimal(before["revenue"])
    email = Decimal(after["source:email"]) - Decimal(before["source:email"])
    referral = Decimal(after["source:referral"]) - Decimal(before["source:referral"])
    assert referral == Decimal("30.00")
    assert email > 0
    assert Decimal(after["attributed_revenue"]) - Decimal(before["attributed_revenue"]) == email + referral
    assert revenue > email + referral  # the plain order
    assert after["coupons_redeemed"] - before["coupons_redeemed"] == 1
    assert after["coupons_used"] - before["coupons_used"] == 1
    assert after["widget_opens"] - before["widget_opens"] == 1
    assert after["coins_credited"] - before["coins_credited"] >= 234
    assert after["coins_redeemed"] - before["coins_redeemed"] == 100
    assert after["attributed_aov"] == str(
        (Decimal(after["attributed_revenue"]) / after["attributed_orders"]).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    )
    time.sleep(2)  # anything still in flight from other tests' writes settles
    settled = _summary(http, stack)
    balances = _balances(stack)
    liability = _values(settled)["liability_coins"]
    assert liability == balances
    assert Decimal(_values(settled)["liability_value"]) == balances * Decimal(settled["coin_value"])
