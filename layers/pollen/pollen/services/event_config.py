"""The merchant's events configuration: integrations, subscriptions and the global switch.

Reads come from the cached config partition; writes read what they replace consistently, commit
conditionally (a concurrent change is a 409 to retry, never a lost update) together with an internal
outbox event (credentials masked, as for every config change), then invalidate this container's
config cache so it reads its own writes.

Deleting an integration that subscriptions still use is a 409 naming them (no silent cascade): the
merchant deletes or moves those subscriptions first. A subscription created at the same instant as
its integration is deleted can survive it; it then routes nowhere (routing skips subscriptions whose
integration is missing) until an integration of that id exists again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pollen.clock import isoformat
from pollen.domain.errors import Conflict, FieldError, NotFound, RetryableConflict, ValidationFailed
from pollen.domain.integrations import (
    EventsConfig,
    Integration,
    Subscription,
    SubscriptionInput,
    ToolIntegrationInput,
    WebhookIntegrationInput,
    build_integration,
    build_subscription,
    check_subscription,
    mask,
)
from pollen.events.catalogue import DELIVERABLE
from pollen.ids import new_ulid
from pollen.services.container import Container
from pollen.services.merchants import merchant_config
from pollen.storage.errors import ConditionFailed
from pollen.storage.event_config import EVENTS_SETTINGS_ENTITY, events_config
from pollen.storage.keys import events_settings_key

if TYPE_CHECKING:
    from pollen.events.internal import IntegrationUpdatedPayload
    from pollen.services.unit_of_work import UnitOfWork

INTEGRATION_UPDATED = "integration_updated"
INTEGRATION_DELETED = "integration_deleted"
SUBSCRIPTION_UPDATED = "event_subscription_updated"
SUBSCRIPTION_DELETED = "event_subscription_deleted"
EVENTS_SETTINGS_UPDATED = "events_settings_updated"


def current(c: Container, merchant_id: str) -> EventsConfig:
    config = merchant_config(c, merchant_id)
    return events_config(config)


def _stored_precision(now: datetime) -> datetime:
    """Items keep milliseconds; answer with the time as it will read back."""
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _audit(integration: Integration) -> IntegrationUpdatedPayload:
    """What the outbox may say about an integration: never its credentials."""
    from pollen.events.internal import IntegrationUpdatedPayload  # noqa: PLC0415 - write paths only

    return IntegrationUpdatedPayload.model_validate(
        {
            **integration.model_dump(mode="json", exclude={"api_key", "secret"}),
            "masked_api_key": mask(integration.api_key) if integration.api_key else None,
            "masked_secret": mask(integration.secret) if integration.secret else None,
        }
    )


def _commit(c: Container, merchant_id: str, uow: UnitOfWork, now: datetime) -> None:
    try:
        uow.commit(now=now)
    finally:
        c.config.invalidate(merchant_id)


# ---- integrations --------------------------------------------------------------------------------


def list_integrations(c: Container, merchant_id: str) -> list[Integration]:
    return sorted(current(c, merchant_id).integrations.values(), key=lambda i: i.integration_id)


def get_integration(c: Container, merchant_id: str, integration_id: str) -> Integration:
    integration = current(c, merchant_id).integrations.get(integration_id)
    if integration is None:
        raise NotFound("No integration with this id.")
    return integration


def put_integration(
    c: Container,
    merchant_id: str,
    integration_id: str,
    body: ToolIntegrationInput | WebhookIntegrationInput,
    *,
    now: datetime,
) -> tuple[Integration, bool, str | None]:
    """Create or replace. Returns the integration, whether it is new, and the webhook secret generated
    for it (to show once), if one was. A new or changed Klaviyo/Omnisend key is checked with the
    service first: a key it refuses is a 422 and nothing is written (see ``last_key_check``)."""
    now = _stored_precision(now)
    current(c, merchant_id)  # the merchant exists
    uow = c.units.begin(merchant_id)
    existing = uow.events_config.integration(integration_id)
    integration, generated = build_integration(integration_id, body, existing, now=now)
    if integration.api_key and (existing is None or existing.api_key != integration.api_key):
        from pollen.integrations.key_check import check_key  # noqa: PLC0415 - httpx on use

        checked = check_key(c.http.client, integration)
        if checked.status == "rejected":
            raise ValidationFailed(checked.detail, errors=[FieldError("api_key", checked.detail, "rejected")])
        integration = integration.model_copy(
            update={"key_check": checked.status, "key_check_detail": checked.detail}
        )
    elif existing is not None:
        integration = integration.model_copy(
            update={"key_check": existing.key_check, "key_check_detail": existing.key_check_detail}
        )
    uow.events_config.save_integration(integration, replacing=existing)
    uow.emit(INTEGRATION_UPDATED, _audit(integration), customer_id=None, now=now)
    try:
        _commit(c, merchant_id, uow, now)
    except ConditionFailed as exc:
        raise RetryableConflict("The integration was changed concurrently; retry the request.") from exc
    return integration, existing is None, generated


def delete_integration(c: Container, merchant_id: str, integration_id: str, *, now: datetime) -> None:
    """404 if absent; 409 naming the subscriptions that still send to it."""
    now = _stored_precision(now)
    current(c, merchant_id)
    uow = c.units.begin(merchant_id)
    users = sorted(
        s.subscription_id for s in uow.events_config.subscriptions() if s.integration_id == integration_id
    )
    if users:
        raise Conflict(
            f"Subscriptions still send events to this integration: {', '.join(users)}. "
            "Delete them, or point them at another integration, first."
        )
    uow.events_config.delete_integration(integration_id)
    from pollen.events.internal import IntegrationDeletedPayload  # noqa: PLC0415 - write paths only

    deleted = IntegrationDeletedPayload(integration_id=integration_id)
    uow.emit(INTEGRATION_DELETED, deleted, customer_id=None, now=now)
    try:
        _commit(c, merchant_id, uow, now)
    except ConditionFailed as exc:
        raise NotFound("No integration with this id.") from exc


# ---- subscriptions -------------------------------------------------------------------------------


def list_subscriptions(c: Container, merchant_id: str) -> list[Subscription]:
    return current(c, merchant_id).subscriptions


def get_subscription(c: Container, merchant_id: str, subscription_id: str) -> Subscription:
    for subscription in current(c, merchant_id).subscriptions:
        if subscription.subscription_id == subscription_id:
            return subscription
    raise NotFound("No event subscription with this id.")


def _write_subscription(
    c: Container,
    uow: UnitOfWork,
    subscription_id: str,
    body: SubscriptionInput,
    existing: Subscription | None,
    *,
    now: datetime,
) -> Subscription:
    merchant_id = uow.merchant_id
    now = _stored_precision(now)
    check_subscription(body, current(c, merchant_id).integrations, DELIVERABLE)
    subscription = build_subscription(subscription_id, body, existing, now=now)
    # The save also checks the integration still exists (the cache may be behind).
    uow.events_config.save_subscription(subscription, replacing=existing)
    uow.emit(SUBSCRIPTION_UPDATED, subscription, customer_id=None, now=now)  # the definition is the payload
    try:
        _commit(c, merchant_id, uow, now)
    except ConditionFailed as exc:
        if "integration" in exc.labels:
            message = "No integration with this id."
            raise ValidationFailed(
                message, errors=[FieldError("integration_id", message, "unknown")]
            ) from exc
        raise RetryableConflict("The subscription was changed concurrently; retry the request.") from exc
    return subscription


def create_subscription(
    c: Container, merchant_id: str, body: SubscriptionInput, *, now: datetime
) -> Subscription:
    return _write_subscription(c, c.units.begin(merchant_id), new_ulid(), body, None, now=now)


def replace_subscription(
    c: Container, merchant_id: str, subscription_id: str, body: SubscriptionInput, *, now: datetime
) -> Subscription:
    uow = c.units.begin(merchant_id)
    existing = uow.events_config.subscription(subscription_id)
    if existing is None:
        raise NotFound("No event subscription with this id.")
    return _write_subscription(c, uow, subscription_id, body, existing, now=now)


def delete_subscription(c: Container, merchant_id: str, subscription_id: str, *, now: datetime) -> None:
    now = _stored_precision(now)
    uow = c.units.begin(merchant_id)
    uow.events_config.delete_subscription(subscription_id)
    from pollen.events.internal import SubscriptionDeletedPayload  # noqa: PLC0415 - write paths only

    deleted = SubscriptionDeletedPayload(subscription_id=subscription_id)
    uow.emit(SUBSCRIPTION_DELETED, deleted, customer_id=None, now=now)
    try:
        _commit(c, merchant_id, uow, now)
    except ConditionFailed as exc:
        raise NotFound("No event subscription with this id.") from exc


# ---- the switch ----------------------------------------------------------------------------------


def get_settings(c: Container, merchant_id: str) -> tuple[bool, datetime | None]:
    """The switch and when it was last set (None: never set, so on)."""
    config = merchant_config(c, merchant_id)
    item = config.items.get(events_settings_key(merchant_id).sk)
    if item is None or item.get("entity") != EVENTS_SETTINGS_ENTITY:
        return True, None
    return bool(item["enabled"]), datetime.fromisoformat(str(item["updated_at"]))


def put_settings(c: Container, merchant_id: str, *, enabled: bool, now: datetime) -> tuple[bool, datetime]:
    now = _stored_precision(now)
    current(c, merchant_id)
    uow = c.units.begin(merchant_id)
    uow.events_config.switch(enabled=enabled, at=now)
    from pollen.events.internal import EventsSwitchPayload  # noqa: PLC0415 - write paths only

    switched = EventsSwitchPayload(enabled=enabled, updated_at=isoformat(now))
    uow.emit(EVENTS_SETTINGS_UPDATED, switched, customer_id=None, now=now)
    _commit(c, merchant_id, uow, now)
    return enabled, now
