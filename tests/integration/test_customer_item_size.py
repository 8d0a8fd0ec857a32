"""Item size flat in history (issue 12): a year of daily credits and 100 redemptions leave the customer
item at most 2 KB, and a balance read still costs 1 RRU (storage/lots.py packs the expiry lots)."""

from __future__ import annotations

from datetime import timedelta

import boto3

from infra.inprocess import InProcessApi
from infra.seed import DemoStore
from pollen.clock import utcnow
from pollen.domain.customers import CustomerData
from pollen.services.adjustments import adjust
from pollen.services.container import container
from pollen.services.customers import upsert_customer
from pollen.services.redemption import RedeemRequest, redeem
from pollen.storage.capacity import capacity_meter, item_size
from pollen.storage.client import uncounted_dynamodb
from pollen.storage.codec import deserialize
from pollen.storage.customers import parse_customer_item
from pollen.storage.keys import customer_key

CUSTOMER = "c-year"


def test_a_year_of_daily_credits_and_100_redemptions_keep_the_item_small(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    c, m = container(), demo.merchant_id
    start = utcnow()
    upsert_customer(c, m, CustomerData(customer_id=CUSTOMER), now=start, source="api")
    redeemed = 0
    for day in range(365):
        now = start + timedelta(days=day, hours=1)
        adjust(c, m, CUSTOMER, 40, "daily", now=now, idempotency=None)  # one lot per day (365-day expiry)
        if day % 3 == 2 and redeemed < 100:  # 100 redemptions of 100 coins, taken FIFO
            request = RedeemRequest(reward_id="five-off", coins=None, cart_total=None, channel="app")
            redeem(c, m, CUSTOMER, request, now=now + timedelta(minutes=5))
            redeemed += 1
    assert redeemed == 100

    key = customer_key(m, CUSTOMER)
    raw = boto3.client("dynamodb").get_item(
        TableName=table_name, Key={"PK": {"S": key.pk}, "SK": {"S": key.sk}}
    )
    item = raw["Item"]
    assert item_size(item) <= 2048, item_size(item)

    api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read)  # a warm container: key cached
    capacity_meter.enable(uncounted_dynamodb)
    try:
        capacity_meter.reset()
        wallet = api.get(f"/v1/customers/{CUSTOMER}/wallet", key=demo.api_keys.read)
        assert capacity_meter.usage.rru <= 1
        assert [op for op, _ in capacity_meter.usage.read] == ["GetItem"]
    finally:
        capacity_meter.disable()
    assert wallet.json()["balance"] == 365 * 40 - 100 * 100
    # FIFO to the day: the redemptions took the oldest 250 days' lots; every later day keeps its own lot
    record = parse_customer_item(deserialize(item))
    lots = record.wallet.expiring(limit=400)
    assert len(lots) == 115
    first = lots[0][0]
    assert lots == [(first + timedelta(days=n), 40) for n in range(115)]  # day-exact, oldest gone
