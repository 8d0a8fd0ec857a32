"""Bodies of the program routes: the admin's settings and the public face apps read."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from pollen.domain.errors import FieldError, InvalidRequest, PreconditionFailed
from pollen.domain.program import EarningRule, ExpiryRule, Program, ProgramSettings
from pollen.domain.triggers import Trigger
from pollen.model import BaseModel


class ProgramView(ProgramSettings):
    """The program as the API shows it: settings plus version and last change."""

    version: int
    updated_at: datetime

    @classmethod
    def of(cls, program: Program) -> ProgramView:
        return cls.model_validate(program.model_dump())


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "3"`` → 3; ``*`` or no header → None (no precondition).

    A well-formed entity tag this API never issued (``"stale-0"``) cannot match: 412. A header that
    is not an entity tag at all: 400, naming the header."""
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/")
    quoted = len(raw) >= 2 and raw[0] == raw[-1] == '"'
    tag = raw[1:-1] if quoted else raw
    if tag.isdigit() and tag.isascii():  # "0": a settings item not written yet (tiers, referrals)
        return int(tag)
    if quoted and '"' not in tag and all(0x21 <= ord(ch) <= 0x7E or ord(ch) >= 0x80 for ch in tag):
        raise PreconditionFailed("If-Match does not match the program's current version; fetch it again.")
    raise InvalidRequest(
        'If-Match must be the ETag this API returned, like "3".',
        errors=[FieldError(field="if-match", message="not an entity tag", location="header")],
    )


class PublicTrigger(BaseModel):
    trigger_id: str
    name: str | None
    coins: int
    frequency: str | int
    customer_runnable: bool


class PublicProgram(BaseModel):
    """What an app may show with the app key alone: nothing about any customer."""

    currency: str
    coin_value: Decimal
    earning: EarningRule
    expiry: ExpiryRule
    triggers: list[PublicTrigger] = Field(description="Enabled triggers (ways to earn besides orders).")

    @classmethod
    def of(cls, program: Program, triggers: list[Trigger]) -> PublicProgram:
        return cls(
            currency=program.currency,
            coin_value=program.coin_value,
            earning=program.earning,
            expiry=program.expiry,
            triggers=[
                PublicTrigger(
                    trigger_id=t.trigger_id,
                    name=t.name,
                    coins=t.coins,
                    frequency=t.frequency,
                    customer_runnable=t.customer_runnable,
                )
                for t in triggers
                if t.enabled
            ],
        )
