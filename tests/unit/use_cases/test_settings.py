"""Program settings, API keys, triggers, rewards and the widget as use cases on fakes: versions guard
the program and the widget, a key is revoked once, and each change carries its internal event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.seed import DEMO_TIERS
from pollen.domain.api_keys import Scope
from pollen.domain.customer_tokens import Keyring
from pollen.domain.errors import Conflict, NotFound, PreconditionFailed, RetryableConflict
from pollen.domain.merchants import Merchant
from pollen.domain.program import default_settings
from pollen.domain.triggers import TriggerSettings
from pollen.domain.widget import WidgetSettings
from pollen.events.internal import ApiKeyRevokedPayload, MerchantCreatedPayload, ProgramUpdatedPayload
from pollen.services.api_keys import create_key, revoke_key
from pollen.services.container import Container
from pollen.services.customer_tokens import rotate_secret
from pollen.services.merchants import onboard_merchant
from pollen.services.program import update_program
from pollen.services.rewards import delete_reward, put_reward
from pollen.services.tiers import job_status, put_tier_program
from pollen.services.triggers import put_trigger
from pollen.services.widget import update_settings
from pollen.storage.ports import KeyringRef, SaveKeyring
from tests.support.fakes import FakeStore

from .conftest import FIVE_OFF, NOW, M


def test_program_versions_move_one_at_a_time(c: Container, store: FakeStore) -> None:
    first = update_program(c, M, default_settings("EUR"), now=NOW)
    second = update_program(c, M, default_settings("EUR"), now=NOW, expected_version=1)
    assert (first.version, second.version) == (1, 2)
    with pytest.raises(PreconditionFailed):
        update_program(c, M, default_settings("EUR"), now=NOW, expected_version=1)  # a stale If-Match
    events = store.events("program_updated")
    assert [ProgramUpdatedPayload.model_validate(e.payload).version for e in events] == [1, 2]
    assert store.calls.log == ["get", "commit", "commit", "commit"]


def test_a_key_is_revoked_once(c: Container, store: FakeStore) -> None:
    key, plaintext = create_key(c, M, name="app", scope=Scope.READ, now=NOW)
    assert plaintext.startswith(f"pollen.{M}.")
    revoke_key(c, M, key.key_id, now=NOW)
    revoke_key(c, M, key.key_id, now=NOW)  # idempotent: no second event
    assert store.api_keys[(M, key.key_id)].revoked_at == NOW
    assert [
        ApiKeyRevokedPayload.model_validate(e.payload).key_id for e in store.events("api_key_revoked")
    ] == [key.key_id]
    with pytest.raises(NotFound):
        revoke_key(c, M, "no-such-key", now=NOW)


def test_a_trigger_definition_is_saved_with_its_event(c: Container, store: FakeStore) -> None:
    trigger, created = put_trigger(c, M, "signup", TriggerSettings(coins=50, name="Sign-up"), now=NOW)
    assert created
    assert store.triggers[(M, "signup")] == trigger
    [event] = store.events("trigger_updated")
    assert event.payload == trigger.model_dump(mode="json")
    assert store.calls.log == ["commit"]


def test_a_reward_is_saved_with_its_event_and_deleted(c: Container, store: FakeStore) -> None:
    reward, created = put_reward(c, M, "ten-off", FIVE_OFF.settings, now=NOW)
    assert created
    assert store.rewards[(M, "ten-off")] == reward
    [event] = store.events("reward_updated")
    assert event.payload == reward.model_dump(mode="json")
    delete_reward(c, M, "five-off")  # the catalogue the config cache holds
    assert store.calls.log == ["commit", "commit"]
    with pytest.raises(NotFound):
        delete_reward(c, M, "no-such-reward")
    assert store.calls.log == ["commit", "commit"]  # nothing written for a reward that is not there


def test_widget_settings_move_one_version_at_a_time(c: Container, store: FakeStore) -> None:
    saved = update_settings(c, M, WidgetSettings(), now=NOW, expected_version=None)
    assert saved.version == 1
    assert store.widget_settings[M] == saved
    # the config cache still says version 0: a stale If-Match is a 412, a blind write a retryable 409
    with pytest.raises(PreconditionFailed):
        update_settings(c, M, WidgetSettings(), now=NOW, expected_version=0)
    with pytest.raises(RetryableConflict):
        update_settings(c, M, WidgetSettings(), now=NOW, expected_version=None)
    assert store.widget_settings[M] == saved
    assert update_settings(c, M, WidgetSettings(), now=NOW, expected_version=1).version == 2


def test_token_secrets_rotate_one_version_at_a_time_with_their_event(c: Container, store: FakeStore) -> None:
    first = rotate_secret(c, M, grace_seconds=3600, now=NOW)
    second = rotate_secret(c, M, grace_seconds=0, now=NOW)
    assert (first.version, second.version) == (1, 2)
    assert store.items[(M, KeyringRef())] == second
    assert [e.payload for e in store.events("customer_token_secret_rotated")] == [
        {"kid": first.secrets[0].kid, "grace_seconds": 3600},
        {"kid": second.secrets[0].kid, "grace_seconds": 0},
    ]
    assert store.calls.log == ["get", "commit", "get", "commit"]
    # another container rotates between this one's read and its write: a 409 to retry, nothing lost
    store.before_commit.append(lambda: store.commit(M, [SaveKeyring(second.rotated(NOW, timedelta(0)))]))
    with pytest.raises(RetryableConflict):
        rotate_secret(c, M, grace_seconds=0, now=NOW)
    stored = store.items[(M, KeyringRef())]
    assert isinstance(stored, Keyring)
    assert stored.version == 3
    assert len(store.events("customer_token_secret_rotated")) == 2


def test_a_tier_program_starts_its_re_evaluation_in_the_same_commit(c: Container, store: FakeStore) -> None:
    program = put_tier_program(c, M, DEMO_TIERS, now=NOW, expected_version=None)
    assert program.version == 1
    assert store.tier_programs[M] == program
    job = job_status(c, M)
    assert (job.program_version, job.state, job.started_at) == (1, "running", NOW)
    [event] = store.events("tiers_updated")
    assert event.payload == {"version": 1, "settings": DEMO_TIERS.model_dump(mode="json")}
    assert store.calls.log == ["commit", "get"]
    # the config cache still says there is none: a blind write is refused by the version guard
    with pytest.raises(RetryableConflict):
        put_tier_program(c, M, DEMO_TIERS, now=NOW, expected_version=None)
    with pytest.raises(PreconditionFailed):
        put_tier_program(c, M, DEMO_TIERS, now=NOW, expected_version=1)  # If-Match against the cache
    assert len(store.events("tiers_updated")) == 1


def test_a_merchant_is_onboarded_once(c: Container, store: FakeStore) -> None:
    merchant = Merchant(merchant_id="new-shop", name="New", created_at=NOW)
    program = onboard_merchant(c, merchant, default_settings(), now=NOW)
    assert program.version == 1
    assert store.merchants["new-shop"] == (merchant, None)
    with pytest.raises(Conflict):
        onboard_merchant(c, merchant, default_settings(), now=NOW)
    [event] = store.events("merchant_created")
    assert MerchantCreatedPayload.model_validate(event.payload).name == "New"
