"""In-memory fakes behind the unit of work's ports, so use-case tests run without moto (or any I/O).

:class:`FakeStore` honours what :class:`pollen.storage.ports.Store` promises of the table: one read
per ``read``/``get``, one all-or-nothing ``commit`` in which every saved aggregate must still be
at the version it was loaded at (else :class:`ConditionFailed` naming it and nothing is written),
a new one must not exist, and an existing receipt makes the commit a :class:`DuplicateRequest`.
It keeps the ledger and the outbox, so a test can check the ledger invariant and the typed events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, cast

from pollen.domain.api_keys import ApiKey
from pollen.domain.birthdays import next_birthday
from pollen.domain.coupons import Coupon
from pollen.domain.customer_tokens import Keyring
from pollen.domain.customers import Customer, CustomerRecord, birthday_changed, contact_links, due_day
from pollen.domain.integrations import Subscription
from pollen.domain.merchants import Merchant, ShopifyConnection
from pollen.domain.orders import OrderRecord, guest_email
from pollen.domain.program import Program
from pollen.domain.referrals import FriendState, InviteHold, Referral, ReferrerProfile, StoredReferralSettings
from pollen.domain.reviews import ReviewRecord
from pollen.domain.rewards import Reward
from pollen.domain.tiers import TierProgram
from pollen.domain.tiers import due_day as tier_due_day
from pollen.domain.triggers import Trigger, TriggerUsage
from pollen.domain.wallet import LedgerEntry, Wallet
from pollen.domain.widget import StoredWidgetSettings
from pollen.events.envelope import OutboxEvent
from pollen.events.ledger import wallet_transaction
from pollen.model import BaseModel
from pollen.services.container import Container
from pollen.storage.api_keys import KeyCache
from pollen.storage.errors import ConditionFailed, DuplicateRequest
from pollen.storage.keys import email_key, phone_digits, phone_key, referral_settings_key
from pollen.storage.merchant_config import MerchantConfig, MerchantConfigStore
from pollen.storage.order_cache import OrderCustomerCache
from pollen.storage.ports import (
    AddApiKey,
    AddMerchant,
    Calls,
    CatalogueChange,
    Change,
    ClaimCode,
    ClearPending,
    CodeOwner,
    CodeRef,
    ContactOwner,
    ContactRef,
    CountReferrer,
    CountWindow,
    CouponRef,
    CustomerRef,
    DeleteIntegration,
    DeleteReward,
    DeleteSubscription,
    DeleteTrigger,
    DueWallet,
    DueWalletRef,
    Emit,
    EventsChange,
    FriendRef,
    HoldInvite,
    ImportedRow,
    ImportRowRef,
    IntegrationRef,
    InviteRef,
    KeyringRef,
    LinkContacts,
    ListBirthday,
    Loaded,
    MarkPending,
    MarkRowImported,
    OrderRef,
    Part,
    ProgramRef,
    ReceiptRef,
    Ref,
    ReferralChange,
    ReferralRef,
    ReferrerRef,
    ReleaseReceipt,
    ReviewRef,
    RevokeApiKey,
    SaveCoupon,
    SaveCustomer,
    SaveEventsSwitch,
    SaveFriend,
    SaveIntegration,
    SaveKeyring,
    SaveOrder,
    SaveProfile,
    SaveProgram,
    SaveReferral,
    SaveReferralSettings,
    SaveReward,
    SaveShopify,
    SaveSubscription,
    SaveTierJob,
    SaveTierProgram,
    SaveTierState,
    SaveTrigger,
    SaveTriggerUsage,
    SaveWidgetSettings,
    ScheduleReview,
    SetReferrerDiscount,
    SettingsChange,
    SettleReview,
    SubscriptionRef,
    TierJobRef,
    TierStanding,
    TierStateRef,
    TriggerUsageRef,
    UnlinkContact,
    WindowCount,
    WindowRef,
    WriteReceipt,
)
from pollen.storage.receipts import Receipt
from pollen.storage.referrals import COUNTERS, MAX_FINGERPRINTS, settings_item
from pollen.storage.rewards import reward_item
from pollen.storage.triggers import trigger_item


def _events_ref(
    change: SaveIntegration | SaveSubscription | DeleteIntegration | DeleteSubscription,
) -> tuple[Ref, str]:
    """What an events-configuration change writes, and the label a failed condition names."""
    if isinstance(change, SaveIntegration):
        return IntegrationRef(change.integration.integration_id), "integration"
    if isinstance(change, DeleteIntegration):
        return IntegrationRef(change.integration_id), "integration"
    if isinstance(change, SaveSubscription):
        return SubscriptionRef(change.subscription.subscription_id), "subscription"
    return SubscriptionRef(change.subscription_id), "subscription"


@dataclass
class FakeStore:
    """One merchant-partitioned dictionary of aggregates; see the module doc for the rules kept."""

    items: dict[tuple[str, Ref], Loaded] = field(default_factory=dict)
    ledger: dict[tuple[str, str], list[LedgerEntry]] = field(default_factory=dict)
    outbox: list[OutboxEvent] = field(default_factory=list)
    pending: dict[tuple[str, str], datetime] = field(default_factory=dict)
    api_keys: dict[tuple[str, str], ApiKey] = field(default_factory=dict)
    triggers: dict[tuple[str, str], Trigger] = field(default_factory=dict)
    rewards: dict[tuple[str, str], Reward] = field(default_factory=dict)
    tier_programs: dict[str, TierProgram] = field(default_factory=dict)
    events_switch: dict[str, SaveEventsSwitch] = field(default_factory=dict)
    widget_settings: dict[str, StoredWidgetSettings] = field(default_factory=dict)
    merchants: dict[str, tuple[Merchant, ShopifyConnection | None]] = field(default_factory=dict)
    referral_settings: dict[str, StoredReferralSettings] = field(default_factory=dict)
    referral_codes: dict[tuple[str, str], str] = field(default_factory=dict)  # (merchant, code) → customer
    contacts: dict[str, str] = field(default_factory=dict)  # the email/phone look-up key → customer
    birthdays: dict[tuple[str, str], date] = field(default_factory=dict)  # (merchant, customer) → next one
    # (merchant, customer) → the day the due index lists the wallet under (the table's GSI1), if any
    due_index: dict[tuple[str, str], date | None] = field(default_factory=dict)
    calls: Calls = field(default_factory=Calls)
    # Runs once before the next commit is applied: a concurrent writer racing the use case.
    before_commit: list[Callable[[], object]] = field(default_factory=list)

    # ---- the port ----
    def read(self, merchant_id: str, refs: Sequence[Ref]) -> dict[Ref, Loaded]:
        self.calls.reads += 1
        self.calls.log.append("read")
        found = {ref: self._stored(merchant_id, ref) for ref in refs}
        return {ref: value for ref, value in found.items() if value is not None}

    def get(self, merchant_id: str, ref: Ref) -> Loaded | None:
        self.calls.reads += 1
        self.calls.log.append("get")
        return self._stored(merchant_id, ref)

    def _stored(self, merchant_id: str, ref: Ref) -> Loaded | None:
        if isinstance(ref, DueWalletRef):
            record = self.items.get((merchant_id, CustomerRef(ref.customer_id)))
            if record is None:
                return None
            day = self.due_index.get((merchant_id, ref.customer_id))
            return DueWallet(cast("CustomerRecord", record), day.isoformat() if day else None)
        if isinstance(ref, ContactRef):
            owner = self.contacts.get(_contact(merchant_id, ref))
            return ContactOwner(owner) if owner else None
        if isinstance(ref, CodeRef):
            owner = self.referral_codes.get((merchant_id, ref.code))
            return CodeOwner(owner, ref.code) if owner else None
        return self.items.get((merchant_id, ref))

    def commit(self, merchant_id: str, changes: Sequence[Change]) -> None:
        self.calls.commits += 1
        self.calls.log.append("commit")
        while self.before_commit:
            self.before_commit.pop(0)()
        changes = _flatten(changes)  # an import's parts: their labels are the table's concern
        self._check(merchant_id, changes)
        for change in changes:
            self._apply(merchant_id, change)

    def _check(self, merchant_id: str, changes: Sequence[Change]) -> None:
        failed: dict[str, dict[str, Any]] = {}
        for change in changes:
            if isinstance(change, WriteReceipt):
                receipt = ReceiptRef(change.receipt.scope, change.receipt.idempotency_key)
                if (old := self.items.get((merchant_id, receipt))) is not None:
                    raise DuplicateRequest(cast("Receipt", old).to_item())
            elif isinstance(change, SaveCustomer | SaveProfile):
                customer = CustomerRef(change.after.customer.customer_id)
                if not self._at(merchant_id, customer, change.expected_version):
                    failed["customer"] = {}
            elif isinstance(change, SaveCoupon) and not self._at(
                merchant_id, CouponRef(change.coupon.code), change.expected_version
            ):
                failed["coupon"] = {}
            elif isinstance(change, SaveProgram) and not self._at(
                merchant_id, ProgramRef(), change.expected_version
            ):
                failed["program"] = {}
            elif isinstance(change, AddMerchant) and merchant_id in self.merchants:
                failed["merchant"] = {"merchant_id": merchant_id}
            elif isinstance(change, AddApiKey) and (merchant_id, change.key.key_id) in self.api_keys:
                failed["api_key"] = change.key.model_dump(mode="json")
            elif isinstance(change, RevokeApiKey):
                key = self.api_keys.get((merchant_id, change.key_id))
                if key is None or key.revoked_at is not None:  # the old image: empty when absent
                    failed["api_key"] = key.model_dump(mode="json") if key else {}
        failed.update(self._order_and_contact_conflicts(merchant_id, changes))
        failed.update(self._counters_moved(merchant_id, changes))
        failed.update(self._referral_conflicts(merchant_id, changes))
        failed.update(self._reviews_settled(merchant_id, changes))
        failed.update(self._settings_moved(merchant_id, changes))
        failed.update(self._events_conflicts(merchant_id, changes))
        if failed:
            raise ConditionFailed(list(failed), failed)

    def _order_and_contact_conflicts(
        self, merchant_id: str, changes: Sequence[Change]
    ) -> dict[str, dict[str, Any]]:
        """An order saved at the version read (0: none yet); a look-up deleted only while it is the
        customer's (labels as the table's transaction names them)."""
        failed: dict[str, dict[str, Any]] = {}
        for change in changes:
            if isinstance(change, SaveOrder):
                stored = self.items.get((merchant_id, OrderRef(change.order.order_id)))
                version = cast("OrderRecord", stored).version if stored is not None else 0
                if version != change.expected_version:
                    failed["order"] = {}
            elif isinstance(change, UnlinkContact):
                owner = self.contacts.get(_contact(merchant_id, change.contact))
                if owner != change.customer_id:
                    failed[f"contact-link-{change.contact.kind}"] = {"customer_id": owner} if owner else {}
        return failed

    def _counters_moved(self, merchant_id: str, changes: Sequence[Change]) -> dict[str, dict[str, Any]]:
        """Tier states and trigger usage at the version or count read (none: 0); a referrer's
        rewarded window below its limit. Tier labels as the table numbers them (``tier``, ``tier-2``)."""
        failed: dict[str, dict[str, Any]] = {}
        tiers = 0
        for change in changes:
            if isinstance(change, SaveTierState):
                standing = self.items.get((merchant_id, TierStateRef(change.state.customer_id)))
                version = cast("TierStanding", standing).state.version if standing else 0
                if version != change.expected_version:
                    failed[f"tier-{tiers + 1}" if tiers else "tier"] = {}
                tiers += 1
            elif isinstance(change, SaveTriggerUsage):
                ref = TriggerUsageRef(change.customer_id, change.trigger_id)
                usage = cast("TriggerUsage | None", self.items.get((merchant_id, ref)))
                if (usage.count if usage else 0) != change.before.count:
                    failed["trigger-usage"] = {}
            elif isinstance(change, CountWindow):
                window = self.items.get((merchant_id, WindowRef(change.referrer_id, change.window)))
                if (cast("WindowCount", window).rewarded if window else 0) >= change.limit:
                    failed["referral-window"] = {}
            elif (
                isinstance(change, MarkRowImported)
                and (merchant_id, ImportRowRef(change.import_id, change.row)) in self.items
            ):
                failed[f"import-row-{change.row}"] = {}
        return failed

    def _reviews_settled(self, merchant_id: str, changes: Sequence[Change]) -> dict[str, dict[str, Any]]:
        """A review request is settled only from pending (another run settled it first)."""
        for change in changes:
            if isinstance(change, SettleReview):
                ref = ReviewRef(change.record.order_id)
                stored = cast("ReviewRecord | None", self.items.get((merchant_id, ref)))
                if stored is None or stored.status != "pending":
                    return {"review-request": {}}
        return {}

    def _referral_conflicts(self, merchant_id: str, changes: Sequence[Change]) -> dict[str, dict[str, Any]]:
        """Referrals: a new one (a code, an invite hold) must be free, a saved one (the referral, the
        friend state, the settings) at the version it follows, a profile's code set only once."""
        failed: dict[str, dict[str, Any]] = {}
        invites = profiles = 0
        for change in changes:
            if isinstance(change, SaveReferralSettings | SaveReferral | SaveFriend):
                label, stored, expected = self._referral_versions(merchant_id, change)
                if stored != expected:
                    failed[label] = {}
            elif isinstance(change, ClaimCode):
                if (merchant_id, change.code) in self.referral_codes:
                    failed["referral-code"] = {}
                if change.on_profile and self._profile(merchant_id, change.customer_id).code is not None:
                    failed["referrer"] = {}
            elif isinstance(change, CountReferrer):
                label = f"referrer-{profiles}" if profiles else "referrer"
                profiles += 1
                if (
                    change.code is not None
                    and self._profile(merchant_id, change.customer_id).code is not None
                ):
                    failed[label] = {}
            elif isinstance(change, HoldInvite):
                if (merchant_id, InviteRef(change.digest)) in self.items:
                    failed[f"invite-{invites}"] = {}
                invites += 1
        return failed

    def _referral_versions(
        self, merchant_id: str, change: SaveReferralSettings | SaveReferral | SaveFriend
    ) -> tuple[str, int | None, int | None]:
        """The label a versioned referral change fails with, the stored version and the one it follows."""
        if isinstance(change, SaveReferralSettings):
            settings = self.referral_settings.get(merchant_id)
            return "referral-settings", settings.version if settings else 0, change.base
        if isinstance(change, SaveReferral):
            ref = ReferralRef(change.referral.referrer_id, change.referral.referral_id)
            stored = cast("Referral | None", self.items.get((merchant_id, ref)))
            before = change.before.version if change.before else None
            return "referral", stored.version if stored else None, before
        friend = cast(
            "FriendState | None", self.items.get((merchant_id, FriendRef(change.state.customer_id)))
        )
        return "referred", friend.version if friend else 0, change.expected_version

    def _profile(self, merchant_id: str, customer_id: str) -> ReferrerProfile:
        """The stored profile, or the one a first write creates (counters at zero, as the table reads it)."""
        found = self.items.get((merchant_id, ReferrerRef(customer_id)))
        if isinstance(found, ReferrerProfile):
            return found
        return ReferrerProfile(customer_id, counters=dict.fromkeys(COUNTERS, 0))

    def _apply_referral(self, merchant_id: str, change: ReferralChange) -> None:
        if isinstance(change, CountWindow):
            at = WindowRef(change.referrer_id, change.window)
            window = cast("WindowCount | None", self.items.get((merchant_id, at)))
            self.items[(merchant_id, at)] = WindowCount((window.rewarded if window else 0) + 1)
            return
        if isinstance(change, SaveReferralSettings):
            self.referral_settings[merchant_id] = change.settings
            return
        if isinstance(change, SaveReferral):
            ref = ReferralRef(change.referral.referrer_id, change.referral.referral_id)
            self.items[(merchant_id, ref)] = change.referral
            return
        if isinstance(change, HoldInvite):
            hold = InviteHold(change.referral.referrer_id, change.referral.referral_id)
            self.items[(merchant_id, InviteRef(change.digest))] = hold
            return
        if isinstance(change, SaveFriend):
            state = replace(change.state, version=change.expected_version + 1)
            self.items[(merchant_id, FriendRef(change.state.customer_id))] = state
            return
        profile = self._profile(merchant_id, change.customer_id)
        if isinstance(change, ClaimCode):
            self.referral_codes[(merchant_id, change.code)] = change.customer_id
            if change.on_profile:
                profile = replace(profile, code=change.code)
        elif isinstance(change, SetReferrerDiscount):
            profile = replace(profile, shopify_discount_id=change.discount_id)
        else:
            profile = _counted(profile, change)
        self.items[(merchant_id, ReferrerRef(change.customer_id))] = profile

    def _settings_moved(self, merchant_id: str, changes: Sequence[Change]) -> dict[str, dict[str, Any]]:
        """Versioned settings (the widget's, the token keyring) not at the version a change follows:
        their old images by label."""
        failed: dict[str, dict[str, Any]] = {}
        stored = self.widget_settings.get(merchant_id)
        ring = cast("Keyring | None", self.items.get((merchant_id, KeyringRef())))
        for change in changes:
            if isinstance(change, SaveWidgetSettings) and (stored.version if stored else 0) != (
                change.settings.version - 1
            ):
                failed["widget-settings"] = stored.model_dump(mode="json") if stored else {}
            if isinstance(change, SaveKeyring) and (ring.version if ring else 0) != change.ring.version - 1:
                failed["token-keys"] = ring.model_dump(mode="json") if ring else {}
            tiers = self.tier_programs.get(merchant_id)
            if (
                isinstance(change, SaveTierProgram)
                and (tiers.version if tiers else 0) != change.expected_version
            ):
                failed["tiers"] = tiers.model_dump(mode="json") if tiers else {}
        return failed

    def _events_conflicts(self, merchant_id: str, changes: Sequence[Change]) -> dict[str, dict[str, Any]]:
        """Integrations and subscriptions: saved only over what was read (its ``updated_at``, or
        nothing), deleted only when there, a subscription only to an existing integration."""
        failed: dict[str, dict[str, Any]] = {}
        for change in changes:
            if isinstance(change, SaveSubscription):
                integration = IntegrationRef(change.subscription.integration_id)
                if (merchant_id, integration) not in self.items:
                    failed["integration"] = {}
            if isinstance(change, SaveIntegration | SaveSubscription):
                ref, label = _events_ref(change)
                stored = self.items.get((merchant_id, ref))
                if getattr(stored, "updated_at", None) != change.seen_updated_at:
                    failed[label] = stored.model_dump(mode="json") if isinstance(stored, BaseModel) else {}
            elif isinstance(change, DeleteIntegration | DeleteSubscription):
                ref, label = _events_ref(change)
                if (merchant_id, ref) not in self.items:
                    failed[label] = {}
        return failed

    def subscriptions(self, merchant_id: str) -> list[Subscription]:
        self.calls.reads += 1
        self.calls.log.append("query")
        found = [
            v for (m, ref), v in self.items.items() if m == merchant_id and isinstance(ref, SubscriptionRef)
        ]
        return sorted(cast("list[Subscription]", found), key=lambda s: s.created_at)

    def guest_orders(self, merchant_id: str, email: str) -> list[str]:
        self.calls.reads += 1
        self.calls.log.append("query")
        wanted = email.strip().lower()
        orders = [v for (m, ref), v in self.items.items() if m == merchant_id and isinstance(ref, OrderRef)]
        found = [(order, guest_email(order)) for order in cast("list[OrderRecord]", orders)]
        return [order.order_id for order, guest in found if guest and guest.strip().lower() == wanted]

    def _at(self, merchant_id: str, ref: Ref, expected: int | None) -> bool:
        current = self.items.get((merchant_id, ref))
        if expected is None:
            return current is None
        return isinstance(current, CustomerRecord | Coupon | Program) and current.version == expected

    def _apply(self, merchant_id: str, change: Change) -> None:
        if isinstance(change, SaveCustomer):
            customer_id = change.after.customer.customer_id
            self.items[(merchant_id, CustomerRef(customer_id))] = change.after
            self.due_index[(merchant_id, customer_id)] = due_day(change.after.wallet, change.reminder_days)
            self.ledger.setdefault((merchant_id, customer_id), []).extend(change.entries)
            # each entry is its wallet_transaction, as the router routes it (the profile filled in)
            self.outbox.extend(
                wallet_transaction(
                    merchant_id,
                    customer_id,
                    entry,
                    event_id=event_id,
                    pending=change.after.wallet.pending,
                    customer=change.after.customer,
                )
                for entry, event_id in zip(change.entries, change.event_ids, strict=True)
            )
        elif isinstance(change, SaveProfile | UnlinkContact | ListBirthday):
            self._apply_profile(merchant_id, change)
        elif isinstance(change, SaveOrder):
            self.items[(merchant_id, OrderRef(change.order.order_id))] = change.order

        elif isinstance(change, SaveCoupon):
            self.items[(merchant_id, CouponRef(change.coupon.code))] = change.coupon
        elif isinstance(change, MarkPending):
            self.pending[(merchant_id, change.coupon.code)] = change.at
        elif isinstance(change, ClearPending):
            self.pending.pop((merchant_id, change.code), None)
        elif isinstance(change, SettingsChange):
            self._apply_settings(merchant_id, change)
        elif isinstance(change, ReferralChange):
            self._apply_referral(merchant_id, change)
        elif isinstance(
            change, SettleReview | ScheduleReview | SaveTierState | SaveTriggerUsage | LinkContacts
        ):
            self._apply_fact_side(merchant_id, change)
        elif isinstance(change, Emit):
            self.outbox.append(change.event)
        elif isinstance(change, WriteReceipt):
            ref = ReceiptRef(change.receipt.scope, change.receipt.idempotency_key)
            self.items[(merchant_id, ref)] = change.receipt
        elif isinstance(change, ReleaseReceipt):
            self.items.pop((merchant_id, ReceiptRef(change.scope, change.key)), None)

    def _apply_profile(self, merchant_id: str, change: SaveProfile | UnlinkContact | ListBirthday) -> None:
        """A profile and the look-ups that follow it: contact links, the birthday index."""
        if isinstance(change, UnlinkContact):
            del self.contacts[_contact(merchant_id, change.contact)]
            return
        if isinstance(change, ListBirthday):
            self.birthdays[(merchant_id, change.customer_id)] = change.due
            return
        profile = change.after.customer
        self.items[(merchant_id, CustomerRef(profile.customer_id))] = change.after
        self.due_index[(merchant_id, profile.customer_id)] = due_day(
            change.after.wallet, change.reminder_days
        )
        self._link(merchant_id, profile, change.before)
        if profile.birthday and birthday_changed(profile, change.before):
            self.birthdays[(merchant_id, profile.customer_id)] = next_birthday(profile.birthday, change.today)

    def _apply_fact_side(
        self,
        merchant_id: str,
        change: SettleReview
        | ScheduleReview
        | SaveTierState
        | SaveTriggerUsage
        | LinkContacts
        | MarkRowImported,
    ) -> None:
        """What an order or a trigger writes besides wallets: reviews, tier states, usage, look-ups."""
        if isinstance(change, SettleReview | ScheduleReview):
            self.items[(merchant_id, ReviewRef(change.record.order_id))] = change.record
        elif isinstance(change, SaveTierState):
            due = tier_due_day(change.state, change.program)
            standing = TierStanding(change.state, due.isoformat() if due else "")
            self.items[(merchant_id, TierStateRef(change.state.customer_id))] = standing
        elif isinstance(change, SaveTriggerUsage):
            self.items[(merchant_id, TriggerUsageRef(change.customer_id, change.trigger_id))] = change.after
        elif isinstance(change, MarkRowImported):
            row = ImportedRow(change.customer_id, change.coins)
            self.items[(merchant_id, ImportRowRef(change.import_id, change.row))] = row
        else:
            self._link(merchant_id, change.customer, None)

    def _link(self, merchant_id: str, profile: Customer, before: Customer | None) -> None:
        email, phone = contact_links(profile, before)
        if email:
            self.add_contact(merchant_id, "email", email, profile.customer_id)
        if phone and phone_digits(phone).lstrip("+"):  # the table links only what could be dialled
            self.add_contact(merchant_id, "phone", phone, profile.customer_id)

    def _apply_settings(self, merchant_id: str, change: SettingsChange) -> None:
        if isinstance(change, SaveProgram):
            self.items[(merchant_id, ProgramRef())] = change.program
        elif isinstance(change, AddMerchant):
            self.merchants[merchant_id] = (change.merchant, change.shopify)
            self.items[(merchant_id, ProgramRef())] = change.program
        elif isinstance(change, SaveShopify):
            self.merchants[merchant_id] = (self.merchants[merchant_id][0], change.connection)
        elif isinstance(change, CatalogueChange):
            self._apply_catalogue(merchant_id, change)
        elif isinstance(change, EventsChange):
            self._apply_events(merchant_id, change)
        elif isinstance(change, SaveTierProgram):
            self.tier_programs[merchant_id] = change.program
        elif isinstance(change, SaveTierJob):
            self.items[(merchant_id, TierJobRef())] = change.status
        elif isinstance(change, SaveKeyring):
            self.items[(merchant_id, KeyringRef())] = change.ring
        elif isinstance(change, AddApiKey):
            self.api_keys[(merchant_id, change.key.key_id)] = change.key
        else:
            key = self.api_keys[(merchant_id, change.key_id)]
            self.api_keys[(merchant_id, change.key_id)] = key.model_copy(update={"revoked_at": change.at})

    def _apply_catalogue(self, merchant_id: str, change: CatalogueChange) -> None:
        if isinstance(change, SaveTrigger):
            self.triggers[(merchant_id, change.trigger.trigger_id)] = change.trigger
        elif isinstance(change, DeleteTrigger):
            self.triggers.pop((merchant_id, change.trigger_id), None)
        elif isinstance(change, SaveReward):
            self.rewards[(merchant_id, change.reward.reward_id)] = change.reward
        elif isinstance(change, DeleteReward):
            self.rewards.pop((merchant_id, change.reward_id), None)
        else:
            self.widget_settings[merchant_id] = change.settings

    def _apply_events(self, merchant_id: str, change: EventsChange) -> None:
        if isinstance(change, SaveIntegration):
            self.items[(merchant_id, IntegrationRef(change.integration.integration_id))] = change.integration
        elif isinstance(change, SaveSubscription):
            self.items[(merchant_id, SubscriptionRef(change.subscription.subscription_id))] = (
                change.subscription
            )
        elif isinstance(change, DeleteIntegration):
            del self.items[(merchant_id, IntegrationRef(change.integration_id))]
        elif isinstance(change, DeleteSubscription):
            del self.items[(merchant_id, SubscriptionRef(change.subscription_id))]
        else:
            self.events_switch[merchant_id] = change

    # ---- for tests ----
    def add_customer(
        self,
        merchant_id: str,
        customer: Customer,
        wallet: Wallet,
        entries: Sequence[LedgerEntry] = (),
        *,
        reminder_days: int = 0,
    ) -> None:
        """A stored customer; ``entries`` the ledger that led to ``wallet`` (the invariant is checked),
        indexed as the table would under a program announcing ``reminder_days`` ahead."""
        self.items[(merchant_id, CustomerRef(customer.customer_id))] = CustomerRecord(customer, wallet)
        self.due_index[(merchant_id, customer.customer_id)] = due_day(wallet, reminder_days)
        self.ledger[(merchant_id, customer.customer_id)] = list(entries)

    def add_contact(
        self, merchant_id: str, kind: Literal["email", "phone"], value: str, customer_id: str
    ) -> None:
        """Which customer has this email or phone (the table's look-up items, normalised as it does)."""
        self.contacts[_contact(merchant_id, ContactRef(kind, value))] = customer_id

    def customer(self, merchant_id: str, customer_id: str) -> CustomerRecord:
        return cast("CustomerRecord", self.items[(merchant_id, CustomerRef(customer_id))])

    def order(self, merchant_id: str, order_id: str) -> OrderRecord:
        return cast("OrderRecord", self.items[(merchant_id, OrderRef(order_id))])

    def coupon(self, merchant_id: str, code: str) -> Coupon | None:
        return cast("Coupon | None", self.items.get((merchant_id, CouponRef(code))))

    def events(self, event_type: str) -> list[OutboxEvent]:
        return [e for e in self.outbox if e.event_type == event_type]

    def check_ledger(self) -> None:
        """The invariant of tests/support/ledger.py: every wallet's ledger sums to its balance, its
        lots too, and its entries are numbered 1, 2, 3... without gaps."""
        for (merchant_id, ref), value in self.items.items():
            if not isinstance(value, CustomerRecord):
                continue
            entries = self.ledger.get((merchant_id, value.customer.customer_id), [])
            assert [e.seq for e in entries] == list(range(1, len(entries) + 1)), ref
            credited = sum(e.coins if e.operation.value == "credit" else -e.coins for e in entries)
            assert credited == value.wallet.balance, ref
            assert sum(value.wallet.lots.values()) == value.wallet.balance, ref


