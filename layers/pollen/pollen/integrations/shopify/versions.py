"""Shopify Admin API versions: when each was released and when Shopify stops serving it.

Shopify releases a stable version every quarter (``YYYY-01``, ``-04``, ``-07``, ``-10``) and supports
each for at least twelve months; a request naming a retired version is silently served by the oldest
supported one instead, so a stale default changes behaviour without an error. Reference:
https://shopify.dev/docs/api/usage/versioning. Keep :data:`RELEASES` current: a test fails when
:data:`DEFAULT_VERSION` is past its support window, so the table cannot rot unnoticed.
"""

from __future__ import annotations

from datetime import date

SUPPORT_MONTHS = 12

# version -> release date (the first day of the quarter's month, as Shopify publishes them)
RELEASES: dict[str, date] = {
    "2025-01": date(2025, 1, 1),
    "2025-04": date(2025, 4, 1),
    "2025-07": date(2025, 7, 1),
    "2025-10": date(2025, 10, 1),
    "2026-01": date(2026, 1, 1),
    "2026-04": date(2026, 4, 1),
    "2026-07": date(2026, 7, 1),
    "2026-10": date(2026, 10, 1),
}

DEFAULT_VERSION = "2026-10"


def retires_on(version: str) -> date | None:
    """The first day Shopify no longer serves ``version`` (None for an unknown version)."""
    released = RELEASES.get(version)
    if released is None:
        return None
    months = released.month - 1 + SUPPORT_MONTHS
    return date(released.year + months // 12, months % 12 + 1, 1)


def is_supported(version: str, today: date) -> bool:
    """Released by ``today`` and not yet retired. Unknown versions are refused: Pollen cannot tell."""
    released, retired = RELEASES.get(version), retires_on(version)
    return released is not None and retired is not None and released <= today < retired


def supported_versions(today: date) -> list[str]:
    return [v for v in sorted(RELEASES) if is_supported(v, today)]
