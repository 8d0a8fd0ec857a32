"""The order path's changes keep the same rules on the table and on the fake: tier states and trigger
usage are saved at the version or count read, two customers' wallets and tier states share one
commit under their own labels, a referrer's rewarded window stops at its limit, and what a code or a
first-time buyer's contacts name can be read back."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.tiers import TierProgram, TierState
from pollen.domain.triggers import TriggerUsage
from pollen.domain.wallet import Source, TxnType, Wallet
from pollen.ids import new_ulid
from pollen.storage.errors import ConditionFailed
from pollen.storage.ports import (
    ClaimCode,
    CodeOwner,
    CodeRef,
    ContactOwner,
    ContactRef,
    CountWindow,
    CustomerRef,
    LinkContacts,
    SaveCustomer,
    SaveTierState,
    SaveTriggerUsage,
    Store,
    TierStanding,
    TierStateRef,
    TriggerUsageRef,
    WindowCount,
    WindowRef,
)

M = "m-orders"
NOW = datetime(2026, 5, 1, 8, tzinfo=UTC)
TODAY = date(2026, 5, 1)
TIERS = TierProgram(version=1, updated_at=NOW)


def person(customer_id: str, **fields: object) -> Customer:
    return Customer.model_validate(
        {"customer_id": customer_id, "created_at": NOW, "updated_at": NOW, **fields}
    )


def credited(customer_id: str, coins: int) -> tuple[CustomerRecord, SaveCustomer]:
    wallet, entry = Wallet(customer_id=customer_id).credit(
        coins, type=TxnType.REWARD, source=Source.ORDER, reference="o1", now=NOW, expiry_days=None
    )
    after = CustomerRecord(person(customer_id), wallet)
    return after, SaveCustomer(after, None, (entry,), (new_ulid(),), 0)


def tier(customer_id: str, version: int, before: int) -> SaveTierState:
    state = TierState(customer_id=customer_id, version=version)
    return SaveTierState(state, TIERS, TODAY, before, None, before == 0)


def test_two_wallets_and_two_tier_states_share_one_commit(store: Store) -> None:
    """A friend's order that completes a referral: the buyer's and the referrer's wallets and tier
    states in one all-or-nothing commit."""
    ann, save_ann = credited("ann", 50)
    bo, save_bo = credited("bo", 20)
    store.commit(M, [save_ann, save_bo, tier("ann", 1, 0), tier("bo", 1, 0)])
    found = store.read(M, [CustomerRef("ann"), CustomerRef("bo"), TierStateRef("ann"), TierStateRef("bo")])
    assert found[CustomerRef("ann")] == ann
    assert found[CustomerRef("bo")] == bo
    standing = found[TierStateRef("bo")]
    assert isinstance(standing, TierStanding)
    assert standing.state.version == 1


def test_a_tier_state_is_saved_at_the_version_read(store: Store) -> None:
    store.commit(M, [tier("cy", 1, 0)])
    with pytest.raises(ConditionFailed) as again:
        store.commit(M, [tier("cy", 1, 0)])  # a second "first" state
    assert again.value.labels == ["tier"]
    store.commit(M, [tier("cy", 2, 1)])
    with pytest.raises(ConditionFailed) as stale:
        store.commit(M, [tier("dee", 1, 0), tier("cy", 2, 1)])  # the second is stale: labelled apart
    assert stale.value.labels == ["tier-2"]
    assert store.read(M, [TierStateRef("dee")]) == {}  # nothing of a refused commit


def test_trigger_usage_is_counted_at_the_count_read(store: Store) -> None:
    first = TriggerUsage().after_award(TODAY)
    store.commit(M, [SaveTriggerUsage("eve", "signup", TriggerUsage(), first)])
    with pytest.raises(ConditionFailed) as raced:
        store.commit(M, [SaveTriggerUsage("eve", "signup", TriggerUsage(), first)])
    assert raced.value.labels == ["trigger-usage"]
    assert store.read(M, [TriggerUsageRef("eve", "signup")]) == {TriggerUsageRef("eve", "signup"): first}


def test_a_rewarded_window_stops_at_its_limit(store: Store) -> None:
    window = CountWindow("fay", "2026-05", 2, None)
    store.commit(M, [window])
    store.commit(M, [window])
    with pytest.raises(ConditionFailed) as full:
        store.commit(M, [window])
    assert full.value.labels == ["referral-window"]
    assert store.read(M, [WindowRef("fay", "2026-05")]) == {WindowRef("fay", "2026-05"): WindowCount(2)}


def test_a_code_and_a_new_buyers_contacts_are_read_back(store: Store) -> None:
    store.commit(M, [ClaimCode("GUS-1234", "gus", NOW, on_profile=False)])
    buyer = person("hal", email="Hal@Example.com", email_verified=True, phone="+1 555 0101")
    store.commit(M, [LinkContacts(buyer)])
    email, phone = ContactRef("email", "hal@example.com"), ContactRef("phone", "+15550101")
    assert store.read(M, [CodeRef("GUS-1234"), email, phone, CodeRef("NOPE-0000")]) == {
        CodeRef("GUS-1234"): CodeOwner("gus", "GUS-1234"),
        email: ContactOwner("hal"),
        phone: ContactOwner("hal"),
    }
