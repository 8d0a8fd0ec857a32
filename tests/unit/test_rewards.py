"""Rewards pricing, eligibility and coupon codes (pure rules)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from pollen.domain.coupons import ALPHABET, Coupon, CouponStatus, new_coupon_code, normalize_code
from pollen.domain.errors import ValidationFailed
from pollen.domain.rewards import (
    AllowedCoins,
    BelowMinimumOrder,
    CoinsOutOfRange,
    DynamicReward,
    Reward,
    RewardDisabled,
    RewardSettings,
    RewardType,
    allowed_coins,
    eligibility,
    quote,
)
from pollen.domain.wallet import InsufficientCoins, Source, TxnType, Wallet

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
COIN = Decimal("0.05")
SETTINGS: TypeAdapter[Any] = TypeAdapter(RewardSettings)


def dynamic(**settings: Any) -> DynamicReward:
    parsed = SETTINGS.validate_python(settings)
    assert isinstance(parsed, DynamicReward)
    return parsed


def reward(**settings: Any) -> Reward:
    return Reward(reward_id="r", settings=SETTINGS.validate_python(settings), created_at=NOW, updated_at=NOW)


FIXED = {"type": "fixed_amount", "name": "$5 off", "coins": 100, "amount": "5.00"}
PERCENT = {"type": "percentage", "name": "10%", "coins": 150, "percentage": "10", "max_discount": "20.00"}
SHIPPING = {"type": "free_shipping", "name": "Free shipping", "coins": 80}
DYNAMIC = {
    "type": "dynamic",
    "name": "Coins",
    "min_coins": 20,
    "max_coins": 2000,
    "step": 10,
    "max_cart_percent": "50",
}


@pytest.mark.parametrize(
    ("settings", "value", "cap"),
    [(FIXED, Decimal("5.00"), None), (PERCENT, Decimal(10), Decimal("20.00")), (SHIPPING, None, None)],
)
def test_fixed_rewards_cost_their_coins(
    settings: dict[str, Any], value: Decimal | None, cap: Decimal | None
) -> None:
    priced = quote(reward(**settings), coin_value=COIN, balance=500, coins=None, cart_total=None)
    assert (priced.coins, priced.value, priced.max_discount) == (settings["coins"], value, cap)
    assert priced.type == RewardType(settings["type"])


def test_fixed_reward_refuses_a_different_price_and_a_short_wallet() -> None:
    with pytest.raises(CoinsOutOfRange) as wrong:
        quote(reward(**FIXED), coin_value=COIN, balance=500, coins=99, cart_total=None)
    assert wrong.value.errors[0].field == "coins"
    with pytest.raises(InsufficientCoins):
        quote(reward(**FIXED), coin_value=COIN, balance=99, coins=None, cart_total=None)
    assert quote(reward(**FIXED), coin_value=COIN, balance=100, coins=100, cart_total=None).coins == 100


def test_disabled_and_minimum_order_rules() -> None:
    with pytest.raises(RewardDisabled):
        quote(reward(**FIXED, enabled=False), coin_value=COIN, balance=500, coins=None, cart_total=None)
    minimum = reward(**FIXED, min_order_subtotal="30.00")
    with pytest.raises(BelowMinimumOrder) as below:
        quote(minimum, coin_value=COIN, balance=500, coins=None, cart_total=Decimal("29.99"))
    assert below.value.errors[0].field == "cart_total"
    assert quote(
        minimum, coin_value=COIN, balance=500, coins=None, cart_total=Decimal("30.00")
    ).min_order == Decimal("30.00")
    # without a cart Pollen cannot check the minimum: the caller must send it (a store without Shopify
    # has no checkout that would enforce it)
    with pytest.raises(ValidationFailed) as missing:
        quote(minimum, coin_value=COIN, balance=500, coins=None, cart_total=None)
    assert missing.value.errors[0].field == "cart_total"


def test_dynamic_coins_convert_at_the_coin_value_within_bounds() -> None:
    dyn = reward(**DYNAMIC)
    dyn_settings = dynamic(**DYNAMIC)
    priced = quote(dyn, coin_value=COIN, balance=1000, coins=300, cart_total=Decimal("100.00"))
    assert (priced.coins, priced.value) == (300, Decimal("15.00"))
    # 50% of a 100.00 cart is 50.00 = 1000 coins at 0.05
    assert allowed_coins(
        dyn_settings, coin_value=COIN, balance=5000, cart_total=Decimal("100.00")
    ) == AllowedCoins(20, 1000, 10)
    # the balance caps it, rounded down to a step above the minimum
    assert allowed_coins(dyn_settings, coin_value=COIN, balance=437, cart_total=None) == AllowedCoins(
        20, 430, 10
    )
    assert allowed_coins(dyn_settings, coin_value=COIN, balance=19, cart_total=None) is None


@pytest.mark.parametrize(
    ("coins", "balance", "cart", "error"),
    [
        (10, 1000, "100.00", CoinsOutOfRange),  # below min
        (25, 1000, "100.00", CoinsOutOfRange),  # not on a step
        (1010, 5000, "100.00", CoinsOutOfRange),  # above the cart share
        (2010, 9000, "1000.00", CoinsOutOfRange),  # above max_coins
        (500, 499, "100.00", InsufficientCoins),  # more than the balance
        (None, 1000, "100.00", ValidationFailed),  # coins missing
        (100, 1000, None, ValidationFailed),  # cart needed for a share cap
    ],
)
def test_dynamic_rules_name_what_failed(
    coins: int | None, balance: int, cart: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        quote(
            reward(**DYNAMIC),
            coin_value=COIN,
            balance=balance,
            coins=coins,
            cart_total=Decimal(cart) if cart else None,
        )


def test_dynamic_value_is_floored_to_the_cent() -> None:
    dyn = reward(type="dynamic", name="x", min_coins=1, max_coins=100)
    assert quote(dyn, coin_value=Decimal("0.0333"), balance=100, coins=7, cart_total=None).value == Decimal(
        "0.23"
    )


def test_eligibility_reasons() -> None:
    assert eligibility(reward(**FIXED), coin_value=COIN, balance=100, cart_total=None) == (True, None, None)
    assert eligibility(reward(**FIXED), coin_value=COIN, balance=99, cart_total=None)[:2] == (
        False,
        "insufficient_coins",
    )
    assert (
        eligibility(reward(**FIXED, enabled=False), coin_value=COIN, balance=999, cart_total=None)[1]
        == "disabled"
    )
    assert eligibility(
        reward(**FIXED, min_order_subtotal="50"), coin_value=COIN, balance=999, cart_total=Decimal(10)
    )[1] == ("below_minimum_order")
    dyn = reward(**DYNAMIC)
    assert eligibility(dyn, coin_value=COIN, balance=10, cart_total=Decimal(100))[1] == "insufficient_coins"
    assert eligibility(dyn, coin_value=COIN, balance=900, cart_total=Decimal("1.00"))[1] == "cart_too_small"
    assert eligibility(dyn, coin_value=COIN, balance=900, cart_total=Decimal(100)) == (
        True,
        None,
        AllowedCoins(20, 900, 10),
    )


@pytest.mark.parametrize(
    "bad",
    [
        {**FIXED, "amount": "0"},
        {**FIXED, "coins": 0},
        {**PERCENT, "percentage": "100.5"},
        {**DYNAMIC, "max_coins": 10},
        {**SHIPPING, "amount": "3.00"},
        {**FIXED, "type": "mystery"},
        {**FIXED, "validity_days": 0},
        {**FIXED, "amount": 5.1234},
    ],
)
def test_invalid_reward_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SETTINGS.validate_python(bad)


def test_coupon_codes_are_readable_unguessable_and_normalised() -> None:
    codes = {new_coupon_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
        assert not set(code) & set("01IO")
    assert 12 * math.log2(len(ALPHABET)) >= 50
    assert normalize_code(" abcd-efgh-jkmn ") == "ABCD-EFGH-JKMN"
    assert normalize_code("SUMMER10") is None
    assert normalize_code("AB#D-EFGH-JKMN") is None


def test_coupon_reads_expired_after_its_date() -> None:
    coupon = Coupon(
        code="ABCD-EFGH-JKMN",
        customer_id="c",
        reward_id="r",
        reward_type=RewardType.FIXED_AMOUNT,
        value=Decimal(5),
        currency="USD",
        coins=100,
        created_at=NOW,
        expires_at=NOW + timedelta(days=1),
        transaction_id="t",
    )
    assert coupon.status(NOW) == CouponStatus.ISSUED
    assert coupon.status(NOW + timedelta(days=1)) == CouponStatus.EXPIRED
    assert coupon.model_copy(update={"stored_status": CouponStatus.USED}).status(NOW + timedelta(days=9)) == (
        CouponStatus.USED
    )


def test_restore_puts_coins_back_in_the_lots_they_came_from() -> None:
    wallet = Wallet(customer_id="c")
    wallet, _ = wallet.credit(
        100, type=TxnType.REWARD, source=Source.ORDER, reference="o1", now=NOW, expiry_days=10
    )
    wallet, _ = wallet.credit(
        50, type=TxnType.REWARD, source=Source.ORDER, reference="o2", now=NOW, expiry_days=300
    )
    after, _ = wallet.debit(120, type=TxnType.REDEEM, source=Source.REDEMPTION, reference="X", now=NOW)
    taken = {lot: n - after.lots.get(lot, 0) for lot, n in wallet.lots.items() if n > after.lots.get(lot, 0)}
    restored, entry = after.restore(taken, source=Source.REDEMPTION, reference="X", now=NOW)
    assert restored.lots == wallet.lots
    assert restored.balance == 150
    assert restored.lifetime_redeemed == 0
    assert (entry.type, entry.coins, entry.expires_on) == (
        TxnType.REFUND,
        120,
        (NOW + timedelta(days=10)).date(),
    )
