"""The kinds of reward a coupon can carry, apart from the rewards catalogue's models
(:mod:`pollen.domain.rewards` re-exports it) so that the referral program, whose rewards name a kind,
does not load the catalogue (docs/design.md, "Cold start")."""

from __future__ import annotations

from enum import StrEnum


class RewardType(StrEnum):
    FIXED_AMOUNT = "fixed_amount"
    PERCENTAGE = "percentage"
    FREE_SHIPPING = "free_shipping"
    DYNAMIC = "dynamic"
