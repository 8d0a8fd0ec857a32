from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from pollen.domain.cart import (
    CartCoins,
    CartRequest,
    CartRule,
    ExclusionReason,
    allocate_discount,
    cart_coins,
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
        excluded_product_ids=["p-gift-card"],
        excluded_tags=["Sale"],
    )


def _cart(*lines: dict[str, Any], discount: str = "0", **kwargs: Any) -> CartRequest:
    return CartRequest.model_validate(
        {"currency": "USD", "lines": list(lines), "discount_total": discount, **kwargs}
    )


def _line(product_id: str, price: str, qty: int = 1, **kwargs: Any) -> dict[str, Any]:
    return {"product_id": product_id, "unit_price": price, "quantity": qty, **kwargs}


def test_a_single_line_for_a_product_page() -> None:
    result = cart_coins(_cart(_line("p-1", "19.99", variant_id="v-1")), _rule())
    assert result.coins == 19
    assert result.eligible_amount == D("19.99")
    assert result.currency == "USD"
    assert result.multiplier == 1
    [line] = result.lines
    assert (line.product_id, line.variant_id, line.quantity) == ("p-1", "v-1", 1)
    assert (line.amount, line.discount, line.coins) == (D("19.99"), D(0), 19)
    assert not line.excluded
    assert line.reason is None


def test_the_rule_is_echoed() -> None:
    rule = _rule(EarningBasis.SUBTOTAL, coins_per_unit="5", unit_amount="100")
    result = cart_coins(_cart(_line("p-1", "1")), rule)
    assert result.rule == CartRule(coins_per_unit=D(5), unit_amount=D(100), basis=EarningBasis.SUBTOTAL)
    assert result.model_dump(mode="json")["rule"] == {
        "coins_per_unit": "5",
        "unit_amount": "100",
        "basis": "subtotal",
    }


def test_multiple_lines_use_quantity_and_the_total_is_floored_once() -> None:
    cart = _cart(_line("p-1", "0.60", 3), _line("p-2", "0.70"), _line("p-3", "0.80"))
    result = cart_coins(cart, _rule())
    assert [line.amount for line in result.lines] == [D("1.80"), D("0.70"), D("0.80")]
    assert [line.coins for line in result.lines] == [1, 0, 0]
    # 3.30 earns 3 coins: more than the per-line coins add up to
    assert result.eligible_amount == D("3.30")
    assert result.coins == 3


@pytest.mark.parametrize(
    ("coins_per_unit", "unit_amount", "price", "coins"),
    [
        ("1", "100", "199.99", 1),
        ("1", "100", "99.99", 0),
        ("1", "100", "200", 2),
        ("2.5", "10", "39.99", 9),
        ("1", "0.1", "0.3", 3),  # no float drift
    ],
)
def test_coins_are_rounded_down(coins_per_unit: str, unit_amount: str, price: str, coins: int) -> None:
    rule = _rule(coins_per_unit=coins_per_unit, unit_amount=unit_amount)
    result = cart_coins(_cart(_line("p-1", price)), rule)
    assert result.coins == coins
    assert result.lines[0].coins == coins


# ---- discounts ----------------------------------------------------------------------------


def test_the_discount_is_shared_pro_rata_and_the_remainder_cent_goes_to_the_last_line() -> None:
    cart = _cart(_line("p-1", "10.00"), _line("p-2", "10.00"), _line("p-3", "10.00"), discount="10.00")
    result = cart_coins(cart, _rule())
    assert [line.discount for line in result.lines] == [D("3.33"), D("3.33"), D("3.34")]
    assert [line.amount for line in result.lines] == [D("6.67"), D("6.67"), D("6.66")]
    assert result.eligible_amount == D("20.00")
    assert result.coins == 20


def test_the_discount_follows_gross_not_unit_price() -> None:
    cart = _cart(_line("p-1", "10.00", qty=3), _line("p-2", "20.00"), discount="5.00")
    result = cart_coins(cart, _rule())
    assert [line.discount for line in result.lines] == [D("3.00"), D("2.00")]
    assert result.eligible_amount == D("45.00")


