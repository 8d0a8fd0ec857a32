"""The customer and order aggregates' own rules, without a table: when a wallet is next due, an order's
status, and what an order waits for (storage lists it in GSI1 under that)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from pollen.domain.customers import due_day
from pollen.domain.orders import (
    OrderData,
    OrderFacts,
    OrderRecord,
    Refund,
    RefundLine,
    confirmation_due,
    guest_email,
    order_status,
)
from pollen.domain.wallet import NEVER, Wallet
from pollen.storage.keys import due_index, guest_orders_gsi1pk, order_key
from pollen.storage.orders import order_item

FIRST = date(2026, 1, 1)
CONFIRM_ON = date(2026, 1, 15)
DATA = OrderData(order_id="o1", email="guest@example.com", currency="EUR", total=Decimal("20"))
REFUND = Refund(refund_id="r1", lines=[RefundLine(line_id="l1", quantity=1, subtotal=Decimal("5"))])


def _day(n: int) -> str:
    return (FIRST + timedelta(days=n)).isoformat()


# ---- due_day: the next day the scheduled job must look at a wallet ------------------------------


def test_a_wallet_without_dated_lots_is_never_due() -> None:
    assert due_day(Wallet(customer_id="c1"), 14) is None
    assert due_day(Wallet(customer_id="c1", balance=5, lots={NEVER: 5}), 14) is None


def test_a_lot_is_due_its_reminder_first_then_its_expiry() -> None:
    w = Wallet(customer_id="c1", balance=5, lots={_day(30): 5})
    assert due_day(w, 14) == FIRST + timedelta(days=30 - 14)
    reminded = w.model_copy(update={"reminded": [_day(30)]})
    assert due_day(reminded, 14) == FIRST + timedelta(days=30)


def test_without_reminders_only_expiries_are_due() -> None:
    w = Wallet(customer_id="c1", balance=8, lots={_day(30): 5, _day(10): 3})
    assert due_day(w, 0) == FIRST + timedelta(days=10)


def test_the_soonest_of_every_lots_reminder_and_expiry_is_due() -> None:
    # the later lot's reminder (day 40 - 35 = 5) comes before the sooner lot's expiry (day 10)
    w = Wallet(customer_id="c1", balance=8, lots={_day(10): 3, _day(40): 5}, reminded=[_day(10)])
    assert due_day(w, 35) == FIRST + timedelta(days=5)


def test_due_day_sees_every_lot() -> None:
    days = [_day(n) for n in range(101)]
    w = Wallet(customer_id="c1", balance=101, lots=dict.fromkeys(days, 1), reminded=days[:100])
    assert due_day(w, 120) == FIRST + timedelta(days=100 - 120)  # the 101st lot's reminder


# ---- order_status: what the APIs show -----------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "applied", "status"),
    [
        (OrderFacts(), 0, "unknown"),
        (OrderFacts(data=DATA), 0, "open"),
        (OrderFacts(data=DATA, paid=True), 20, "paid"),
        (OrderFacts(data=DATA, paid=True, confirmed=True), 20, "confirmed"),
        (OrderFacts(data=DATA, paid=True, refunds={"r1": REFUND}), 15, "partially_refunded"),
        (OrderFacts(data=DATA, paid=True, refunds={"r1": REFUND}), 0, "refunded"),
        (
            OrderFacts(data=DATA, paid=True, confirmed=True, cancelled=True, refunds={"r1": REFUND}),
            0,
            "cancelled",
        ),
        (OrderFacts(paid=True), 0, "paid"),  # paid before its data arrived
    ],
)
def test_order_status(facts: OrderFacts, applied: int, status: str) -> None:
    assert order_status(OrderRecord(order_id="o1", facts=facts, applied_pending=applied)) == status


def test_coins_credited_or_pending_both_count_against_a_full_refund() -> None:
    facts = OrderFacts(data=DATA, paid=True, confirmed=True, refunds={"r1": REFUND})
    assert order_status(OrderRecord(order_id="o1", facts=facts, applied_credited=3)) == "partially_refunded"


# ---- what an order waits for --------------------------------------------------------------------


def test_a_guest_order_waits_under_its_email() -> None:
    guest = OrderRecord(order_id="o1", facts=OrderFacts(data=DATA))
    assert guest_email(guest) == "guest@example.com"
    assert confirmation_due(guest) is None


def test_a_guest_order_without_an_email_waits_for_nothing() -> None:
    for data in (None, DATA.model_copy(update={"email": None}), DATA.model_copy(update={"email": ""})):
        record = OrderRecord(order_id="o1", facts=OrderFacts(data=data))
        assert (guest_email(record), confirmation_due(record)) == (None, None)


def test_a_guest_order_does_not_wait_for_confirmation_even_when_paid() -> None:
    paid = OrderRecord(order_id="o1", facts=OrderFacts(data=DATA, paid=True), confirm_on=CONFIRM_ON)
    assert (guest_email(paid), confirmation_due(paid)) == ("guest@example.com", None)


def test_a_customers_paid_order_waits_for_its_confirmation_day() -> None:
    paid = OrderRecord(
        order_id="o1", customer_id="c1", facts=OrderFacts(data=DATA, paid=True), confirm_on=CONFIRM_ON
    )
    assert (guest_email(paid), confirmation_due(paid)) == (None, CONFIRM_ON)


@pytest.mark.parametrize(
    ("facts", "confirm_on"),
    [
        (OrderFacts(data=DATA), None),  # not paid: no confirmation day yet
        (OrderFacts(data=DATA, paid=True, confirmed=True), CONFIRM_ON),
        (OrderFacts(data=DATA, paid=True, cancelled=True), CONFIRM_ON),
    ],
)
def test_a_customers_order_stops_waiting_once_settled(facts: OrderFacts, confirm_on: date | None) -> None:
    record = OrderRecord(order_id="o1", customer_id="c1", facts=facts, confirm_on=confirm_on)
    assert (guest_email(record), confirmation_due(record)) == (None, None)


def test_storage_lists_the_order_under_what_it_waits_for() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    pk = order_key("m1", "o1").pk
    guest = OrderRecord(order_id="o1", facts=OrderFacts(data=DATA), updated_at=now)
    item = order_item("m1", guest)
    assert (item["GSI1PK"], item["GSI1SK"]) == (guest_orders_gsi1pk("m1", "guest@example.com"), pk)

    paid = guest.model_copy(
        update={"customer_id": "c1", "facts": OrderFacts(data=DATA, paid=True), "confirm_on": CONFIRM_ON}
    )
    item = order_item("m1", paid)
    assert {k: item[k] for k in ("GSI1PK", "GSI1SK")} == due_index(pk, "2026-01-15")

    settled = paid.model_copy(update={"facts": OrderFacts(data=DATA, paid=True, confirmed=True)})
    assert "GSI1PK" not in order_item("m1", settled)
