"""The hourly due-items job on moto: lots expire on their date, reminders go out once, pending
orders are confirmed on their day, and nothing that is not due is read or written."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.apigw import FakeLambdaContext
from infra.seed import DEMO_PROGRAM, DemoStore
from pollen.domain.orders import OrderData, OrderFacts, OrderLine
from pollen.domain.program import ProgramSettings
from pollen.domain.wallet import Wallet
from pollen.services import expiry
from pollen.services.container import container, reset_container
from pollen.services.expiry import run_due, settle_customer
from pollen.services.orders import record_order_fact
from pollen.services.program import update_program
from pollen.storage.client import CallCounter
from pollen.storage.customers import parse_customer_item
from pollen.storage.keys import DUE_SHARDS, customer_key, customer_pk, indexed_due_day, order_key
from pollen.storage.pagination import Page
from pollen.storage.table import Table
from tests.support.events import load_event
from tests.support.ledger import assert_ledgers_balance

M = "demo-store"
T0 = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
LOT = (T0 + timedelta(days=365)).date()  # coins credited at T0 expire on this day
ONLY_INDEX_QUERIES = {"Query": 2 * DUE_SHARDS}  # the due shards of GSI1 (orders...) and GSI2 (wallets)
NOTHING = "expired 0 coins in 0 wallets, 0 reminders, 0 orders confirmed"
ROOT = Path(__file__).resolve().parents[2]


def at(day: date, hour: int = 0, minute: int = 5) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def pay(order_id: str, customer_id: str, coins: int, when: datetime) -> None:
    """A paid order worth ``coins`` (1 coin per USD in the demo program)."""
    data = OrderData(
        order_id=order_id,
        customer_id=customer_id,
        currency="USD",
        lines=[OrderLine(line_id="L", quantity=1, unit_price=Decimal(coins))],
    )
    record_order_fact(container(), M, order_id, OrderFacts(data=data, paid=True), now=when)


def item(customer_id: str = "c1") -> dict[str, Any]:
    found = container().table.get(customer_key(M, customer_id), consistent=True)
    assert found is not None
    return found


def wallet(customer_id: str = "c1") -> Wallet:
    return parse_customer_item(item(customer_id)).wallet


def due_on(raw: dict[str, Any]) -> date | None:
    """The day the item is listed under in the due index (None: not listed)."""
    day = indexed_due_day(raw)  # GSI2 for a wallet, GSI1 for an order
    return date.fromisoformat(day) if day else None


def events(customer_id: str, event_type: str) -> list[dict[str, Any]]:
    items = container().table.query_all(customer_pk(M, customer_id), sk_prefix="EVT#", consistent=True)
    return [i for i in items if i["entity"] == "outbox" and i["event_type"] == event_type]


def ledger(customer_id: str = "c1") -> list[dict[str, Any]]:
    return container().table.query_all(customer_pk(M, customer_id), sk_prefix="TXN#", consistent=True)


def set_program(**changes: Any) -> None:
    """The demo program with ``earning`` / ``expiry`` fields changed."""
    settings: ProgramSettings = DEMO_PROGRAM.model_copy(
        update={
            part: getattr(DEMO_PROGRAM, part).model_copy(update=fields) for part, fields in changes.items()
        }
    )
    update_program(container(), M, settings, now=T0)


def test_the_scheduled_jobs_function_registers_the_job_by_importing_it() -> None:
    probe = (
        "import functions.scheduled_jobs.app\n"
        "from pollen.services.jobs import Cadence, jobs_for\n"
        "print(sorted(jobs_for(Cadence.HOURLY)))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "pollen")])}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, check=True)
    assert "'expiry'" in out.stdout.decode()


def test_the_hourly_schedule_runs_the_job(demo: DemoStore) -> None:
    module = importlib.import_module("functions.scheduled_jobs.app")
    result = module.lambda_handler(load_event("scheduled_jobs_hourly"), FakeLambdaContext("scheduled_jobs"))
    assert {"job": "expiry", "processed": 0, "detail": NOTHING} in result["results"]


def test_a_wallet_still_listed_on_gsi1_is_expired(demo: DemoStore, table_name: str) -> None:
    """Wallets written before the due index moved to GSI2 carry GSI1 keys until their next write: the
    job still finds them there, and that write lists the wallet on GSI2 only."""
    pay("1", "c1", 100, T0)
    raw = item()
    legacy = {k: v for k, v in raw.items() if not k.startswith("GSI2")}
    legacy.update(GSI1PK=raw["GSI2PK"], GSI1SK=raw["GSI2SK"])
    boto3.resource("dynamodb").Table(table_name).put_item(Item=legacy)

    result = run_due(at(LOT))
    assert result.detail == "expired 100 coins in 1 wallet, 0 reminders, 0 orders confirmed"
    assert wallet().balance == 0
    assert not any(k.startswith("GSI1") for k in item())
    assert assert_ledgers_balance(table_name) == 1


def test_lots_expire_on_their_date_soonest_first(demo: DemoStore, table_name: str) -> None:
    pay("1", "c1", 100, T0)
    pay("2", "c1", 50, T0 + timedelta(days=10))
    later = LOT + timedelta(days=10)

    before = run_due(at(LOT - timedelta(days=1), 23, 59))
    assert wallet().balance == 150  # still spendable the whole day before
    assert before.detail == "expired 0 coins in 0 wallets, 2 reminders, 0 orders confirmed"

    result = run_due(at(LOT))
    w = wallet()
    assert (w.balance, w.lifetime_expired, w.lots) == (50, 100, {later.isoformat(): 50})
    assert result.detail == "expired 100 coins in 1 wallet, 0 reminders, 0 orders confirmed"
    assert result.processed == 1
    assert due_on(item()) == later  # its reminder went out already

    run_due(at(later))
    w = wallet()
    assert (w.balance, w.lifetime_expired, w.lots, w.reminded) == (0, 150, {}, [])
    assert due_on(item()) is None
    expiries = [e for e in ledger() if e["type"] == "expire"]
    assert [(e["coins"], e["balance_after"], e["reference"]) for e in expiries] == [
        (100, 50, LOT.isoformat()),
        (50, 0, later.isoformat()),
    ]
    assert assert_ledgers_balance(table_name) == 1


def test_a_reversal_takes_the_soonest_lot_so_expiry_finds_what_is_left(
    demo: DemoStore, table_name: str
) -> None:
    pay("1", "c1", 100, T0)
    pay("2", "c1", 100, T0 + timedelta(days=1))
    record_order_fact(container(), M, "1", OrderFacts(cancelled=True), now=T0 + timedelta(days=2))
    assert wallet().lots == {(LOT + timedelta(days=1)).isoformat(): 100}  # the reversal took the soonest
    run_due(at(LOT))
    assert (wallet().balance, wallet().lifetime_expired) == (100, 0)
    run_due(at(LOT + timedelta(days=1)))
    assert (wallet().balance, wallet().lifetime_expired) == (0, 100)
    assert assert_ledgers_balance(table_name) == 1


def test_reminder_goes_out_once_fourteen_days_before(
    demo: DemoStore, table_name: str, calls: CallCounter
) -> None:
    pay("1", "c1", 200, T0)
    reminder_day = LOT - timedelta(days=14)
    assert due_on(item()) == reminder_day

    run_due(at(reminder_day - timedelta(days=1), 23, 59))
    assert events("c1", "coins_expiring") == []
    version = wallet().version

    result = run_due(at(reminder_day))
    assert result.detail == "expired 0 coins in 0 wallets, 1 reminder, 0 orders confirmed"
    [event] = events("c1", "coins_expiring")
    assert event["customer_id"] == "c1"
    assert event["payload"] == {
        "coins": 200,
        "expires_on": LOT.isoformat(),
        "days_left": 14,
        "balance": 200,
        "customer": {
            "customer_id": "c1",
            "email": None,
            "phone": None,
            "first_name": None,
            "last_name": None,
        },
    }
    assert (wallet().reminded, wallet().version) == ([LOT.isoformat()], version + 1)
    assert due_on(item()) == LOT

    calls.reset()
    run_due(at(reminder_day, 18))
    assert calls.snapshot() == ONLY_INDEX_QUERIES  # handled today: not even read again
    assert len(events("c1", "coins_expiring")) == 1

    run_due(at(LOT))
    assert len(events("c1", "coins_expiring")) == 1
    assert (wallet().balance, wallet().reminded) == (0, [])
    assert assert_ledgers_balance(table_name) == 1


def test_nothing_due_costs_only_the_index_queries(
    demo: DemoStore, table_name: str, calls: CallCounter
) -> None:
    for n in range(12):  # wallets across the shards, none due yet
        pay(f"o{n}", f"c{n}", 10 + n, T0)
    versions = {n: wallet(f"c{n}").version for n in range(12)}
    calls.reset()
    result = run_due(at(LOT - timedelta(days=15)))
    assert calls.snapshot() == ONLY_INDEX_QUERIES
    assert result.processed == 0
    assert {n: wallet(f"c{n}").version for n in range(12)} == versions
    assert assert_ledgers_balance(table_name) == 12


def test_a_due_wallet_costs_one_read_and_one_write(
    demo: DemoStore, table_name: str, calls: CallCounter
) -> None:
    for n in range(3):
        pay(f"o{n}", f"c{n}", 100, T0)
    calls.reset()
    result = run_due(at(LOT))
    assert calls.snapshot() == {"Query": 2 * DUE_SHARDS, "GetItem": 3, "TransactWriteItems": 3}
    assert result.detail == "expired 300 coins in 3 wallets, 0 reminders, 0 orders confirmed"
    assert assert_ledgers_balance(table_name) == 3


def test_every_page_of_every_shard_is_walked(
    demo: DemoStore, table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(12):
        pay(f"o{n}", f"c{n}", 10, T0)
    query = Table.query

    def one_per_page(self: Table, pk: str, **kwargs: Any) -> Page[dict[str, Any]]:
        return query(self, pk, **{**kwargs, "limit": 1})  # items change (leave today) as pages go by

    monkeypatch.setattr(Table, "query", one_per_page)
    assert run_due(at(LOT)).processed == 12
    assert [wallet(f"c{n}").balance for n in range(12)] == [0] * 12
    assert assert_ledgers_balance(table_name) == 12


def test_a_stale_index_entry_is_read_again_and_not_written(
    demo: DemoStore, table_name: str, calls: CallCounter
) -> None:
    pay("1", "c1", 100, T0)
    run_due(at(LOT))
    version = wallet().version
    calls.reset()  # the eventually consistent index may still list the wallet under today
    assert settle_customer(container(), M, "c1", at(LOT, 6)) == (0, 0)
    assert calls.snapshot() == {"GetItem": 1}
    assert wallet().version == version
    assert assert_ledgers_balance(table_name) == 1


def test_missed_days_are_caught_up(demo: DemoStore, table_name: str) -> None:
    pay("1", "c1", 100, T0)
    pay("2", "c1", 40, T0 + timedelta(days=10))
    result = run_due(at(LOT + timedelta(days=3)))  # the job was down since before both reminders
    assert result.detail == "expired 100 coins in 1 wallet, 1 reminder, 0 orders confirmed"
    [event] = events("c1", "coins_expiring")  # only the lot still to come is announced
    assert event["payload"]["expires_on"] == (LOT + timedelta(days=10)).isoformat()
    assert event["payload"]["days_left"] == 7
    assert event["payload"]["balance"] == 40
    assert due_on(item()) == LOT + timedelta(days=10)
    assert assert_ledgers_balance(table_name) == 1


def test_reminders_past_one_transaction_are_split(
    demo: DemoStore, table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expiry, "REMINDERS_PER_WRITE", 2)
    for n in range(5):
        pay(f"o{n}", "c1", 10, T0 + timedelta(days=n))
    assert settle_customer(container(), M, "c1", at(LOT)) == (10, 4)
    assert len(events("c1", "coins_expiring")) == 4
    assert due_on(item()) == LOT + timedelta(days=1)
    assert assert_ledgers_balance(table_name) == 1


def test_a_shorter_reminder_setting_moves_the_index_entry(
    demo: DemoStore, table_name: str, calls: CallCounter
) -> None:
    pay("1", "c1", 100, T0)  # indexed for its reminder, 14 days before the lot
    set_program(expiry={"reminder_days_before": 0})
    version = wallet().version
    run_due(at(LOT - timedelta(days=14)))
    assert events("c1", "coins_expiring") == []
    assert (due_on(item()), wallet().version) == (LOT, version + 1)
    calls.reset()
    run_due(at(LOT - timedelta(days=14), 6))
    assert calls.snapshot() == ONLY_INDEX_QUERIES
    assert assert_ledgers_balance(table_name) == 1


def test_pending_order_is_confirmed_by_the_job_on_its_day(
    demo: DemoStore, table_name: str, calls: CallCounter
) -> None:
    set_program(earning={"pending_days": 14})
    pay("1", "c1", 200, T0)
    confirm_day = T0.date() + timedelta(days=14)
    assert (wallet().balance, wallet().pending) == (0, 200)
    order = container().table.get(order_key(M, "1"), consistent=True)
    assert order is not None
    assert due_on(order) == confirm_day

    run_due(at(confirm_day - timedelta(days=1), 23, 59))
    assert (wallet().balance, wallet().pending) == (0, 200)

    reset_container()  # a cold job container: the program is read once, the order's customer is not
    calls.reset()
    result = run_due(at(confirm_day))
    assert calls.snapshot() == {"Query": 2 * DUE_SHARDS + 1, "BatchGetItem": 1, "TransactWriteItems": 1}
    assert result.detail == "expired 0 coins in 0 wallets, 0 reminders, 1 order confirmed"
    assert (wallet().balance, wallet().pending) == (200, 0)
    order = container().table.get(order_key(M, "1"), consistent=True)
    assert order is not None
    assert order["facts"]["confirmed"] is True
    assert due_on(order) is None
    assert due_on(item()) == confirm_day + timedelta(days=365 - 14)  # the new lot's reminder

    calls.reset()
    assert run_due(at(confirm_day, 6)).processed == 0
    assert calls.snapshot() == ONLY_INDEX_QUERIES
    assert assert_ledgers_balance(table_name) == 1


def test_a_cancelled_order_leaves_the_index(demo: DemoStore, table_name: str) -> None:
    set_program(earning={"pending_days": 14})
    pay("1", "c1", 200, T0)
    record_order_fact(container(), M, "1", OrderFacts(cancelled=True), now=T0 + timedelta(days=1))
    order = container().table.get(order_key(M, "1"), consistent=True)
    assert order is not None
    assert due_on(order) is None
    result = run_due(at(T0.date() + timedelta(days=14)))
    assert result.processed == 0
    assert (wallet().balance, wallet().pending) == (0, 0)
    assert assert_ledgers_balance(table_name) == 1


def test_one_failing_item_does_not_stop_the_others(
    demo: DemoStore, table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        pay(f"o{n}", f"c{n}", 100, T0)
    real = expiry.settle_customer

    def flaky(c: Any, merchant_id: str, customer_id: str, now: datetime) -> tuple[int, int]:
        if customer_id == "c2":
            raise RuntimeError("boom")
        return real(c, merchant_id, customer_id, now)

    monkeypatch.setattr(expiry, "settle_customer", flaky)
    with pytest.raises(ExceptionGroup) as failed:
        run_due(at(LOT))
    assert [str(e) for e in failed.value.exceptions] == ["boom"]
    assert [wallet(f"c{n}").balance for n in range(4)] == [0, 0, 100, 0]

    monkeypatch.setattr(expiry, "settle_customer", real)
    assert run_due(at(LOT, 1)).processed == 1  # the next run picks the failed wallet up
    assert wallet("c2").balance == 0
    assert assert_ledgers_balance(table_name) == 4
