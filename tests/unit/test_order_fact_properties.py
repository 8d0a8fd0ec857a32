"""Properties of order-fact merging (pollen/domain/orders.py), over generated facts.

Webhooks arrive duplicated, late and out of order, so the wallet may depend only on the *set* of facts
received: merging must be commutative, associative and idempotent, and the coins an order earns the
same whatever order its facts came in.
"""

from __future__ import annotations

from decimal import Decimal
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from pollen.domain.orders import OrderData, OrderFacts, OrderLine, Refund, RefundLine, target
from pollen.domain.program import EarningBasis, EarningRule

ORDER = "o-1"
LINES = [
    OrderLine(line_id="l-1", product_id="p-1", quantity=2, unit_price=Decimal("10.00")),
    OrderLine(
        line_id="l-2", product_id="p-2", quantity=1, unit_price=Decimal("25.50"), discount=Decimal("5")
    ),
    OrderLine(line_id="l-3", product_id="gift", quantity=1, unit_price=Decimal("50"), gift_card=True),
    OrderLine(line_id="l-4", product_id="p-4", quantity=3, unit_price=Decimal("3.33"), tags=["sale"]),
]

# Different webhooks describe the same order more or less fully (orders/paid may come without lines).
data_variants = st.builds(
    lambda n, customer, total: OrderData(
        order_id=ORDER, customer_id=customer, currency="USD", lines=LINES[:n], total=total
    ),
    st.integers(min_value=0, max_value=len(LINES)),
    st.sampled_from([None, "c-1"]),
    st.sampled_from([None, Decimal("99.99")]),
)

# A refund id always names the same refund (Shopify never changes a refund), so they come from a pool.
REFUNDS = {
    "r-1": Refund(refund_id="r-1", lines=[RefundLine(line_id="l-1", quantity=1, subtotal=Decimal("10"))]),
    "r-2": Refund(refund_id="r-2", lines=[RefundLine(line_id="l-2", quantity=1, subtotal=Decimal("20.50"))]),
    "r-3": Refund(refund_id="r-3", lines=[RefundLine(line_id="l-3", quantity=1, subtotal=Decimal("50"))]),
}

facts = st.builds(
    lambda data, paid, cancelled, confirmed, refunds: OrderFacts(
        data=data,
        paid=paid,
        cancelled=cancelled,
        confirmed=confirmed,
        refunds={refund_id: REFUNDS[refund_id] for refund_id in refunds},
    ),
    st.none() | data_variants,
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sets(st.sampled_from(sorted(REFUNDS))),
)

rules = st.builds(
    lambda basis, per_unit, excluded: EarningRule(
        coins_per_unit=per_unit, unit_amount=Decimal(1), basis=basis, excluded_tags=excluded
    ),
    st.sampled_from(list(EarningBasis)),
    st.sampled_from([Decimal(1), Decimal("2.5"), Decimal(10)]),
    st.sampled_from([[], ["sale"]]),
)


@given(facts, facts)
def test_merging_is_commutative(a: OrderFacts, b: OrderFacts) -> None:
    assert a.merge(b) == b.merge(a)


@given(facts, facts, facts)
def test_merging_is_associative(a: OrderFacts, b: OrderFacts, c: OrderFacts) -> None:
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@given(facts, facts)
def test_merging_is_idempotent(a: OrderFacts, b: OrderFacts) -> None:
    assert a.merge(a) == a
    merged = a.merge(b)
    assert merged.merge(b) == merged  # the same webhook delivered again changes nothing
    assert merged.merge(a) == merged


@given(facts)
def test_the_empty_fact_changes_nothing(a: OrderFacts) -> None:
    assert a.merge(OrderFacts()) == a


@given(st.lists(facts, min_size=1, max_size=6), st.randoms(use_true_random=False), rules)
def test_the_coins_an_order_earns_do_not_depend_on_the_order_of_its_webhooks(
    received: list[OrderFacts], rng: object, rule: EarningRule
) -> None:
    shuffled = list(received)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    duplicated = shuffled + shuffled[: len(shuffled) // 2]  # and some delivered twice
    in_order = reduce(OrderFacts.merge, received)
    assert reduce(OrderFacts.merge, duplicated) == in_order
    assert target(reduce(OrderFacts.merge, duplicated), rule) == target(in_order, rule)


@given(facts, rules)
def test_a_cancelled_order_earns_nothing_whatever_else_arrives(a: OrderFacts, rule: EarningRule) -> None:
    cancelled = a.merge(OrderFacts(cancelled=True))
    assert target(cancelled, rule).earned == 0
    assert target(cancelled, rule).credited == target(cancelled, rule).pending == 0


@given(facts, rules)
def test_refunds_never_raise_what_an_order_earns(a: OrderFacts, rule: EarningRule) -> None:
    without_refunds = a.model_copy(update={"refunds": {}})
    earned = target(a, rule)
    assert 0 <= earned.earned <= target(without_refunds, rule).earned
    assert earned.credited + earned.pending == earned.earned
