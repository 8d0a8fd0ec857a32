from __future__ import annotations

import itertools
from decimal import Decimal
from functools import reduce

import pytest

from pollen.domain.orders import (
    OrderData,
    OrderFacts,
    OrderLine,
    Refund,
    RefundLine,
    Target,
    eligible_amount,
    refunded_amount,
    target,
)
from pollen.domain.program import EarningBasis, EarningRule

D = Decimal


def _rule(
    basis: EarningBasis = EarningBasis.SUBTOTAL_AFTER_DISCOUNTS,
    *,
    coins_per_unit: str = "1",
    unit_amount: str = "1",
) -> EarningRule:
    return EarningRule(
        coins_per_unit=D(coins_per_unit),
        unit_amount=D(unit_amount),
        basis=basis,
        excluded_product_ids=["p-excluded"],
        excluded_tags=["Sale", " clearance "],
    )


def _line(line_id: str, price: str, *, qty: int = 1, discount: str = "0", **kwargs: object) -> OrderLine:
    return OrderLine.model_validate(
        {"line_id": line_id, "quantity": qty, "unit_price": price, "discount": discount, **kwargs}
    )


# Eligible: "a" only (gross 100.00, net 90.00). Everything else earns nothing.
LINES = [
    _line("a", "50.00", qty=2, discount="10.00", product_id="p-1", tags=["new"]),
    _line("gift", "25.00", product_id="p-gift", gift_card=True),
    _line("excl", "40.00", product_id="p-excluded"),
    _line("sale", "30.00", discount="5.00", product_id="p-2", tags=["SALE"]),
    _line("clear", "12.00", product_id="p-3", tags=["  Clearance"]),
]


def _data(total: str | None = "200.00", lines: list[OrderLine] = LINES, **kwargs: object) -> OrderData:
    return OrderData.model_validate(
        {"order_id": "o-1", "currency": "USD", "lines": lines, "total": total, **kwargs}
    )


def _refund(refund_id: str, *lines: tuple[str, str]) -> Refund:
    return Refund(
        refund_id=refund_id,
        lines=[RefundLine(line_id=lid, quantity=1, subtotal=D(amount)) for lid, amount in lines],
    )


# ---- eligible amount --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "total", "expected"),
    [
        # merchandise after discounts; the order total (shipping, tax) plays no part
        (EarningBasis.SUBTOTAL_AFTER_DISCOUNTS, "200.00", "90.00"),
        (EarningBasis.SUBTOTAL_AFTER_DISCOUNTS, "5000.00", "90.00"),
        # merchandise before discounts
        (EarningBasis.SUBTOTAL, "200.00", "100.00"),
        # everything paid, minus what the ineligible lines cost after their discounts (25+40+25+12)
        (EarningBasis.TOTAL, "200.00", "98.00"),
        (EarningBasis.TOTAL, "50.00", "0"),  # never negative
        # without a total, TOTAL falls back to merchandise after discounts
        (EarningBasis.TOTAL, None, "90.00"),
    ],
)
def test_eligible_amount_per_basis(basis: EarningBasis, total: str | None, expected: str) -> None:
    assert eligible_amount(_data(total), _rule(basis)) == D(expected)


def test_tag_exclusions_are_case_and_whitespace_insensitive() -> None:
    rule = _rule()
    assert rule.excludes("p-9", ["SALE"])
    assert rule.excludes("p-9", ["clearance"])
    assert rule.excludes("p-9", [" sale  "])
    assert not rule.excludes("p-9", ["sales", "on sale"])
    assert not rule.excludes("P-EXCLUDED", [])  # product ids are exact


def test_a_line_never_nets_below_zero() -> None:
    line = _line("x", "10.00", qty=2, discount="25.00")
    assert line.gross == D("20.00")
    assert line.net == 0
    assert eligible_amount(_data(None, [line, LINES[0]]), _rule()) == D("90.00")


def test_an_order_without_eligible_lines_earns_nothing() -> None:
    data = _data("77.00", LINES[1:])
    for basis in EarningBasis:
        assert eligible_amount(data, _rule(basis)) == 0
    facts = OrderFacts(data=data, paid=True, confirmed=True)
    assert target(facts, _rule()) == Target(earned=0, credited=0, pending=0)


# ---- coins --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "coins_per_unit", "unit_amount", "coins"),
    [
        ("199.99", "1", "100", 1),
        ("200.00", "1", "100", 2),
        ("99.99", "1", "100", 0),
        ("10.99", "1", "1", 10),
        ("33.33", "3", "10", 9),
    ],
)
def test_coins_are_rounded_down(price: str, coins_per_unit: str, unit_amount: str, coins: int) -> None:
    facts = OrderFacts(data=_data(None, [_line("a", price)]), paid=True, confirmed=True)
    rule = _rule(coins_per_unit=coins_per_unit, unit_amount=unit_amount)
    assert target(facts, rule) == Target(earned=coins, credited=coins, pending=0)


# ---- refunds ------------------------------------------------------------------------------


def test_refunds_reduce_earned_by_refunded_merchandise_of_eligible_lines_only() -> None:
    rule = _rule()
    refunds = {
        "r1": _refund("r1", ("a", "30.00"), ("gift", "25.00")),
        "r2": _refund("r2", ("excl", "40.00"), ("sale", "25.00"), ("unknown", "99.00")),
        "r3": _refund("r3", ("a", "15.50")),
    }
    facts = OrderFacts(data=_data(), paid=True, confirmed=True, refunds=refunds)
    assert refunded_amount(facts, rule) == D("45.50")
    assert target(facts, rule) == Target(earned=44, credited=44, pending=0)  # floor(90 - 45.50)


