"""Bodies of the program routes: the admin's settings and the public face apps read."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

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
