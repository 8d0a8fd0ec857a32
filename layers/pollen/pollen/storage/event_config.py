"""Integrations, event subscriptions and the events switch, in the merchant's config partition.

SKs ``INTEGRATION#{id}``, ``SUBSCRIPTION#{id}`` and ``EVENTS`` under ``config_pk(m)``, so
:class:`~pollen.storage.merchant_config.MerchantConfigStore` reads them in its one cached Query and
routing an event costs no DynamoDB call on a warm container.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pollen.clock import isoformat
from pollen.domain.integrations import EventsConfig, Integration, Subscription
from pollen.storage.keys import events_settings_key, integration_key, subscription_key
from pollen.storage.merchant_config import MerchantConfig

INTEGRATION_ENTITY = "integration"
SUBSCRIPTION_ENTITY = "event_subscription"
EVENTS_SETTINGS_ENTITY = "events_settings"


def integration_item(merchant_id: str, integration: Integration) -> dict[str, Any]:
    return {
        **integration_key(merchant_id, integration.integration_id).as_dict(),
        "entity": INTEGRATION_ENTITY,
        "merchant_id": merchant_id,
        **integration.model_dump(mode="json", exclude={"created_at", "updated_at"}),
        "created_at": isoformat(integration.created_at),
        "updated_at": isoformat(integration.updated_at),
    }


def subscription_item(merchant_id: str, subscription: Subscription) -> dict[str, Any]:
    return {
        **subscription_key(merchant_id, subscription.subscription_id).as_dict(),
        "entity": SUBSCRIPTION_ENTITY,
        "merchant_id": merchant_id,
        **subscription.model_dump(mode="json", exclude={"created_at", "updated_at", "filters"}),
        "filters": subscription.filters.used(),
        "created_at": isoformat(subscription.created_at),
        "updated_at": isoformat(subscription.updated_at),
    }


def events_settings_item(merchant_id: str, *, enabled: bool, updated_at: datetime) -> dict[str, Any]:
    return {
        **events_settings_key(merchant_id).as_dict(),
        "entity": EVENTS_SETTINGS_ENTITY,
        "merchant_id": merchant_id,
        "enabled": enabled,
        "updated_at": isoformat(updated_at),
    }


def _fields(item: dict[str, Any], model: type[Integration] | type[Subscription]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in model.model_fields}


def parse_integration(item: dict[str, Any]) -> Integration:
    return Integration.model_validate(_fields(item, Integration))


def parse_subscription(item: dict[str, Any]) -> Subscription:
    return Subscription.model_validate(_fields(item, Subscription))


def events_config(config: MerchantConfig) -> EventsConfig:
    """The merchant's integrations, subscriptions (oldest first) and switch (on unless turned off)."""
    integrations: dict[str, Integration] = {}
    subscriptions: list[Subscription] = []
    enabled = True
    for item in config.items.values():
        entity = item.get("entity")
        if entity == INTEGRATION_ENTITY:
            integration = parse_integration(item)
            integrations[integration.integration_id] = integration
        elif entity == SUBSCRIPTION_ENTITY:
            subscriptions.append(parse_subscription(item))
        elif entity == EVENTS_SETTINGS_ENTITY:
            enabled = bool(item.get("enabled", True))
    subscriptions.sort(key=lambda s: s.subscription_id)
    return EventsConfig(enabled=enabled, integrations=integrations, subscriptions=subscriptions)