def _contact(merchant_id: str, ref: ContactRef) -> str:
    """The table's look-up key for an email (trimmed, lower case) or a phone (its digits)."""
    key = email_key(merchant_id, ref.value) if ref.kind == "email" else phone_key(merchant_id, ref.value)
    return key.pk


def _counted(profile: ReferrerProfile, change: CountReferrer) -> ReferrerProfile:
    """The profile after an ``ADD`` of counters (``shares_<channel>`` and ``friends_revenue`` included)."""
    counters, shares, revenue = dict(profile.counters), dict(profile.shares), profile.friends_revenue
    for name, amount in change.add.items():
        if name.startswith("shares_"):
            channel = name.removeprefix("shares_")
            shares[channel] = shares.get(channel, 0) + int(amount)
        elif name == "friends_revenue":
            revenue += Decimal(amount)
        else:
            counters[name] = counters.get(name, 0) + int(amount)

    def kept(given: frozenset[str] | None, old: frozenset[str]) -> frozenset[str]:
        return old if given is None else frozenset(sorted(given)[-MAX_FINGERPRINTS:])

    return replace(
        profile,
        counters=counters,
        shares=shares,
        friends_revenue=revenue,
        addresses=kept(change.addresses, profile.addresses),
        devices=kept(change.devices, profile.devices),
        code=change.code if change.code is not None else profile.code,
    )