def test_the_remainder_goes_to_the_last_eligible_line_not_an_excluded_one() -> None:
    cart = _cart(
        _line("p-1", "10.00"),
        _line("p-2", "10.00"),
        _line("p-gift-card", "10.00"),
        discount="10.00",
    )
    result = cart_coins(cart, _rule())
    assert [line.discount for line in result.lines] == [D("3.33"), D("3.34"), D("3.33")]
    # the excluded line takes its share of the discount, so eligible lines are not over-discounted
    assert result.eligible_amount == D("13.33")
    assert result.coins == 13


def test_a_discount_larger_than_the_cart_leaves_nothing_and_never_goes_negative() -> None:
    cart = _cart(_line("p-1", "3.00"), _line("p-2", "7.00"), discount="25.00")
    result = cart_coins(cart, _rule())
    assert [line.discount for line in result.lines] == [D("3.00"), D("7.00")]
    assert [line.amount for line in result.lines] == [0, 0]
    assert result.coins == 0


def test_free_lines_take_no_discount() -> None:
    cart = _cart(_line("p-1", "9.00"), _line("p-free", "0"), discount="1.00")
    result = cart_coins(cart, _rule())
    assert [line.discount for line in result.lines] == [D("1.00"), 0]
    assert result.eligible_amount == D("8.00")
    only_free = cart_coins(_cart(_line("p-free", "0"), discount="1.00"), _rule())
    assert only_free.lines[0].discount == 0
    assert only_free.coins == 0


def test_a_sub_cent_discount_is_kept_exactly() -> None:
    result = cart_coins(_cart(_line("p-1", "1.00"), _line("p-2", "1.00"), discount="0.0150"), _rule())
    assert [line.discount for line in result.lines] == [D("0.00"), D("0.0150")]
    assert sum(line.discount for line in result.lines) == D("0.015")


def test_allocations_always_sum_exactly_to_the_discount() -> None:
    rng = random.Random(7)  # noqa: S311 - reproducible test data, not security
    for _ in range(500):
        grosses = [
            D(rng.randint(0, 500_000)) / 100 if rng.random() > 0.1 else D(0)
            for _ in range(rng.randint(1, 12))
        ]
        discount = D(rng.randint(0, 600_000)) / 100
        last = rng.randrange(len(grosses))
        shares = allocate_discount(grosses, discount, last)
        total = sum(grosses, D(0))
        assert len(shares) == len(grosses)
        assert sum(shares, D(0)) == (min(discount, total) if total > 0 else 0)
        assert all(s >= 0 for s in shares)
        for i, (share, gross) in enumerate(zip(shares, grosses, strict=True)):
            if i != last:
                assert share == share.quantize(D("0.01"))
                assert share <= gross
            if gross == 0 and i != last:
                assert share == 0


@pytest.mark.parametrize(
    ("basis", "eligible", "coins"),
    [
        (EarningBasis.SUBTOTAL_AFTER_DISCOUNTS, "90.00", 90),
        (EarningBasis.TOTAL, "90.00", 90),  # a cart knows no shipping or tax
        (EarningBasis.SUBTOTAL, "100.00", 100),  # discounts are ignored
    ],
)
def test_basis(basis: EarningBasis, eligible: str, coins: int) -> None:
    cart = _cart(_line("p-1", "25.00", 2), _line("p-2", "50.00"), discount="10.00")
    result = cart_coins(cart, _rule(basis))
    assert result.eligible_amount == D(eligible)
    assert result.coins == coins
    assert [line.discount for line in result.lines] == [D("5.00"), D("5.00")]


# ---- exclusions ---------------------------------------------------------------------------


