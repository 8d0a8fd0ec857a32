"""What a unit of work asks of storage: references to read, changes to commit (no keys, no boto3).

:class:`Store` is the port; :class:`pollen.storage.unit_of_work.DynamoStore` is the table behind it
and ``tests/support/fakes.py`` an in-memory one. References and changes are plain typed values, so
keys and condition expressions stay in ``storage/`` and a fake can honour the same rules: one
batched read; one all-or-nothing commit in which a saved aggregate must still be at the version
read (else :class:`ConditionFailed` naming it), a new one must not exist, and an existing receipt
makes the whole commit a :class:`DuplicateRequest`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

from pollen.domain.api_keys import ApiKey
from pollen.domain.coupons import Coupon
from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.merchants import Merchant, ShopifyConnection
from pollen.domain.program import Program
from pollen.domain.triggers import Trigger
from pollen.domain.values import value
from pollen.domain.wallet import LedgerEntry
from pollen.events.envelope import OutboxEvent
from pollen.storage.receipts import Receipt

if TYPE_CHECKING:  # the admin's settings: only the unit of work's settings repositories load them
    from pollen.domain.customer_tokens import Keyring
    from pollen.domain.integrations import Integration, Subscription
    from pollen.domain.orders import OrderRecord
    from pollen.domain.referrals import (
        FriendState,
        InviteHold,
        Referral,
        ReferrerProfile,
        StoredReferralSettings,
    )
    from pollen.domain.reviews import ReviewRecord
    from pollen.domain.rewards import Reward
    from pollen.domain.tiers import TierProgram, TierState
    from pollen.domain.triggers import TriggerUsage
    from pollen.domain.widget import StoredWidgetSettings
    from pollen.storage.tiers import JobStatus


@value
class CustomerRef:
    customer_id: str


@value
class CouponRef:
    code: str


@value
class ReceiptRef:
    scope: str
    key: str


@value
class OrderRef:
    order_id: str


@value
class DueWalletRef:
    """A customer read by the due-items job: the record and the day its wallet is indexed under."""

    customer_id: str


@value
class DueWallet:
    record: CustomerRecord
    indexed_on: str | None  # the due index's day for this wallet (ISO), None when it is not listed


@value
class ReviewRef:
    """An order's review request."""

    order_id: str


@value
class TierStateRef:
    """A customer's VIP tier state (absent: they have none yet)."""

    customer_id: str


@value
class TierStanding:
    state: TierState
    indexed_on: str  # the day the daily tier index lists the state under (ISO), "" when it is not listed


@value
class TriggerUsageRef:
    """How often a customer was awarded a trigger (absent: never)."""

    customer_id: str
    trigger_id: str


@value
class ImportRowRef:
    """Whether a migration import's row was imported (its receipt)."""

    import_id: str
    row: int


@value
class ImportedRow:
    customer_id: str
    coins: int


@value
class ProgramRef:
    pass


@value
class KeyringRef:
    """The merchant's customer-token signing secrets."""


@value
class TierJobRef:
    """Where re-evaluating the merchant's members against its tier program stands."""


@value
class IntegrationRef:
    integration_id: str


@value
class SubscriptionRef:
    subscription_id: str


# ---- referrals: the referrer's profile, a customer as a friend, who holds an invited contact, one
# referral (in its referrer's partition), and which customer has an email or phone ----


@value
class ReferrerRef:
    customer_id: str


@value
class FriendRef:
    customer_id: str


@value
class InviteRef:
    digest: str  # domain.referrals.contact_digest


@value
class ReferralRef:
    referrer_id: str
    referral_id: str


@value
class ContactRef:
    kind: Literal["email", "phone"]
    value: str


@value
class CodeRef:
    """Which referrer a referral code names."""

    code: str


@value
class CodeOwner:
    customer_id: str
    code: str


@value
class WindowRef:
    """How many referrals a referrer was rewarded for in one limit window."""

    referrer_id: str
    window: str


@value
class WindowCount:
    rewarded: int


@value
class ContactOwner:
    """The customer an email or phone belongs to."""

    customer_id: str


ReferralFamilyRef = ReferrerRef | FriendRef | InviteRef | ReferralRef | ContactRef | CodeRef | WindowRef
Ref = (
    CustomerRef
    | DueWalletRef
    | TierStateRef
    | TriggerUsageRef
    | ImportRowRef
    | CouponRef
    | OrderRef
    | ReviewRef
    | ReceiptRef
    | ProgramRef
    | KeyringRef
    | TierJobRef
    | IntegrationRef
    | SubscriptionRef
    | ReferralFamilyRef
)
Loaded: TypeAlias = (
    "CustomerRecord | DueWallet | Coupon | Receipt | Program | Keyring | JobStatus | Integration"
    " | Subscription | ReferrerProfile | FriendState | InviteHold | Referral | ContactOwner | OrderRecord"
    " | ReviewRecord | TierStanding | TriggerUsage | CodeOwner | WindowCount | ImportedRow"
)


