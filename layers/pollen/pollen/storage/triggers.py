"""Trigger definitions (in the merchant's cached config partition) and per-customer usage counters."""

from __future__ import annotations

from typing import Any

from pollen.domain.triggers import Trigger, TriggerUsage
from pollen.storage.keys import trigger_count_key, trigger_key
from pollen.storage.merchant_config import MerchantConfig
from pollen.storage.transactions import Transaction

TRIGGER_ENTITY = "trigger"
USAGE_ENTITY = "trigger_usage"


def trigger_item(merchant_id: str, trigger: Trigger) -> dict[str, Any]:
    return {
        **trigger_key(merchant_id, trigger.trigger_id).as_dict(),
        "entity": TRIGGER_ENTITY,
        "merchant_id": merchant_id,
        **trigger.model_dump(mode="json"),
    }


def triggers_of(config: MerchantConfig) -> dict[str, Trigger]:
    return {
        item["trigger_id"]: Trigger.model_validate(
            {k: v for k, v in item.items() if k in Trigger.model_fields}
        )
        for item in config.items.values()
        if item.get("entity") == TRIGGER_ENTITY
    }


def parse_usage(item: dict[str, Any] | None) -> TriggerUsage:
    return TriggerUsage.model_validate(item) if item else TriggerUsage()


def put_usage(
    tx: Transaction,
    merchant_id: str,
    customer_id: str,
    *,
    trigger_id: str,
    before: TriggerUsage,
    after: TriggerUsage,
) -> None:
    """Guarded by the count it was read at, so two concurrent awards cannot both count as the first."""
    item = {
        **trigger_count_key(merchant_id, customer_id, trigger_id).as_dict(),
        "entity": USAGE_ENTITY,
        **after.model_dump(mode="json"),
    }
    if before.count == 0:
        tx.put(item, label="trigger-usage", condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item,
            label="trigger-usage",
            condition="#c = :c",
            names={"#c": "count"},
            values={":c": before.count},
        )
