"""Reward items: the catalogue lives in the merchant's cached config partition (0 reads warm)."""

from __future__ import annotations

from typing import Any

from pollen.clock import isoformat
from pollen.domain.rewards import Reward
from pollen.storage.keys import reward_key
from pollen.storage.merchant_config import MerchantConfig

REWARD_ENTITY = "reward"


def reward_item(merchant_id: str, reward: Reward) -> dict[str, Any]:
    return {
        **reward_key(merchant_id, reward.reward_id).as_dict(),
        "entity": REWARD_ENTITY,
        "merchant_id": merchant_id,
        "reward_id": reward.reward_id,
        "settings": reward.settings.model_dump(mode="json"),
        "created_at": isoformat(reward.created_at),
        "updated_at": isoformat(reward.updated_at),
    }


def rewards_of(config: MerchantConfig) -> dict[str, Reward]:
    return {
        item["reward_id"]: Reward.model_validate(item)
        for item in config.items.values()
        if item.get("entity") == REWARD_ENTITY
    }