class FakeConfigs(MerchantConfigStore):
    """Merchant configs held in memory (the table's config partition, without the table)."""

    def __init__(self) -> None:
        super().__init__(cast("Any", _Unavailable("table")), ttl_seconds=0)
        self.configs: dict[str, MerchantConfig] = {}

    def put(
        self,
        merchant: Merchant,
        program: Program,
        rewards: Sequence[Reward] = (),
        shopify: ShopifyConnection | None = None,
        referrals: StoredReferralSettings | None = None,
        *,
        triggers: Sequence[Trigger] = (),
    ) -> None:
        items = {f"REWARD#{r.reward_id}": reward_item(merchant.merchant_id, r) for r in rewards}
        items.update({f"TRIGGER#{t.trigger_id}": trigger_item(merchant.merchant_id, t) for t in triggers})
        if referrals is not None:
            items[referral_settings_key(merchant.merchant_id).sk] = settings_item(
                merchant.merchant_id, referrals
            )
        self.configs[merchant.merchant_id] = MerchantConfig(merchant, program, shopify, items)

    def get(self, merchant_id: str) -> MerchantConfig | None:
        return self.configs.get(merchant_id)

    def invalidate(self, merchant_id: str) -> None:
        return None


class _Unavailable:
    """Stands for what a fake-backed use case must not touch: any use of it fails the test."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a use case on fakes touched the {self._what} ({name})")


def _flatten(changes: Sequence[Change]) -> list[Change]:
    flat: list[Change] = []
    for change in changes:
        flat.extend(_flatten(change.changes) if isinstance(change, Part) else [change])
    return flat


def fake_container(store: FakeStore, configs: FakeConfigs) -> Container:
    """A container whose units of work run on ``store``; the table and AWS clients are off limits."""
    off = cast("Any", _Unavailable("table"))
    return Container(
        settings=cast("Any", _Unavailable("settings")),
        table=off,
        config=configs,
        api_keys=cast("Any", _Unavailable("api key store")),
        key_cache=KeyCache(60),  # in memory already
        order_customers=OrderCustomerCache(),  # in memory already
        deliveries=cast("Any", _Unavailable("delivery log")),
        queues=cast("Any", _Unavailable("queues")),
        store=store,
    )
