from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from pollen.domain.program import EarningRule, ExpiryRule, ProgramSettings, default_settings


@pytest.mark.parametrize(
    ("coins_per_unit", "unit_amount", "amount", "coins"),
    [
        ("1", "1", "10.99", 10),
        ("1", "100", "250", 2),
        ("1", "100", "99.99", 0),
        ("2.5", "10", "39.99", 9),
        ("0.1", "1", "0.1", 0),
        ("0.1", "1", "10", 1),
        ("3", "1", "0", 0),
        ("3", "1", "-5", 0),
    ],
)
def test_coins_are_rounded_down_to_whole_coins(
    coins_per_unit: str, unit_amount: str, amount: str, coins: int
) -> None:
    rule = EarningRule(coins_per_unit=Decimal(coins_per_unit), unit_amount=Decimal(unit_amount))
    assert rule.coins_for(Decimal(amount)) == coins


def test_decimal_arithmetic_has_no_float_drift() -> None:
    rule = EarningRule(coins_per_unit=Decimal(1), unit_amount=Decimal("0.1"))
    assert int(0.3 / 0.1) == 2  # what float arithmetic would award
    assert rule.coins_for(Decimal("0.3")) == 3


def _settings(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "currency": "USD",
        "earning": {"coins_per_unit": "1", "unit_amount": "1"},
        "coin_value": "0.05",
    }
    body.update(overrides)
    return body


def test_defaults_fill_basis_and_expiry() -> None:
    settings = ProgramSettings.model_validate(_settings())
    assert settings.earning.basis == "subtotal_after_discounts"
    assert settings.expiry == ExpiryRule(days=365, reminder_days_before=7)


def test_never_expiring_coins_are_allowed() -> None:
    settings = ProgramSettings.model_validate(_settings(expiry={"days": None, "reminder_days_before": 0}))
    assert settings.expiry.days is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "usd"}, "currency"),
        ({"currency": "DOLLARS"}, "currency"),
        ({"coin_value": "0"}, "coin_value"),
        ({"coin_value": "-1"}, "coin_value"),
        ({"coin_value": "0.000001"}, "coin_value"),
        ({"earning": {"coins_per_unit": "1", "unit_amount": "0"}}, "earning"),
        ({"earning": {"coins_per_unit": "1", "unit_amount": "1", "basis": "shipping"}}, "earning"),
        ({"expiry": {"days": 7, "reminder_days_before": 7}}, "expiry"),
        ({"expiry": {"days": 0}}, "expiry"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_settings_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ProgramSettings.model_validate(_settings(**overrides))
    assert any(str(err["loc"][0]) == field for err in info.value.errors())


def test_money_serialises_as_decimal_strings() -> None:
    dumped = default_settings("INR").model_dump(mode="json")
    assert dumped["coin_value"] == "0.01"
    assert dumped["earning"]["coins_per_unit"] == "1"
