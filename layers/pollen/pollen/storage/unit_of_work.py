"""The unit of work's store on the table: one ``BatchGetItem`` in, one ``TransactWriteItems`` out.

Keys, item shapes and condition expressions of what a unit of work reads and commits are here and
in the modules it calls (customers, coupons, receipts), never in the services.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pollen.clock import isoformat
from pollen.domain.integrations import Subscription
from pollen.storage.api_keys import api_key_item, stage_revocation
from pollen.storage.coupons import delete_pending_marker, parse_coupon_item, put_coupon, put_pending_marker
from pollen.storage.customer_tokens import parse_keyring, put_keyring
from pollen.storage.customers import ledger_item, parse_customer_item, put_customer
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
    coupon_key,
    customer_key,
    integration_key,
    program_key,
    receipt_key,
    reward_key,
    subscription_key,
    token_keyring_key,
    trigger_key,
)
from pollen.storage.merchant_config import merchant_item, parse_program_item, program_item, shopify_item
from pollen.storage.ports import (
    AddApiKey,
    AddMerchant,
    Change,
    ClearPending,
    CouponRef,
    CustomerRef,
    DeleteIntegration,
    DeleteReward,
    DeleteSubscription,
    DeleteTrigger,
    Emit,
    IntegrationRef,
    KeyringRef,
    Loaded,
    MarkPending,
    ProgramRef,
    ReceiptRef,
    Ref,
    ReleaseReceipt,
    RevokeApiKey,
    SaveCoupon,
    SaveCustomer,
    SaveEventsSwitch,
    SaveIntegration,
    SaveKeyring,
    SaveProgram,
    SaveReward,
    SaveShopify,
    SaveSubscription,
    SaveTierJob,
    SaveTierProgram,
    SaveTrigger,
    SaveWidgetSettings,
    SubscriptionRef,
    TierJobRef,
    WriteReceipt,
)
from pollen.storage.receipts import Receipt
from pollen.storage.rewards import reward_item
from pollen.storage.table import Table
from pollen.storage.tiers import parse_status, put_tiers, status_item, status_key
from pollen.storage.transactions import Transaction
from pollen.storage.triggers import trigger_item
from pollen.storage.widget import put_widget_settings


def _key(merchant_id: str, ref: Ref) -> Key:  # noqa: PLR0911 - one line per kind of reference
    match ref:
        case CustomerRef(customer_id):
            return customer_key(merchant_id, customer_id)
        case CouponRef(code):
            return coupon_key(merchant_id, code)
        case ProgramRef():
            return program_key(merchant_id)
        case KeyringRef():
            return token_keyring_key(merchant_id)
        case TierJobRef():
            return status_key(merchant_id)
        case IntegrationRef(integration_id):
            return integration_key(merchant_id, integration_id)
        case SubscriptionRef(subscription_id):
            return subscription_key(merchant_id, subscription_id)
        case ReceiptRef(scope, key):
            return receipt_key(merchant_id, scope, key)


_PARSERS: dict[type[Ref], Callable[[dict[str, Any]], Loaded]] = {
    CustomerRef: parse_customer_item,
    CouponRef: parse_coupon_item,
    ProgramRef: parse_program_item,
    KeyringRef: parse_keyring,
    TierJobRef: parse_status,
    IntegrationRef: parse_integration,
    SubscriptionRef: parse_subscription,
    ReceiptRef: Receipt.from_item,
}


def _parse(ref: Ref, item: dict[str, Any]) -> Loaded:
    return _PARSERS[type(ref)](item)


class DynamoStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def read(self, merchant_id: str, refs: Sequence[Ref]) -> dict[Ref, Loaded]:
        if not refs:
            return {}
        keys = {_key(merchant_id, ref): ref for ref in refs}
        found = self._table.batch_get(list(keys))
        return {keys[key]: _parse(keys[key], item) for key, item in found.items()}

    def get(self, merchant_id: str, ref: Ref) -> Loaded | None:
        item = self._table.get(_key(merchant_id, ref), consistent=True)
        return _parse(ref, item) if item else None

    def subscriptions(self, merchant_id: str) -> list[Subscription]:
        items = self._table.query_all(config_pk(merchant_id), sk_prefix="SUBSCRIPTION#", consistent=True)
        return [parse_subscription(item) for item in items if item.get("entity") == SUBSCRIPTION_ENTITY]

    def commit(self, merchant_id: str, changes: Sequence[Change]) -> None:
        tx = self._table.transaction()
        events = 0
        for change in changes:
            events += _stage(tx, merchant_id, change, events)
        tx.commit()


_Catalogue = SaveTrigger | DeleteTrigger | SaveReward | DeleteReward | SaveWidgetSettings
_Tiers = SaveTierProgram | SaveTierJob
_Access = SaveKeyring | AddApiKey | RevokeApiKey
_Events = SaveIntegration | DeleteIntegration | SaveSubscription | DeleteSubscription | SaveEventsSwitch
_Settings = SaveProgram | AddMerchant | SaveShopify | _Catalogue | _Tiers | _Access | _Events


def _stage(tx: Transaction, merchant_id: str, change: Change, events: int) -> int:
    """Add one change to ``tx``; returns how many outbox events it added (for unique labels)."""
    if isinstance(change, SaveCustomer):
        put_customer(
            tx,
            merchant_id,
            change.after,
            expected_version=change.expected_version,
            reminder_days=change.reminder_days,
        )
        customer_id = change.after.customer.customer_id
        for n, (entry, event) in enumerate(zip(change.entries, change.events, strict=True)):
            tx.put(ledger_item(merchant_id, customer_id, entry), label=f"ledger-{n}")
            tx.put(event.to_item(), label=f"ledger-event-{n}")
    elif isinstance(change, SaveCoupon):
        put_coupon(tx, merchant_id, change.coupon, expected_version=change.expected_version)
    elif isinstance(change, MarkPending):
        put_pending_marker(tx, merchant_id, change.coupon, change.at)
    elif isinstance(change, ClearPending):
        delete_pending_marker(tx, merchant_id, change.code)
    elif isinstance(change, _Settings):
        _stage_settings(tx, merchant_id, change)
    elif isinstance(change, Emit):
        tx.put(change.event.to_item(), label=f"event-{events}")
        return 1
    elif isinstance(change, WriteReceipt):
        tx.receipt(change.receipt.to_item())
    elif isinstance(change, ReleaseReceipt):
        tx.delete(receipt_key(merchant_id, change.scope, change.key), label="receipt-release")
    return 0


def _stage_settings(tx: Transaction, merchant_id: str, change: _Settings) -> None:
    if isinstance(change, AddMerchant):
        tx.put_new(merchant_item(change.merchant), label="merchant")
        tx.put(program_item(merchant_id, change.program), label="program")
        if change.shopify is not None:
            tx.put(shopify_item(merchant_id, change.shopify), label="shopify")
    elif isinstance(change, SaveShopify):
        tx.put(shopify_item(merchant_id, change.connection), label="shopify")
    elif isinstance(change, _Catalogue):
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
    elif isinstance(change, _Events):
        _stage_events(tx, merchant_id, change)
    else:
        _stage_access(tx, merchant_id, change)


def _guarded(tx: Transaction, item: dict[str, Any], *, label: str, seen: datetime | None) -> None:
    """Put ``item`` only if what was read is still there (same ``updated_at``), or still absent."""
    if seen is None:
        tx.put_new(item, label=label)
    else:
        tx.put_at(item, label=label, attr="updated_at", seen=isoformat(seen))


def _stage_events(tx: Transaction, merchant_id: str, change: _Events) -> None:
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


def _stage_access(tx: Transaction, merchant_id: str, change: _Access) -> None:
    """Who may call: API keys and the customer-token keyring."""
    if isinstance(change, SaveKeyring):
        put_keyring(tx, merchant_id, change.ring)
    elif isinstance(change, AddApiKey):
        tx.put_new(api_key_item(change.key), label="api_key")
    else:
        stage_revocation(tx, merchant_id, change.key_id, at=change.at)


def _stage_catalogue(tx: Transaction, merchant_id: str, change: _Catalogue) -> None:
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
