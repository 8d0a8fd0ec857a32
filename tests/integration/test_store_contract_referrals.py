"""The unit of work's referral family on the table (moto) and on the in-memory fake, side by side:
the referral use-case tests (tests/unit/use_cases/test_referrals.py) run on the fake, so it must keep
the table's rules: codes and invite holds are first come first served, the referral and the friend
state move one version at a time, the profile's counters commute and its code is set once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

import pytest

from pollen.domain.referrals import (
    FriendState,
    InviteHold,
    Referral,
    ReferralSettings,
    ReferralStatus,
    ReferrerProfile,
    StoredReferralSettings,
)
from pollen.storage.customers import put_email_link, put_phone_link
from pollen.storage.errors import ConditionFailed
from pollen.storage.ports import (
    ClaimCode,
    ContactOwner,
    ContactRef,
    CountReferrer,
    FriendRef,
    HoldInvite,
    InviteRef,
    ReferralRef,
    ReferrerRef,
    SaveFriend,
    SaveReferral,
    SaveReferralSettings,
    SetReferrerDiscount,
    Store,
)
from pollen.storage.unit_of_work import DynamoStore
from tests.support.fakes import FakeStore

M = "m-contract-referrals"
NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)


def add_contact(store: Store, kind: Literal["email", "phone"], value: str, customer_id: str) -> None:
    """A customer's email or phone look-up item, as the customers service writes it."""
    if isinstance(store, FakeStore):
        store.add_contact(M, kind, value, customer_id)
        return
    assert isinstance(store, DynamoStore)
    tx = store._table.transaction()
    (put_email_link if kind == "email" else put_phone_link)(tx, M, value, customer_id)
    tx.commit()


def referral(
    referral_id: str = "r1", *, version: int = 1, status: ReferralStatus = ReferralStatus.INVITED
) -> Referral:
    return Referral(
        referral_id=referral_id,
        referrer_id="ann",
        channel="invite",
        status=status,
        code="ANN-1234",
        friend_email="bo@example.com",
        created_at=NOW,
        updated_at=NOW,
        version=version,
    )


def failed_labels(store: Store, *changes: object) -> list[str]:
    with pytest.raises(ConditionFailed) as failed:
        store.commit(M, list(changes))  # type: ignore[arg-type]
    return failed.value.labels


def test_a_code_names_one_customer_and_a_profile_takes_one_code(store: Store) -> None:
    store.commit(M, [ClaimCode("ANN-1234", "ann", NOW, on_profile=True)])
    assert failed_labels(store, ClaimCode("ANN-1234", "bo", NOW, on_profile=False)) == ["referral-code"]
    assert failed_labels(store, ClaimCode("ANN-9999", "ann", NOW, on_profile=True)) == ["referrer"]
    assert failed_labels(store, CountReferrer("ann", {"invited": 1}, code="ANN-5555")) == ["referrer"]
    profile = store.get(M, ReferrerRef("ann"))
    assert isinstance(profile, ReferrerProfile)
    assert profile.code == "ANN-1234"
    assert profile.counters == dict.fromkeys(profile.counters, 0)  # nothing counted by the failed ones


def test_counters_add_up_and_fingerprints_are_replaced(store: Store) -> None:
    store.commit(M, [CountReferrer("ann", {"invited": 1, "shares_email": 1}, devices=frozenset({"d1"}))])
    store.commit(
        M,
        [
            CountReferrer("ann", {"invited": 1, "completed": 1, "friends_revenue": Decimal("12.50")}),
            CountReferrer("bo", {"rejected": 1}, addresses=frozenset({"a1"}), code="BO-1"),
        ],
    )
    store.commit(M, [CountReferrer("ann", {"shares_email": 2}, devices=frozenset({"d2", "d3"}))])
    store.commit(M, [SetReferrerDiscount("ann", "gid://shopify/DiscountCodeNode/1")])
    ann, bo = store.read(M, [ReferrerRef("ann"), ReferrerRef("bo")]).values()
    assert isinstance(ann, ReferrerProfile)
    assert isinstance(bo, ReferrerProfile)
    assert (ann.counters["invited"], ann.counters["completed"], ann.counters["rejected"]) == (2, 1, 0)
    assert ann.friends_revenue == Decimal("12.50")
    assert ann.shares == {"email": 3}
    assert ann.devices == frozenset({"d2", "d3"})
    assert ann.shopify_discount_id == "gid://shopify/DiscountCodeNode/1"
    assert ann.code is None
    assert (bo.code, bo.addresses, bo.counters["rejected"]) == ("BO-1", frozenset({"a1"}), 1)


