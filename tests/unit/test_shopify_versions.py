"""Shopify Admin API versions: the default is one Shopify still serves, and retired ones are refused."""

from __future__ import annotations

from datetime import date

import pytest

from pollen.api.schemas.shopify import ShopifyConnectionBody
from pollen.clock import utcnow
from pollen.domain.merchants import ShopifyConnection
from pollen.integrations.shopify import versions


def test_the_default_version_is_still_supported_today() -> None:
    today = utcnow().date()
    retired = versions.retires_on(versions.DEFAULT_VERSION)
    assert versions.is_supported(versions.DEFAULT_VERSION, today), (
        f"Shopify Admin API {versions.DEFAULT_VERSION} retires on {retired}: add the newer releases to "
        "pollen/integrations/shopify/versions.py RELEASES and move DEFAULT_VERSION to the newest stable one"
    )


def test_every_place_that_defaults_a_version_uses_the_table_default() -> None:
    assert ShopifyConnectionBody.model_fields["api_version"].default == versions.DEFAULT_VERSION
    assert ShopifyConnection.model_fields["api_version"].default == versions.DEFAULT_VERSION


def test_the_default_is_the_newest_release_in_the_table() -> None:
    assert max(versions.RELEASES) == versions.DEFAULT_VERSION


@pytest.mark.parametrize(
    ("version", "today", "supported"),
    [
        ("2025-10", date(2025, 10, 1), True),
        ("2025-10", date(2026, 9, 30), True),
        ("2025-10", date(2026, 10, 1), False),  # twelve months on: retired
        ("2026-10", date(2026, 9, 30), False),  # not released yet
        ("2026-10", date(2026, 12, 2), True),
        ("2019-04", date(2019, 5, 1), False),  # not in the table: Pollen cannot vouch for it
        ("unstable", date(2026, 12, 2), False),
    ],
)
def test_support_windows(version: str, today: date, supported: bool) -> None:
    assert versions.is_supported(version, today) is supported


def test_retirement_is_twelve_months_after_release() -> None:
    assert versions.retires_on("2026-01") == date(2027, 1, 1)
    assert versions.retires_on("2025-10") == date(2026, 10, 1)
    assert versions.retires_on("1999-01") is None