@value
class SaveCustomer:
    """The customer item (profile + wallet) and its new ledger entries, each its own
    ``wallet_transaction`` event (the stream delivers the entry's insert) named by its event id."""

    after: CustomerRecord
    expected_version: int | None  # None: a new customer
    entries: tuple[LedgerEntry, ...]
    event_ids: tuple[str, ...]  # one per entry: the event's id, every receiver's dedupe id
    reminder_days: int  # the wallet's due day (the scheduled job's index) depends on it


@value
class SaveProfile:
    """A customer's profile (the wallet as loaded, at its next version) with the look-ups that follow
    it: the email and phone links (:func:`pollen.domain.customers.contact_links`) and, when the
    birthday changed, the birthday index from ``today``. Guarded as :class:`SaveCustomer` is."""

    after: CustomerRecord
    before: Customer | None  # the profile as loaded; None: a new customer
    expected_version: int | None
    reminder_days: int
    today: date


@value
class ListBirthday:
    """List a customer under the next day their birthday is celebrated (the daily job's index)."""

    customer_id: str
    birthday: str
    due: date


@value
class SaveOrder:
    """An order's state, guarded by the version it was read at (0: a new order)."""

    order: OrderRecord
    expected_version: int


@value
class LinkContacts:
    """The email and phone look-ups of a customer first seen on an order (a new customer)."""

    customer: Customer


@value
class SaveTierState:
    """A customer's tier state at ``state.version``, guarded by ``expected_version`` (0: new), with
    its line in the member list and the per-tier member counters when the tier moved."""

    state: TierState
    program: TierProgram
    today: date
    expected_version: int
    from_tier: str | None
    new_member: bool


@value
class SaveTriggerUsage:
    """A trigger's usage counter, guarded by the count it was read at (0: none yet)."""

    customer_id: str
    trigger_id: str
    before: TriggerUsage
    after: TriggerUsage


@value
class ScheduleReview:
    """An order's review request, written by the write that first sees the order paid."""

    record: ReviewRecord


@value
class MarkRowImported:
    """A migration import's row done; fails (``import-row-<n>``) when it was imported before."""

    import_id: str
    row: int
    customer_id: str
    coins: int


@value
class UnlinkContact:
    """Delete an email or phone look-up, only while it still points at ``customer_id``."""

    contact: ContactRef
    customer_id: str


@value
class SaveCoupon:
    coupon: Coupon
    expected_version: int | None  # None: a new coupon, whose code must be free


@value
class MarkPending:
    """A coupon awaiting Shopify, listed for the scheduled job in case its request dies."""

    coupon: Coupon
    at: datetime


@value
class ClearPending:
    code: str


@value
class SaveProgram:
    program: Program
    expected_version: int | None  # None: the merchant's first program


@value
class AddMerchant:
    """A new merchant (its id must be free) with its first program and, optionally, its shop."""

    merchant: Merchant
    program: Program
    shopify: ShopifyConnection | None


@value
class SaveShopify:
    connection: ShopifyConnection


@value
class SaveTrigger:
    """A trigger's definition, created or replaced (its customers' usage counters are kept)."""

    trigger: Trigger


@value
class DeleteTrigger:
    trigger_id: str


@value
class SaveReward:
    """A catalogue reward, created or replaced (coupons already issued keep their own terms)."""

    reward: Reward


@value
class DeleteReward:
    reward_id: str


@value
class SaveWidgetSettings:
    """The widget's settings at ``settings.version``; fails (:class:`ConditionFailed`
    ``widget-settings``) unless the stored ones are still at ``settings.version - 1`` (none: 0)."""

    settings: StoredWidgetSettings


@value
class SaveKeyring:
    """The keyring at ``ring.version``; fails (:class:`ConditionFailed` ``token-keys``) unless the stored
    one is still at ``ring.version - 1`` (none: 0), so two rotations never both win."""

    ring: Keyring


@value
class SaveTierProgram:
    """The VIP tier program; fails (:class:`ConditionFailed` ``tiers``) unless the stored one is still
    at ``expected_version`` (0: there is none yet)."""

    program: TierProgram
    expected_version: int


@value
class SaveTierJob:
    status: JobStatus


@value
class SaveIntegration:
    """An integration; fails (:class:`ConditionFailed` ``integration``) unless the stored one still
    has the ``updated_at`` it was read with (``None``: there must be none)."""

    integration: Integration
    seen_updated_at: datetime | None


@value
class DeleteIntegration:
    """Fails (``integration``) when there is no such integration."""

    integration_id: str


@value
class SaveSubscription:
    """A subscription, guarded as :class:`SaveIntegration` (label ``subscription``); fails
    (``integration``) too when the integration it sends to no longer exists."""

    subscription: Subscription
    seen_updated_at: datetime | None


@value
class DeleteSubscription:
    """Fails (``subscription``) when there is no such subscription."""

    subscription_id: str


@value
class SaveEventsSwitch:
    enabled: bool
    updated_at: datetime


@value
class AddApiKey:
    key: ApiKey  # its id must be new


@value
class RevokeApiKey:
    """Fails (:class:`ConditionFailed` ``api_key``; its old image empty when there is no such key)
    unless the key exists and is not revoked yet."""

    key_id: str
    at: datetime


