"""The merchant's tier program as the read paths need it, apart from the tier qualification that
writes (:mod:`pollen.services.tier_qualification`): a cart or tier view does not load the order,
coupon and event models of the write path (docs/design.md, "Cold start")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pollen.storage.tiers import tier_program_of

if TYPE_CHECKING:
    from pollen.domain.tiers import TierProgram
    from pollen.services.container import Container


def tier_program(c: Container, merchant_id: str) -> TierProgram | None:
    """The merchant's tier program from the cached config (None, or no tiers: tiers are off)."""
    config = c.config.get(merchant_id)
    program = tier_program_of(config) if config else None
    return program if program and program.tiers else None