def test_excluded_products_and_tags_earn_nothing_and_say_why() -> None:
    cart = _cart(
        _line("p-1", "20.00", tags=["new"]),
        _line("p-gift-card", "50.00", tags=["sale"]),
        _line("p-2", "30.00", tags=["Summer", "  SALE "]),
        _line("p-3", "5.00", tags=["wholesale"]),
    )
    result = cart_coins(cart, _rule())
    assert [(line.excluded, line.reason) for line in result.lines] == [
        (False, None),
        (True, ExclusionReason.EXCLUDED_PRODUCT),  # the product id is checked first
        (True, ExclusionReason.EXCLUDED_TAG),
        (False, None),
    ]
    assert [line.amount for line in result.lines] == [D("20.00"), 0, 0, D("5.00")]
    assert [line.coins for line in result.lines] == [20, 0, 0, 5]
    assert result.eligible_amount == D("25.00")
    assert result.coins == 25
    assert result.model_dump(mode="json")["lines"][2]["reason"] == "excluded_tag"


def test_a_cart_of_excluded_lines_earns_nothing() -> None:
    result = cart_coins(_cart(_line("p-gift-card", "100.00"), discount="10.00"), _rule())
    assert result.coins == 0
    assert result.eligible_amount == 0
    assert result.lines[0].discount == D("10.00")


# ---- multiplier ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("multiplier", "coins", "line_coins"),
    [
        ("1", 15, [7, 7]),
        ("2", 30, [14, 14]),
        ("1.5", 22, [10, 10]),  # 15 x 1.5 = 22.5 and 7 x 1.5 = 10.5, floored
        ("0", 0, [0, 0]),
    ],
)
def test_the_multiplier_scales_floored_coins(multiplier: str, coins: int, line_coins: list[int]) -> None:
    cart = _cart(_line("p-1", "7.99"), _line("p-2", "7.99"))  # 15.98 earns 15
    result = cart_coins(cart, _rule(), multiplier=D(multiplier))
    assert result.coins == coins
    assert [line.coins for line in result.lines] == line_coins
    assert result.multiplier == D(multiplier)


@pytest.mark.parametrize("multiplier", ["-1", "NaN", "Infinity"])
def test_a_negative_or_non_finite_multiplier_is_refused(multiplier: str) -> None:
    with pytest.raises(ValueError, match="multiplier"):
        cart_coins(_cart(_line("p-1", "1")), _rule(), multiplier=D(multiplier))


# ---- request validation --------------------------------------------------------------------


def test_a_valid_request_with_every_field() -> None:
    cart = _cart(
        _line("p-1", "19.9999", 10_000, variant_id="v-1", tags=["a", "b"]),
        discount="1.5",
        customer_id="cust-1",
    )
    assert cart.customer_id == "cust-1"
    assert cart.lines[0].unit_price == D("19.9999")
    assert cart.discount_total == D("1.5")
    assert isinstance(cart_coins(cart, _rule()), CartCoins)
    defaults = _cart(_line("p-1", "1"))
    assert defaults.customer_id is None
    assert defaults.discount_total == 0
    assert defaults.lines[0].tags == []
    assert defaults.lines[0].variant_id is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "usd"}, "currency"),
        ({"currency": "USDX"}, "currency"),
        ({"lines": []}, "lines"),
        ({"lines": [_line("p", "1")] * 251}, "lines"),
        ({"discount_total": "-0.01"}, "discount_total"),
        ({"discount_total": "1.00001"}, "discount_total"),
        ({"coupon": "X"}, "coupon"),
        ({"customer_id": ""}, "customer_id"),
        ({"lines": [_line("", "1")]}, "product_id"),
        ({"lines": [_line("p" * 129, "1")]}, "product_id"),
        ({"lines": [_line("p", "1", 0)]}, "quantity"),
        ({"lines": [_line("p", "1", 10_001)]}, "quantity"),
        ({"lines": [_line("p", "-1")]}, "unit_price"),
        ({"lines": [_line("p", "1.00001")]}, "unit_price"),
        ({"lines": [_line("p", "NaN")]}, "unit_price"),
        ({"lines": [_line("p", "1", colour="red")]}, "colour"),
    ],
)
def test_invalid_requests_are_rejected(body: dict[str, Any], field: str) -> None:
    payload: dict[str, Any] = {"currency": "USD", "lines": [_line("p", "1")], **body}
    with pytest.raises(ValidationError) as raised:
        CartRequest.model_validate(payload)
    assert any(field in map(str, error["loc"]) for error in raised.value.errors())
