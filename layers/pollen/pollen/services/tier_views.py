"""A customer's VIP tier and the multiplier the cart shows: the read paths of the wallet, apart from
the tier program's writes and jobs in :mod:`pollen.services.tiers` (which re-exports these), so a
wallet's cold start does not load them (docs/design.md, "Cold start")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from pollen.domain.tiers import Benefits, Metric, TierProgram, TierState, expires_on, multiplier, progress
from pollen.model import BaseModel
from pollen.services.container import Container
from pollen.services.tier_config import tier_program
from pollen.storage.tiers import read_tier_state

# ---- a customer's tier ---------------------------------------------------------------------------------


class TierProgress(BaseModel):
    metric: Metric
    current: Decimal = Field(description="The metric's total inside the window.")
    needed: Decimal = Field(description="How much more reaches the next tier.")
    percent: int = Field(ge=0, le=100)


class TierSummary(BaseModel):
    tier_id: str
    name: str
    threshold: Decimal
    benefits: Benefits


class CustomerTier(BaseModel):
    customer_id: str
    tier: TierSummary | None = Field(description="The tier held now (null: none yet).")
    since: datetime | None
    expires_on: str | None = Field(description="When the tier is lost if nothing new happens (null: never).")
    benefits: Benefits | None
    next_tier: TierSummary | None
    progress: TierProgress | None = Field(description="Towards next_tier (null at the top).")
    window: dict[str, Any]


def _summary(program: TierProgram, index: int) -> TierSummary | None:
    if index < 0:
        return None
    tier = program.tiers[index]
    return TierSummary(
        tier_id=tier.tier_id, name=tier.name, threshold=tier.threshold.value, benefits=tier.benefits
    )


def customer_tier(c: Container, merchant_id: str, customer_id: str, now: datetime) -> CustomerTier:
    """The customer's tier, benefits and progress: one GetItem (the program comes from the cached config).
    A customer Pollen has no totals for simply has no tier yet."""
    program = tier_program(c, merchant_id) or TierProgram(version=1, updated_at=now)
    state = read_tier_state(c.table, merchant_id, customer_id)
    held = program.index(state.tier_id)
    nxt, prog = progress(state, program, now.date())
    expiry = expires_on(state, program)
    current = _summary(program, held)
    return CustomerTier(
        customer_id=customer_id,
        tier=current,
        since=state.since if current else None,
        expires_on=expiry.isoformat() if expiry else None,
        benefits=current.benefits if current else None,
        next_tier=_summary(program, nxt),
        progress=TierProgress(
            metric=prog.metric, current=prog.current, needed=prog.needed, percent=prog.percent
        )
        if prog
        else None,
        window=program.window.model_dump(mode="json"),
    )


def cart_multiplier(c: Container, merchant_id: str, customer_id: str | None) -> Decimal:
    """The earn multiplier a known customer's order would get now (one GetItem; none without tiers)."""
    program = tier_program(c, merchant_id)
    if program is None or customer_id is None:
        return Decimal(1)
    state: TierState = read_tier_state(c.table, merchant_id, customer_id)
    return multiplier(state, program)
