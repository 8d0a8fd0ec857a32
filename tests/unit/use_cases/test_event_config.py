"""Where the merchant's events go, as use cases on fakes: an integration is written over what was read,
its audit event never carries a credential, and one still in use is not deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pollen.domain.errors import Conflict, NotFound
from pollen.domain.integrations import IntegrationKind, Subscription, WebhookIntegrationInput
from pollen.services.container import Container
from pollen.services.event_config import delete_integration, put_integration, put_settings
from pollen.storage.ports import DeleteSubscription, IntegrationRef, SaveSubscription
from tests.support.fakes import FakeStore

from .conftest import NOW, M

HOOK = WebhookIntegrationInput(kind=IntegrationKind.WEBHOOK, url="https://hooks.example.com/pollen")


def test_an_integration_is_written_over_what_was_read_and_audited_without_its_secret(
    c: Container, store: FakeStore
) -> None:
    created, new, secret = put_integration(c, M, "hook", HOOK, now=NOW)
    assert new
    assert secret is not None
    assert store.items[(M, IntegrationRef("hook"))] == created
    replaced, new, _ = put_integration(c, M, "hook", HOOK, now=NOW + timedelta(seconds=1))
    assert not new
    assert (replaced.secret, replaced.created_at) == (created.secret, created.created_at)  # kept
    audits = store.events("integration_updated")
    assert [a.payload["integration_id"] for a in audits] == ["hook", "hook"]
    assert all(secret not in str(a.payload) and a.payload["masked_secret"] for a in audits)
    assert store.calls.log == ["get", "commit", "get", "commit"]


def test_an_integration_in_use_is_not_deleted(c: Container, store: FakeStore) -> None:
    put_integration(c, M, "hook", HOOK, now=NOW)
    sub = Subscription(
        subscription_id="s1",
        event="wallet_transaction",
        integration_id="hook",
        created_at=NOW,
        updated_at=NOW,
    )
    store.commit(M, [SaveSubscription(sub, None)])
    with pytest.raises(Conflict, match="s1"):
        delete_integration(c, M, "hook", now=NOW)
    assert (M, IntegrationRef("hook")) in store.items
    store.commit(M, [DeleteSubscription("s1")])
    delete_integration(c, M, "hook", now=NOW)
    assert (M, IntegrationRef("hook")) not in store.items
    assert [e.payload for e in store.events("integration_deleted")] == [{"integration_id": "hook"}]
    with pytest.raises(NotFound):
        delete_integration(c, M, "hook", now=NOW)


def test_the_switch_is_saved_with_its_event(c: Container, store: FakeStore) -> None:
    enabled, at = put_settings(c, M, enabled=False, now=NOW)
    assert (enabled, store.events_switch[M].enabled) == (False, False)
    [event] = store.events("events_settings_updated")
    assert event.payload["enabled"] is False
    assert at == NOW
