"""The repositories of the merchant's settings (rewards, widget, token keyring, tier program, events
configuration): what the admin API edits. :class:`pollen.services.unit_of_work.UnitOfWork` builds
them on first use, so a function that never edits settings never imports this module."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.customer_tokens import Keyring
from pollen.domain.integrations import Integration, Subscription
from pollen.domain.rewards import Reward
from pollen.domain.tiers import TierProgram
from pollen.domain.widget import StoredWidgetSettings
from pollen.services.unit_of_work import UnitOfWork
from pollen.storage.ports import (
    DeleteIntegration,
    DeleteReward,
    DeleteSubscription,
    IntegrationRef,
    KeyringRef,
    SaveEventsSwitch,
    SaveIntegration,
    SaveKeyring,
    SaveReward,
    SaveSubscription,
    SaveTierJob,
    SaveTierProgram,
    SaveWidgetSettings,
    SubscriptionRef,
    TierJobRef,
)
from pollen.storage.tiers import JobStatus


class Rewards:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def save(self, reward: Reward) -> None:
        self._uow.stage(SaveReward(reward))

    def delete(self, reward_id: str) -> None:
        self._uow.stage(DeleteReward(reward_id))


class WidgetSettings:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def save(self, settings: StoredWidgetSettings) -> None:
        self._uow.stage(SaveWidgetSettings(settings))


class TokenKeyring:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def fetch(self) -> Keyring:
        """The stored keyring, read now (one GetItem); an empty one at version 0 when there is none."""
        found = self._uow.fetch(KeyringRef())
        return found if isinstance(found, Keyring) else Keyring()

    def save(self, ring: Keyring) -> None:
        """Guarded: the stored keyring must still be at ``ring.version - 1``."""
        self._uow.stage(SaveKeyring(ring))


class Tiers:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def save(self, program: TierProgram, *, expected_version: int) -> None:
        """Guarded by ``expected_version`` (0: there must be no tier program yet)."""
        self._uow.stage(SaveTierProgram(program, expected_version))

    def job(self) -> JobStatus:
        """The re-evaluation's progress, read now (one GetItem); idle when it never ran."""
        found = self._uow.fetch(TierJobRef())
        return found if isinstance(found, JobStatus) else JobStatus()

    def save_job(self, status: JobStatus) -> None:
        self._uow.stage(SaveTierJob(status))


class EventConfig:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def integration(self, integration_id: str) -> Integration | None:
        found = self._uow.fetch(IntegrationRef(integration_id))
        return found if isinstance(found, Integration) else None

    def subscription(self, subscription_id: str) -> Subscription | None:
        found = self._uow.fetch(SubscriptionRef(subscription_id))
        return found if isinstance(found, Subscription) else None

    def subscriptions(self) -> list[Subscription]:
        return self._uow.store.subscriptions(self._uow.merchant_id)

    def save_integration(self, integration: Integration, *, replacing: Integration | None) -> None:
        self._uow.stage(SaveIntegration(integration, replacing.updated_at if replacing else None))

    def delete_integration(self, integration_id: str) -> None:
        self._uow.stage(DeleteIntegration(integration_id))

    def save_subscription(self, subscription: Subscription, *, replacing: Subscription | None) -> None:
        self._uow.stage(SaveSubscription(subscription, replacing.updated_at if replacing else None))

    def delete_subscription(self, subscription_id: str) -> None:
        self._uow.stage(DeleteSubscription(subscription_id))

    def switch(self, *, enabled: bool, at: datetime) -> None:
        self._uow.stage(SaveEventsSwitch(enabled, at))
