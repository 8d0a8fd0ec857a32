"""How the table store writes and reads the merchant's settings (program, shop, catalogue, tiers,
access, events configuration). Apart from :mod:`pollen.storage.unit_of_work` so the functions whose
use cases never touch settings (wallet, redemption, webhooks) do not load these item shapes on their
first request; the store imports this module when a settings change or reference shows up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pollen.clock import isoformat
from pollen.domain.integrations import Subscription
from pollen.storage.api_keys import api_key_item, stage_revocation
from pollen.storage.customer_tokens import parse_keyring, put_keyring
from pollen.storage.event_config import (
    SUBSCRIPTION_ENTITY,
    events_settings_item,
    integration_item,
    parse_integration,
    parse_subscription,
    subscription_item,
)
from pollen.storage.keys import (
    Key,
    config_pk,
    integration_key,
    reward_key,
    subscription_key,
    token_keyring_key,
    trigger_key,
)
from pollen.storage.merchant_config import merchant_item, program_item, shopify_item
from pollen.storage.ports import (
    AccessChange,
    AddApiKey,
    AddMerchant,
    CatalogueChange,
    DeleteIntegration,
    DeleteReward,
    DeleteSubscription,
    DeleteTrigger,
    EventsChange,
    IntegrationRef,
    KeyringRef,
    Loaded,
    SaveIntegration,
    SaveKeyring,
    SaveProgram,
    SaveReward,
    SaveShopify,
    SaveSubscription,
    SaveTierJob,
    SaveTierProgram,
    SaveTrigger,
    SettingsChange,
    SettingsRef,
    SubscriptionRef,
    TierJobRef,
)
from pollen.storage.rewards import reward_item
from pollen.storage.table import Table
from pollen.storage.tiers import parse_status, put_tiers, status_item, status_key
from pollen.storage.transactions import Transaction
from pollen.storage.triggers import trigger_item
from pollen.storage.widget import put_widget_settings


def settings_key(merchant_id: str, ref: SettingsRef) -> Key:
    match ref:
        case KeyringRef():
            return token_keyring_key(merchant_id)
        case TierJobRef():
            return status_key(merchant_id)
        case IntegrationRef(integration_id):
            return integration_key(merchant_id, integration_id)
        case SubscriptionRef(subscription_id):
            return subscription_key(merchant_id, subscription_id)


def parse_setting(ref: SettingsRef, item: dict[str, Any]) -> Loaded:
    match ref:
        case KeyringRef():
            return parse_keyring(item)
        case TierJobRef():
            return parse_status(item)
        case IntegrationRef():
            return parse_integration(item)
        case SubscriptionRef():
            return parse_subscription(item)


def subscriptions(table: Table, merchant_id: str) -> list[Subscription]:
    """Every event subscription of the merchant (one strongly consistent Query)."""
    items = table.query_all(config_pk(merchant_id), sk_prefix="SUBSCRIPTION#", consistent=True)
    return [parse_subscription(item) for item in items if item.get("entity") == SUBSCRIPTION_ENTITY]


def stage_settings(tx: Transaction, merchant_id: str, change: SettingsChange) -> None:
    if isinstance(change, AddMerchant):
        tx.put_new(merchant_item(change.merchant), label="merchant")
        tx.put(program_item(merchant_id, change.program), label="program")
        if change.shopify is not None:
            tx.put(shopify_item(merchant_id, change.shopify), label="shopify")
    elif isinstance(change, SaveShopify):
        tx.put(shopify_item(merchant_id, change.connection), label="shopify")
    elif isinstance(change, CatalogueChange):
        _stage_catalogue(tx, merchant_id, change)
    elif isinstance(change, SaveProgram):
        item = program_item(merchant_id, change.program)
        if change.expected_version is None:
            tx.put_new(item, label="program")
        else:
            tx.put_at(item, label="program", attr="version", seen=change.expected_version)
    elif isinstance(change, SaveTierProgram):
        put_tiers(tx, merchant_id, change.program, expected_version=change.expected_version)
    elif isinstance(change, SaveTierJob):
        tx.put(status_item(merchant_id, change.status), label="tier-job")
    elif isinstance(change, EventsChange):
        _stage_events(tx, merchant_id, change)
    else:
        _stage_access(tx, merchant_id, change)


def _guarded(tx: Transaction, item: dict[str, Any], *, label: str, seen: datetime | None) -> None:
    """Put ``item`` only if what was read is still there (same ``updated_at``), or still absent."""
    if seen is None:
        tx.put_new(item, label=label)
    else:
        tx.put_at(item, label=label, attr="updated_at", seen=isoformat(seen))


def _stage_events(tx: Transaction, merchant_id: str, change: EventsChange) -> None:
    """Where the merchant's events go: integrations, subscriptions and the switch."""
    if isinstance(change, SaveIntegration):
        item = integration_item(merchant_id, change.integration)
        _guarded(tx, item, label="integration", seen=change.seen_updated_at)
    elif isinstance(change, DeleteIntegration):
        tx.delete_existing(integration_key(merchant_id, change.integration_id), label="integration")
    elif isinstance(change, SaveSubscription):
        subscription = change.subscription
        item = subscription_item(merchant_id, subscription)
        _guarded(tx, item, label="subscription", seen=change.seen_updated_at)
        tx.check_exists(integration_key(merchant_id, subscription.integration_id), label="integration")
    elif isinstance(change, DeleteSubscription):
        tx.delete_existing(subscription_key(merchant_id, change.subscription_id), label="subscription")
    else:
        tx.put(
            events_settings_item(merchant_id, enabled=change.enabled, updated_at=change.updated_at),
            label="settings",
        )


def _stage_access(tx: Transaction, merchant_id: str, change: AccessChange) -> None:
    """Who may call: API keys and the customer-token keyring."""
    if isinstance(change, SaveKeyring):
        put_keyring(tx, merchant_id, change.ring)
    elif isinstance(change, AddApiKey):
        tx.put_new(api_key_item(change.key), label="api_key")
    else:
        stage_revocation(tx, merchant_id, change.key_id, at=change.at)


def _stage_catalogue(tx: Transaction, merchant_id: str, change: CatalogueChange) -> None:
    """What the storefront offers: triggers, rewards, the widget's settings."""
    if isinstance(change, SaveTrigger):
        tx.put(trigger_item(merchant_id, change.trigger), label="trigger")
    elif isinstance(change, DeleteTrigger):
        tx.delete(trigger_key(merchant_id, change.trigger_id), label="trigger")
    elif isinstance(change, SaveReward):
        tx.put(reward_item(merchant_id, change.reward), label="reward")
    elif isinstance(change, DeleteReward):
        tx.delete(reward_key(merchant_id, change.reward_id), label="reward")
    else:
        put_widget_settings(tx, merchant_id, change.settings, base=change.settings.version - 1)