def test_a_referral_is_new_once_then_moves_one_version_at_a_time(store: Store) -> None:
    first = referral()
    store.commit(M, [SaveReferral(first, None)])
    assert failed_labels(store, SaveReferral(referral(), None)) == ["referral"]
    signed_up = referral(version=2, status=ReferralStatus.SIGNED_UP)
    store.commit(M, [SaveReferral(signed_up, first)])
    assert failed_labels(store, SaveReferral(referral(version=2), first)) == ["referral"]
    stored = store.get(M, ReferralRef("ann", "r1"))
    assert isinstance(stored, Referral)
    assert (stored.status, stored.version) == (ReferralStatus.SIGNED_UP, 2)
    assert store.get(M, ReferralRef("ann", "r2")) is None


def test_the_first_referrer_holds_an_invited_contact(store: Store) -> None:
    store.commit(M, [HoldInvite("digest-1", referral("r1")), HoldInvite("digest-2", referral("r1"))])
    labels = failed_labels(
        store, HoldInvite("digest-3", referral("r2")), HoldInvite("digest-2", referral("r2"))
    )
    assert labels == ["invite-1"]
    assert store.get(M, InviteRef("digest-3")) is None  # the failed commit wrote nothing
    assert store.get(M, InviteRef("digest-2")) == InviteHold("ann", "r1")


def test_the_friend_state_moves_one_version_at_a_time(store: Store) -> None:
    store.commit(M, [SaveFriend(FriendState("bo", first_order_id="o1"), 0)])
    assert failed_labels(store, SaveFriend(FriendState("bo"), 0)) == ["referred"]
    stored = store.get(M, FriendRef("bo"))
    assert stored == FriendState("bo", first_order_id="o1", version=1)
    store.commit(M, [SaveFriend(FriendState("bo", referrer_id="ann", referral_id="r1", version=1), 1)])
    assert store.get(M, FriendRef("bo")) == FriendState("bo", referrer_id="ann", referral_id="r1", version=2)


def test_contacts_are_found_as_the_table_normalises_them(store: Store) -> None:
    add_contact(store, "email", "Bo@Example.com ", "bo")
    add_contact(store, "phone", "+1 (555) 010-0200", "bo")
    found = store.read(
        M,
        [
            ContactRef("email", "bo@example.com"),
            ContactRef("phone", "+15550100200"),
            ContactRef("email", "nobody@example.com"),
        ],
    )
    assert found == {
        ContactRef("email", "bo@example.com"): ContactOwner("bo"),
        ContactRef("phone", "+15550100200"): ContactOwner("bo"),
    }


def test_the_settings_move_from_the_version_they_were_read_at(store: Store) -> None:
    def at(version: int) -> StoredReferralSettings:
        return StoredReferralSettings(**ReferralSettings().model_dump(), version=version, updated_at=NOW)

    store.commit(M, [SaveReferralSettings(at(1), 0)])
    assert failed_labels(store, SaveReferralSettings(at(1), 0)) == ["referral-settings"]
    store.commit(M, [SaveReferralSettings(at(2), 1)])
    assert failed_labels(store, SaveReferralSettings(at(2), 1)) == ["referral-settings"]