@value
class SaveReferralSettings:
    """Fails (:class:`ConditionFailed` ``referral-settings``) unless the stored settings are still at
    ``base`` (0: there must be none)."""

    settings: StoredReferralSettings
    base: int


@value
class ClaimCode:
    """``code`` names ``customer_id`` from now on; fails (``referral-code``) when it names someone
    already. With ``on_profile`` the referrer's profile takes it too, failing (``referrer``) when the
    profile has a code already (a concurrent first view made one)."""

    code: str
    customer_id: str
    at: datetime
    on_profile: bool


@value
class CountReferrer:
    """The referrer's counters move by ``add`` (they commute: no read, no version); the fingerprint
    sets are replaced when given; ``code`` is set only while the profile has none (else ``referrer``)."""

    customer_id: str
    add: Mapping[str, int | Decimal]
    addresses: frozenset[str] | None = None
    devices: frozenset[str] | None = None
    code: str | None = None


@value
class SetReferrerDiscount:
    """The Shopify discount that carries the referrer's code (unconditional: it only ever names one)."""

    customer_id: str
    discount_id: str


@value
class SaveReferral:
    """The referral and its admin copies; fails (``referral``) unless the stored one is still at
    ``before.version`` (``before`` None: there must be none)."""

    referral: Referral
    before: Referral | None


@value
class HoldInvite:
    """First referrer wins an invited contact: fails (``invite-<n>``, n its place among the commit's
    invites) when someone holds it already."""

    digest: str
    referral: Referral


@value
class CountWindow:
    """One more rewarded referral in the referrer's window; fails (``referral-window``) beyond ``limit``."""

    referrer_id: str
    window: str
    limit: int
    expires_at: int | None


@value
class SaveFriend:
    """Fails (``referred``) unless the stored state is still at ``expected_version`` (0: none)."""

    state: FriendState
    expected_version: int


@value
class SettleReview:
    """A review request sent or skipped; fails (``review-request``) unless the stored one is still
    pending (another run settled it first)."""

    record: ReviewRecord


@value
class Emit:
    event: OutboxEvent


@value
class WriteReceipt:
    receipt: Receipt


@value
class ReleaseReceipt:
    """Forget a request's receipt (a compensated redemption): the same key may try again."""

    scope: str
    key: str


@value
class Part:
    """Independent changes sharing one commit (a migration import's rows): each part keeps its own
    labels (``customer@12``...), so a failed condition names the part it belongs to."""

    name: str
    changes: tuple[Change, ...]


# The merchant's settings, by family: what the admin API edits. The table store stages them in a
# module of their own (storage/settings_writes.py), loaded only when a settings change is committed.
CatalogueChange = SaveTrigger | DeleteTrigger | SaveReward | DeleteReward | SaveWidgetSettings
TierChange = SaveTierProgram | SaveTierJob
AccessChange = SaveKeyring | AddApiKey | RevokeApiKey
EventsChange = SaveIntegration | DeleteIntegration | SaveSubscription | DeleteSubscription | SaveEventsSwitch
SettingsChange = (
    SaveProgram | AddMerchant | SaveShopify | CatalogueChange | TierChange | AccessChange | EventsChange
)
# What the referral use cases change: staged by storage/referrals.py.
ReferralChange = (
    SaveReferralSettings
    | ClaimCode
    | CountReferrer
    | SetReferrerDiscount
    | SaveReferral
    | HoldInvite
    | SaveFriend
    | CountWindow
)
Change = (
    SaveCustomer
    | SaveProfile
    | ListBirthday
    | SaveOrder
    | LinkContacts
    | SaveTierState
    | SaveTriggerUsage
    | ScheduleReview
    | MarkRowImported
    | Part
    | UnlinkContact
    | SaveCoupon
    | MarkPending
    | ClearPending
    | SettingsChange
    | ReferralChange
    | SettleReview
    | Emit
    | WriteReceipt
    | ReleaseReceipt
)
SettingsRef = KeyringRef | TierJobRef | IntegrationRef | SubscriptionRef


@dataclass
class Calls:
    """Round trips a store made (the budgets in docs/design.md count them)."""

    reads: int = 0
    commits: int = 0
    log: list[str] = field(default_factory=list)


class Store(Protocol):
    def read(self, merchant_id: str, refs: Sequence[Ref]) -> dict[Ref, Loaded]:
        """Everything asked that exists, in one round trip (strongly consistent)."""
        ...

    def get(self, merchant_id: str, ref: Ref) -> Loaded | None:
        """One item on its own (GetItem, strongly consistent): a fresh look outside a use case."""
        ...

    def commit(self, merchant_id: str, changes: Sequence[Change]) -> None:
        """All or nothing, in one round trip; see the module doc for the conditions."""
        ...

    def subscriptions(self, merchant_id: str) -> list[Subscription]:
        """Every event subscription of the merchant, read now (one strongly consistent Query)."""
        ...

    def guest_orders(self, merchant_id: str, email: str) -> list[str]:
        """The ids of the orders placed as a guest with ``email`` and not yet claimed (one Query)."""
        ...