def test_refunding_more_than_was_eligible_earns_zero_not_negative() -> None:
    facts = OrderFacts(data=_data(), paid=True, refunds={"r": _refund("r", ("a", "90.00"), ("a", "90.00"))})
    assert target(facts, _rule()) == Target(earned=0, credited=0, pending=0)


def test_refunds_before_the_order_data_count_once_it_arrives() -> None:
    early = OrderFacts(refunds={"r": _refund("r", ("a", "40.00"))})
    assert refunded_amount(early, _rule()) == 0
    assert target(early, _rule()) == Target(earned=0, credited=0, pending=0)
    late = early.merge(OrderFacts(data=_data(), paid=True, confirmed=True))
    assert target(late, _rule()).earned == 50


def test_a_fully_refunded_order_earns_nothing_under_basis_subtotal() -> None:
    facts = OrderFacts(data=_data(), paid=True, confirmed=True, refunds={"r": _refund("r", ("a", "90.00"))})
    assert target(facts, _rule(EarningBasis.SUBTOTAL)).earned == 0


# ---- status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "confirmed", "cancelled", "expected"),
    [
        (False, False, False, Target(earned=90, credited=0, pending=90)),
        (True, False, False, Target(earned=90, credited=0, pending=90)),
        (False, True, False, Target(earned=90, credited=0, pending=90)),
        (True, True, False, Target(earned=90, credited=90, pending=0)),
        (False, False, True, Target(earned=0, credited=0, pending=0)),
        (True, True, True, Target(earned=0, credited=0, pending=0)),
    ],
)
def test_target_follows_payment_confirmation_and_cancellation(
    paid: bool, confirmed: bool, cancelled: bool, expected: Target
) -> None:
    facts = OrderFacts(data=_data(), paid=paid, confirmed=confirmed, cancelled=cancelled)
    assert target(facts, _rule()) == expected


def test_an_order_without_data_earns_nothing_yet() -> None:
    assert target(OrderFacts(paid=True, confirmed=True), _rule()) == Target(earned=0, credited=0, pending=0)


# ---- merge --------------------------------------------------------------------------------

# What each webhook contributes. orders/paid carries a fuller payload (the customer is attached).
CREATE = OrderFacts(data=_data())
PAID = OrderFacts(data=_data(customer_id="cust-1"), paid=True)
CONFIRMED = OrderFacts(confirmed=True)
REFUND_1 = OrderFacts(refunds={"r1": _refund("r1", ("a", "20.00"))})
REFUND_2 = OrderFacts(refunds={"r2": _refund("r2", ("a", "9.99"), ("gift", "25.00"))})
CANCEL = OrderFacts(cancelled=True)
FACTS = {
    "create": CREATE,
    "paid": PAID,
    "confirmed": CONFIRMED,
    "refund_1": REFUND_1,
    "refund_2": REFUND_2,
    "cancel": CANCEL,
}


def _fold(facts: list[OrderFacts]) -> OrderFacts:
    return reduce(OrderFacts.merge, facts, OrderFacts())


def test_the_full_set_of_facts_has_the_expected_target() -> None:
    everything_but_cancel = _fold([f for name, f in FACTS.items() if name != "cancel"])
    assert everything_but_cancel.data == PAID.data
    assert target(everything_but_cancel, _rule()) == Target(earned=60, credited=60, pending=0)  # 90-29.99
    assert target(_fold(list(FACTS.values())), _rule()) == Target(earned=0, credited=0, pending=0)


@pytest.mark.parametrize("size", range(1, len(FACTS) + 1))
def test_every_delivery_order_with_duplicates_ends_in_the_same_state(size: int) -> None:
    """Every subset of the facts (so the cancel does not mask everything), in every order, each
    delivered once, twice in a row, or the whole sequence replayed, reaches one state and target."""
    rule = _rule()
    for subset in itertools.combinations(FACTS.values(), size):
        expected = _fold(list(subset))
        expected_target = target(expected, rule)
        for order in itertools.permutations(subset):
            deliveries = [
                list(order),
                [f for fact in order for f in (fact, fact)],
                [*order, *reversed(order)],
            ]
            for delivered in deliveries:
                state = _fold(delivered)
                assert state == expected
                assert target(state, rule) == expected_target


def test_merge_is_commutative_associative_and_idempotent() -> None:
    values = [OrderFacts(), *FACTS.values()]
    for a in values:
        assert a.merge(a) == a
        assert a.merge(OrderFacts()) == a
        for b in values:
            assert a.merge(b) == b.merge(a)
            for c in values:
                assert a.merge(b).merge(c) == a.merge(b.merge(c))


def test_merge_prefers_the_fuller_order_data_deterministically() -> None:
    bare = _data(None, LINES[:1])
    more_lines = _data(None, LINES[:2])
    with_customer = _data(None, LINES[:1], customer_id="cust-1")
    other_total = _data("12.34", LINES[:1])

    def pick(a: OrderData, b: OrderData) -> OrderData | None:
        left = OrderFacts(data=a).merge(OrderFacts(data=b)).data
        assert left == OrderFacts(data=b).merge(OrderFacts(data=a)).data
        return left

    assert pick(bare, more_lines) == more_lines  # more lines wins
    assert pick(with_customer, more_lines) == more_lines  # ... even over a known customer
    assert pick(bare, with_customer) == with_customer  # then a known customer
    assert pick(bare, other_total) in [bare, other_total]  # then a fixed, order-free tie-break
    assert OrderFacts().merge(OrderFacts(data=bare)).data == bare
