"""Packages that load their modules on first use still export the same names (docs/design.md,
"Cold start")."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pollen.services import redemption

NAMES = [name for names in redemption._HOMES.values() for name in names]


def test_the_redemption_package_exports_what_it_lists() -> None:
    assert sorted(NAMES) == sorted(redemption.__all__)


@pytest.mark.parametrize("first", ["RedeemRequest", "SETTLING", "coupon_event"])
def test_every_name_is_the_function_or_value_whatever_is_asked_first(first: str) -> None:
    code = (
        f"from pollen.services.redemption import {first}\n"
        "import inspect\n"
        "from pollen.services import redemption\n"
        "from pollen.services.redemption import redeem\n"
        "assert inspect.isfunction(redeem) and redeem.__module__ == 'pollen.services.redemption.redeem'\n"
        f"assert all(not inspect.ismodule(getattr(redemption, n)) for n in {NAMES!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        getattr(redemption, "nothing_here")  # noqa: B009 - mypy rejects the plain attribute, rightly
