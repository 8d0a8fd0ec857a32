"""Referral use cases on the fakes: the referral page, share tracking, invitations, a friend signing
up and the reminders, each "load → decide → commit" in the round trips docs/design.md budgets, and
racing writers met the way the table meets them (tests/integration/test_store_contract_referrals.py
holds the fake to the table's rules)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pollen.domain.customers import Customer
from pollen.domain.errors import NotFound
from pollen.domain.merchants import Merchant
from pollen.domain.referrals import (
    FriendReward,
    FriendState,
    Reason,
    Referral,
    ReferralDisabled,
    ReferralRewardType,
    ReferralSettings,
    ReferralStatus,
    Reminder,
    StoredReferralSettings,
    contact_digest,
)
from pollen.domain.wallet import Wallet
from pollen.services import referrals
from pollen.services.container import Container
from pollen.storage.ports import ClaimCode, FriendRef, HoldInvite, InviteRef, ReferralRef, ReferrerRef
from tests.support.fakes import FakeConfigs, FakeStore
from tests.unit.use_cases.conftest import NOW, PROGRAM, M

SETTINGS = ReferralSettings(
    enabled=True,
    friend_reward=FriendReward(type=ReferralRewardType.COINS, coins=250, issue_on="signup"),
    reminder=Reminder(after_days=3, max_reminders=2),
)


@pytest.fixture
def configs() -> FakeConfigs:
    configs = FakeConfigs()
    stored = StoredReferralSettings(**SETTINGS.model_dump(), version=1, updated_at=NOW)
    configs.put(Merchant(merchant_id=M, name="Shop", created_at=NOW), PROGRAM, referrals=stored)
    return configs


def person(store: FakeStore, customer_id: str, *, email: str | None = None) -> None:
    email = email or f"{customer_id}@example.com"
    customer = Customer(
        customer_id=customer_id, email=email, first_name=customer_id.title(), created_at=NOW, updated_at=NOW
    )
    store.add_customer(M, customer, Wallet(customer_id=customer_id))
    store.add_contact(M, "email", email, customer_id)


def invite(c: Container, referrer_id: str, email: str, *, device: str | None = None) -> Referral:
    return referrals.invite(
        c, M, referrer_id, email=email, phone=None, name="Friend", device_id=device, now=NOW
    )


def test_the_first_view_of_the_page_creates_the_code_the_next_only_reads(
    c: Container, store: FakeStore
) -> None:
    person(store, "ann")
    profile = referrals.referral_page(c, M, "ann", now=NOW)
    assert profile.code is not None
    assert profile.code.startswith("ANN")
    assert store.referral_codes[(M, profile.code)] == "ann"
    assert store.calls.log == ["read", "commit"]
    store.calls.log.clear()
    assert referrals.referral_page(c, M, "ann", now=NOW).code == profile.code
    assert store.calls.log == ["read"]
    with pytest.raises(NotFound):
        referrals.referral_page(c, M, "nobody", now=NOW)


def test_a_concurrent_first_view_wins_and_the_page_shows_its_code(c: Container, store: FakeStore) -> None:
    person(store, "ann")
    store.before_commit.append(lambda: store.commit(M, [ClaimCode("ANN-FIRST", "ann", NOW, on_profile=True)]))
    assert referrals.referral_page(c, M, "ann", now=NOW).code == "ANN-FIRST"
    assert [code for (_, code) in store.referral_codes] == ["ANN-FIRST"]


def test_a_share_counts_its_channel_and_the_device_in_one_read_and_one_write(
    c: Container, store: FakeStore
) -> None:
    person(store, "ann")
    referrals.track_share(c, M, "ann", "whatsapp", "phone-1", now=NOW)
    referrals.track_share(c, M, "ann", "whatsapp", None, now=NOW)
    assert store.calls.log == ["read", "commit", "read", "commit"]
    profile = store.items[(M, ReferrerRef("ann"))]
    assert profile.shares == {"whatsapp": 2}  # type: ignore[union-attr]
    assert len(profile.devices) == 1  # type: ignore[union-attr]
    assert [e.payload for e in store.events("referral_shared")] == [{"channel": "whatsapp"}] * 2
    with pytest.raises(NotFound):
        referrals.track_share(c, M, "nobody", "email", None, now=NOW)


def test_an_invitation_holds_the_contact_counts_and_tells_the_friend(c: Container, store: FakeStore) -> None:
    person(store, "ann")
    referral = invite(c, "ann", "Bo@Example.com")
    assert store.calls.log == ["read", "commit"]
    assert (referral.status, referral.version) == (ReferralStatus.INVITED, 1)
    assert referral.next_reminder_on == (NOW + timedelta(days=3)).date().isoformat()
    hold = store.items[(M, InviteRef(contact_digest("email", "bo@example.com")))]
    assert hold.referral_id == referral.referral_id  # type: ignore[union-attr]
    profile = store.items[(M, ReferrerRef("ann"))]
    assert profile.code == referral.code  # type: ignore[union-attr]
    assert profile.counters["invited"] == 1  # type: ignore[union-attr]
    (event,) = store.events("referral_invited")
    assert event.payload["customer"]["email"] == "Bo@Example.com"
    assert event.payload["referrer"]["customer_id"] == "ann"
    # the same invitation again answers the referral it made, and writes nothing
    store.calls.log.clear()
    assert invite(c, "ann", "bo@example.com") == referral
    assert store.calls.log == ["read", "get"]


def test_an_existing_customer_or_someone_elses_friend_is_rejected_with_its_reason(
    c: Container, store: FakeStore
) -> None:
    person(store, "ann")
    person(store, "cy")
    person(store, "bo")
    assert invite(c, "ann", "bo@example.com").reason == Reason.NOT_NEW_CUSTOMER
    invite(c, "ann", "dee@example.com")
    taken = invite(c, "cy", "dee@example.com")
    assert (taken.status, taken.reason) == (ReferralStatus.REJECTED, Reason.ALREADY_REFERRED)
    assert store.items[(M, ReferrerRef("cy"))].counters["rejected"] == 1  # type: ignore[union-attr]
    assert len(store.events("referral_rejected")) == 2
    assert (M, InviteRef(contact_digest("email", "bo@example.com"))) not in store.items


def test_a_race_for_the_same_friend_is_won_by_the_first_referrer(c: Container, store: FakeStore) -> None:
    person(store, "ann")
    person(store, "cy")
    first = invite(c, "cy", "zed@example.com")  # cy's referral, whose hold the race writes
    digest = contact_digest("email", "eve@example.com")
    store.before_commit.append(lambda: store.commit(M, [HoldInvite(digest, first)]))
    lost = invite(c, "ann", "eve@example.com")
    assert (lost.status, lost.reason) == (ReferralStatus.REJECTED, Reason.ALREADY_REFERRED)
    assert store.calls.log.count("commit") == 4  # cy's, the race's, ann's refused one, ann's again


def test_a_disabled_program_refuses_invitations(configs: FakeConfigs, c: Container, store: FakeStore) -> None:
    person(store, "ann")
    off = StoredReferralSettings(version=2)
    configs.put(Merchant(merchant_id=M, name="Shop", created_at=NOW), PROGRAM, referrals=off)
    with pytest.raises(ReferralDisabled):
        invite(c, "ann", "bo@example.com")
    assert store.calls.log == []


def test_an_invited_friend_signing_up_links_once_and_gets_the_signup_reward(
    c: Container, store: FakeStore
) -> None:
    person(store, "ann")
    referral = invite(c, "ann", "bo@example.com")
    person(store, "bo")
    store.calls.log.clear()
    linked = referrals.link_signup(c, M, "bo", "bo@example.com", None, now=NOW)
    assert linked is not None
    assert store.calls.log == ["read", "read", "commit"]
    assert (linked.status, linked.friend_customer_id, linked.version) == (ReferralStatus.SIGNED_UP, "bo", 2)
    assert store.customer(M, "bo").wallet.balance == 250  # the friend reward, with its ledger entry
    assert [r.side for r in linked.rewards] == ["friend"]
    assert store.items[(M, ReferralRef("ann", referral.referral_id))] == linked
    assert store.items[(M, FriendRef("bo"))] == FriendState(
        "bo", referrer_id="ann", referral_id=referral.referral_id, status="signed_up", version=1
    )
    assert store.items[(M, ReferrerRef("ann"))].counters["signed_up"] == 1  # type: ignore[union-attr]
    assert len(store.events("referral_signed_up")) == 1
    assert len(store.events("wallet_transaction")) == 1
    # the same sign-up again (Shopify's customers/create retried) changes nothing
    assert referrals.link_signup(c, M, "bo", "bo@example.com", None, now=NOW) is None
    assert store.customer(M, "bo").wallet.balance == 250


def test_a_referrer_signing_up_with_the_invited_address_is_a_self_referral(
    c: Container, store: FakeStore
) -> None:
    person(store, "ann")
    invite(c, "ann", "ann.other@example.com")
    linked = referrals.link_signup(c, M, "ann", "ann.other@example.com", None, now=NOW)
    assert linked is not None
    assert (linked.status, linked.reason) == (ReferralStatus.REJECTED, Reason.SELF_REFERRAL)
    assert (M, FriendRef("ann")) not in store.items
    assert store.customer(M, "ann").wallet.balance == 0


def test_reminders_go_out_when_due_up_to_the_maximum(c: Container, store: FakeStore) -> None:
    person(store, "ann")
    referral = invite(c, "ann", "bo@example.com")
    due = {"merchant_id": M, "referrer_id": "ann", "referral_id": referral.referral_id}
    assert referrals.remind(c, due, NOW) is False  # not due yet: nothing written
    sent = [referrals.remind(c, due, NOW + timedelta(days=d)) for d in (3, 6, 9)]
    assert sent == [True, True, False]
    stored = store.items[(M, ReferralRef("ann", referral.referral_id))]
    assert (stored.reminders_sent, stored.next_reminder_on) == (2, None)  # type: ignore[union-attr]
    assert [e.payload["reminder"] for e in store.events("referral_incomplete")] == [1, 2]
    assert referrals.remind(c, {**due, "referral_id": "gone"}, NOW) is False
