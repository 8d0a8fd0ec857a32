"""What the admin API shows of a reward: its id and timestamps beside its settings, flat."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated

from pydantic import Field, TypeAdapter

from pollen.domain.rewards import (
    DynamicReward,
    FixedAmountReward,
    FreeShippingReward,
    PercentageReward,
    Reward,
)
from pollen.model import BaseModel


class _Stamped(BaseModel):
    reward_id: str
    created_at: datetime
    updated_at: datetime


class FixedAmountRewardView(FixedAmountReward, _Stamped):
    pass


class PercentageRewardView(PercentageReward, _Stamped):
    pass


class FreeShippingRewardView(FreeShippingReward, _Stamped):
    pass


class DynamicRewardView(DynamicReward, _Stamped):
    pass


RewardView = Annotated[
    FixedAmountRewardView | PercentageRewardView | FreeShippingRewardView | DynamicRewardView,
    Field(discriminator="type"),
]


@cache
def _view() -> TypeAdapter[RewardView]:
    """Built on first use: a TypeAdapter compiles its validator at once (pollen.model defers models)."""
    return TypeAdapter(RewardView)


class RewardList(BaseModel):
    items: list[RewardView]


def reward_view(reward: Reward) -> RewardView:
    """A reward as the admin API shows it."""
    return _view().validate_python(
        {
            "reward_id": reward.reward_id,
            **reward.settings.model_dump(),
            "created_at": reward.created_at,
            "updated_at": reward.updated_at,
        }
    )
