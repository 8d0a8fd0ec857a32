"""One use case = load → pure domain decision → commit, through a unit of work.

A use case names what it needs (``uow.customers.want(id)``, ``uow.coupons.want(code)``), loads it
all in one round trip (``uow.load()``, which also reads the idempotency receipt), lets the domain
decide, then saves the changed aggregates and emits typed events. :func:`run` commits those, the
receipt included, as one all-or-nothing write guarded by the versions loaded; it retries the whole
use case on a version race and answers a repeated request with its stored answer::

    def use_case(uow: UnitOfWork) -> tuple[int, Answer]:
        record = uow.customers.require(customer_id)
        wallet, entry = some_domain_rule(record.wallet, ...)
        uow.customers.save(record.with_wallet(wallet), [entry], program)
        return 201, Answer(...)

    return run(c.units, merchant_id, use_case, Answer, idempotency=idempotency)

The repositories are small :class:`typing.Protocol` s; behind them a :class:`Store` (the table, or
the in-memory fake of ``tests/support/fakes.py``) holds every key and condition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, cast

from pollen.domain.api_keys import ApiKey
from pollen.domain.coupons import Coupon
from pollen.domain.customers import Customer, CustomerRecord
from pollen.domain.errors import NotFound
from pollen.domain.merchants import Merchant, ShopifyConnection
from pollen.domain.program import Program
from pollen.domain.triggers import Trigger
from pollen.domain.wallet import LedgerEntry
from pollen.events.envelope import OutboxEvent
from pollen.ids import new_ulid
from pollen.model import BaseModel
from pollen.services.idempotency import Idempotency
from pollen.services.retry import retrying
from pollen.storage.errors import DuplicateRequest
from pollen.storage.ports import (
    AddApiKey,
    AddMerchant,
    Change,
    ClearPending,
    CodeOwner,
    ContactOwner,
    ContactRef,
    CouponRef,
    CustomerRef,
    DeleteTrigger,
    DueWallet,
    DueWalletRef,
    Emit,
    ImportedRow,
    ImportRowRef,
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
    ReleaseReceipt,
    ReviewRef,
    RevokeApiKey,
    SaveCoupon,
    SaveCustomer,
    SaveOrder,
    SaveProfile,
    SaveProgram,
    SaveShopify,
    SaveTierState,
    SaveTrigger,
    SaveTriggerUsage,
    ScheduleReview,
    SettleReview,
    Store,
    TierStanding,
    TierStateRef,
    TriggerUsageRef,
    UnlinkContact,
    WriteReceipt,
)
from pollen.storage.receipts import Receipt, fingerprint

if TYPE_CHECKING:
    from decimal import Decimal

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

R = TypeVar("R", bound=BaseModel)
L = TypeVar("L")


def _as(found: object, kind: type[L]) -> L | None:
    """``found`` (None or a ``kind``): a ref always loads as its own type; anything else is a bug."""
    if found is not None and not isinstance(found, kind):
        raise TypeError(f"loaded a {type(found).__name__} where a {kind.__name__} belongs")
    return found


class CustomerRepository(Protocol):
    """Customers with their wallets (one item each); saving a wallet writes its ledger entries, each
    its own ``wallet_transaction`` event."""

    def want(self, customer_id: str) -> None: ...
    def get(self, customer_id: str) -> CustomerRecord | None: ...
    def require(self, customer_id: str) -> CustomerRecord: ...
    def save(self, after: CustomerRecord, entries: Sequence[LedgerEntry], program: Program) -> None: ...
    def save_over(
        self,
        before: CustomerRecord | None,
        after: CustomerRecord,
        entries: Sequence[LedgerEntry],
        program: Program,
    ) -> None: ...
    def save_profile(
        self, after: CustomerRecord, *, before: CustomerRecord | None, program: Program, today: date
    ) -> None: ...
    def want_contact(self, kind: Literal["email", "phone"], value: str) -> None: ...
    def due(self, customer_id: str) -> DueWallet | None: ...
    def contact_owner(self, kind: Literal["email", "phone"], value: str) -> str | None: ...
    def unlink(self, kind: Literal["email", "phone"], value: str, customer_id: str) -> None: ...
    def list_birthday(self, customer_id: str, birthday: str, due: date) -> None: ...
    def link_contacts(self, customer: Customer) -> None: ...


class CouponRepository(Protocol):
    """Coupons by code; a saved coupon must still be at the version it was loaded (or moved) from."""

    def want(self, code: str) -> None: ...
    def get(self, code: str) -> Coupon | None: ...
    def fetch(self, code: str) -> Coupon | None: ...
    def add(self, coupon: Coupon) -> None: ...
    def save(self, coupon: Coupon) -> None: ...
    def mark_pending(self, coupon: Coupon, now: datetime) -> None: ...
    def clear_pending(self, code: str) -> None: ...


class ProgramRepository(Protocol):
    """The merchant's program settings, one versioned item."""

    def version(self) -> int: ...
    def save(self, program: Program, *, expected_version: int) -> None: ...


class MerchantRepository(Protocol):
    def add(self, merchant: Merchant, program: Program, shopify: ShopifyConnection | None) -> None: ...
    def connect_shopify(self, connection: ShopifyConnection) -> None: ...


class TriggerRepository(Protocol):
    """Trigger definitions (the merchant's config; read from its cache, not through the unit of work)
    and how often each customer was awarded one (guarded by the count read)."""

    def save(self, trigger: Trigger) -> None: ...
    def delete(self, trigger_id: str) -> None: ...
    def want_usage(self, customer_id: str, trigger_id: str) -> None: ...
    def usage(self, customer_id: str, trigger_id: str) -> TriggerUsage: ...
    def save_usage(
        self, customer_id: str, trigger_id: str, before: TriggerUsage, after: TriggerUsage
    ) -> None: ...


class TierStateRepository(Protocol):
    """Customers' VIP tier states: read with the fact that moves them, saved under the version read."""

    def want(self, customer_id: str) -> None: ...
    def standing(self, customer_id: str) -> TierStanding | None: ...
    def state(self, customer_id: str) -> TierState: ...
    def save(
        self, state: TierState, *, before: TierState, program: TierProgram, today: date
    ) -> TierState: ...


class RewardRepository(Protocol):
    """The rewards catalogue (the merchant's config; read from its cache, not through the unit of work)."""

    def save(self, reward: Reward) -> None: ...
    def delete(self, reward_id: str) -> None: ...


class WidgetSettingsRepository(Protocol):
    """The storefront widget's settings: one versioned item, saved at the version after the one read."""

    def save(self, settings: StoredWidgetSettings) -> None: ...


class KeyringRepository(Protocol):
    """The customer-token signing secrets: one versioned item (verification reads the cached config)."""

    def fetch(self) -> Keyring: ...
    def save(self, ring: Keyring) -> None: ...


class TierProgramRepository(Protocol):
    """The VIP tier program (read from the config cache) and where re-evaluating members stands."""

    def save(self, program: TierProgram, *, expected_version: int) -> None: ...
    def job(self) -> JobStatus: ...
    def save_job(self, status: JobStatus) -> None: ...


class EventConfigRepository(Protocol):
    """Integrations, subscriptions and the switch. Pages read them from the config cache; a write
    reads what it replaces now, and its save is guarded by the ``updated_at`` it read."""

    def integration(self, integration_id: str) -> Integration | None: ...
    def subscription(self, subscription_id: str) -> Subscription | None: ...
    def subscriptions(self) -> list[Subscription]: ...
    def save_integration(self, integration: Integration, *, replacing: Integration | None) -> None: ...
    def delete_integration(self, integration_id: str) -> None: ...
    def save_subscription(self, subscription: Subscription, *, replacing: Subscription | None) -> None: ...
    def delete_subscription(self, subscription_id: str) -> None: ...
    def switch(self, *, enabled: bool, at: datetime) -> None: ...


class OrderRepository(Protocol):
    """Orders, read with the rest of a use case's one read; saved under the version read."""

    def want(self, order_id: str) -> None: ...
    def get(self, order_id: str) -> OrderRecord | None: ...
    def save(self, order: OrderRecord, *, expected_version: int) -> None: ...


class ReviewRepository(Protocol):
    """Review requests: scheduled by the order's write that first sees it paid; read with their order
    and customer; settled (sent or skipped) once."""

    def want(self, order_id: str) -> None: ...
    def get(self, order_id: str) -> ReviewRecord | None: ...
    def schedule(self, record: ReviewRecord) -> None: ...
    def settle(self, record: ReviewRecord) -> None: ...


class ReferralRepository(Protocol):
    """Referrals and what guards them: the referrer's profile (code, counters, fingerprints), a
    customer as a friend, who holds an invited contact, and which customer has an email or phone.
    ``want_*`` names what the next load reads; the getters read (with everything wanted) on first use."""

    def want_referrer(self, customer_id: str) -> None: ...
    def referrer(self, customer_id: str) -> ReferrerProfile: ...
    def stored_referrer(self, customer_id: str) -> ReferrerProfile | None: ...
    def want_friend(self, customer_id: str) -> None: ...
    def friend(self, customer_id: str) -> FriendState: ...
    def want_invite(self, digest: str) -> None: ...
    def invite(self, digest: str) -> InviteHold | None: ...
    def want_referral(self, referrer_id: str, referral_id: str) -> None: ...
    def referral(self, referrer_id: str, referral_id: str) -> Referral | None: ...
    def fetch_referral(self, referrer_id: str, referral_id: str) -> Referral | None: ...
    def want_code(self, code: str) -> None: ...
    def code_owner(self, code: str) -> CodeOwner | None: ...
    def want_window(self, referrer_id: str, window: str) -> None: ...
    def window_count(self, referrer_id: str, window: str) -> int: ...
    def count_window(self, referrer_id: str, window: str, *, limit: int, expires_at: int | None) -> None: ...
    def want_contact(self, kind: Literal["email", "phone"], value: str) -> None: ...
    def contact_is_customer(self, kind: Literal["email", "phone"], value: str) -> bool: ...
    def save_settings(self, settings: StoredReferralSettings, *, base: int) -> None: ...
    def claim_code(self, code: str, customer_id: str, *, at: datetime, on_profile: bool) -> None: ...
    def count(
        self,
        customer_id: str,
        add: Mapping[str, int | Decimal],
        *,
        addresses: frozenset[str] | None = None,
        devices: frozenset[str] | None = None,
        code: str | None = None,
    ) -> None: ...
    def set_discount(self, customer_id: str, discount_id: str) -> None: ...
    def save(self, referral: Referral, *, before: Referral | None) -> None: ...
    def hold_invite(self, digest: str, referral: Referral) -> None: ...
    def save_friend(self, state: FriendState, *, expected_version: int) -> None: ...


class ImportRepository(Protocol):
    """A migration import's row receipts: a row is imported at most once, whatever the retries."""

    def want_row(self, import_id: str, row: int) -> None: ...
    def row(self, import_id: str, row: int) -> ImportedRow | None: ...
    def mark_done(self, import_id: str, row: int, *, customer_id: str, coins: int) -> None: ...


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> None: ...
    def revoke(self, key_id: str, *, at: datetime) -> None: ...


class Replayed(Exception):
    """The request was carried out before: here is its receipt (raised by :meth:`UnitOfWork.load`)."""

    def __init__(self, receipt: Receipt) -> None:
        super().__init__("replayed")
        self.receipt = receipt


class UnitOfWork:
    """The reads and the pending changes of one attempt of one use case, for one merchant."""

    def __init__(self, store: Store, merchant_id: str, idempotency: Idempotency | None = None) -> None:
        self.merchant_id = merchant_id
        self._store = store
        self._idempotency = idempotency
        self._wanted: list[Ref] = []
        self._read: set[Ref] = set()
        self._receipt_read = False
        self._loaded: dict[Ref, Loaded] = {}
        self._versions: dict[Ref, int] = {}  # what each loaded aggregate was at: saves are guarded by it
        self._changes: list[Change] = []
        self.customers: CustomerRepository = _Customers(self)
        self.coupons: CouponRepository = _Coupons(self)
        self.programs: ProgramRepository = _Programs(self)
        self.api_keys: ApiKeyRepository = _ApiKeys(self)
        self.triggers: TriggerRepository = _Triggers(self)
        self.merchants: MerchantRepository = _Merchants(self)
        self.orders: OrderRepository = _Orders(self)
        self.reviews: ReviewRepository = _Reviews(self)
        self.tier_states: TierStateRepository = _TierStates(self)
        self.imports: ImportRepository = _Imports(self)

    # ---- reading ----
    @property
    def store(self) -> Store:
        return self._store

    # The merchant's settings, edited from the admin API: built on first use, so the functions that
    # never edit them (wallet, redemption, webhooks) do not import them at init.
    @property
    def rewards(self) -> RewardRepository:
        from pollen.services.settings_repositories import Rewards  # noqa: PLC0415

        return Rewards(self)

    @property
    def widget_settings(self) -> WidgetSettingsRepository:
        from pollen.services.settings_repositories import WidgetSettings  # noqa: PLC0415

        return WidgetSettings(self)

    @property
    def keyring(self) -> KeyringRepository:
        from pollen.services.settings_repositories import TokenKeyring  # noqa: PLC0415

        return TokenKeyring(self)

    @property
    def tiers(self) -> TierProgramRepository:
        from pollen.services.settings_repositories import Tiers  # noqa: PLC0415

        return Tiers(self)

    @property
    def events_config(self) -> EventConfigRepository:
        from pollen.services.settings_repositories import EventConfig  # noqa: PLC0415

        return EventConfig(self)

    @property
    def referrals(self) -> ReferralRepository:
        from pollen.services.referral_repository import Referrals  # noqa: PLC0415 - referral paths only

        return Referrals(self)

    def _want(self, ref: Ref) -> None:
        if ref not in self._wanted and ref not in self._read:
            self._wanted.append(ref)

    def load(self) -> None:
        """Read everything wanted (and the request's receipt) in one round trip. Raises
        :class:`Replayed` when the receipt shows this request was already carried out."""
        receipt_ref = None
        if self._idempotency is not None and not self._receipt_read:
            receipt_ref = ReceiptRef(self._idempotency.scope, self._idempotency.key)
            self._wanted.append(receipt_ref)
            self._receipt_read = True
        found = self._store.read(self.merchant_id, self._wanted) if self._wanted else {}
        self._read.update(self._wanted)
        self._wanted = []
        receipt = found.pop(receipt_ref, None) if receipt_ref is not None else None
        self._loaded.update(found)  # kept on a replay too: what the request is about, as it is now
        for ref, value in found.items():
            if isinstance(value, Coupon | CustomerRecord):
                self._versions[ref] = value.version
            elif isinstance(value, DueWallet):  # a customer read for the due-items job: saved as one
                self._versions[CustomerRef(value.record.customer.customer_id)] = value.record.version
        if receipt is not None and self._idempotency is not None:
            assert isinstance(receipt, Receipt)
            replayed = self._idempotency.replay(receipt.to_item())  # 422 for another request
            if replayed is not None:
                raise Replayed(replayed)

    def _get(self, ref: Ref) -> Loaded | None:
        if ref not in self._read:  # not read yet: read it with everything else wanted so far
            self._want(ref)
            self.load()
        return self._loaded.get(ref)

    def get_as(self, ref: Ref, kind: type[L]) -> L | None:
        """What ``ref`` holds (read with everything else wanted so far, on first use), as ``kind``:
        the typed read every repository's getter is."""
        return _as(self._get(ref), kind)

    def fetch_as(self, ref: Ref, kind: type[L]) -> L | None:
        """:meth:`fetch` (one read of its own, now), as ``kind``."""
        return _as(self.fetch(ref), kind)

    def fetch(self, ref: Ref) -> Loaded | None:
        found = self._store.get(self.merchant_id, ref)
        self._read.add(ref)
        if found is None:
            self._loaded.pop(ref, None)
            return None
        self._loaded[ref] = found
        if isinstance(found, Coupon | CustomerRecord | Program):
            self._versions[ref] = found.version
        return found

    # ---- changing ----
    def stage(self, change: Change) -> None:
        self._changes.append(change)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """What is staged inside is one :class:`Part` of the commit (labels kept apart by ``name``):
        independent changes, e.g. an import's rows, committed together."""
        outer, self._changes = self._changes, []
        try:
            yield
        finally:
            inner, self._changes = self._changes, outer
        self._changes.append(Part(name, tuple(inner)))

    def expected_version(self, ref: Ref, saved_version: int) -> int:
        """The version a save is guarded by: the one loaded, else the one before ``saved_version``
        (an aggregate loaded by an earlier unit of work and moved by one transition since)."""
        return self._versions.get(ref, saved_version - 1)

    def emit(self, event_type: str, payload: BaseModel, *, customer_id: str | None, now: datetime) -> None:
        """An outbox event, committed with the change it reports; ``payload`` is the catalogue's model."""
        event = OutboxEvent(
            event_type=event_type,
            merchant_id=self.merchant_id,
            customer_id=customer_id,
            occurred_at=now,
            payload=payload.model_dump(mode="json"),
        )
        self._changes.append(Emit(event))

    def emit_event(self, event: OutboxEvent) -> None:
        """An outbox event built elsewhere, committed with the change it reports."""
        self._changes.append(Emit(event))

    def release_receipt(self, idempotency: Idempotency) -> None:
        self._changes.append(ReleaseReceipt(idempotency.scope, idempotency.key))

    def commit(
        self, *, now: datetime | None = None, status: int = 200, answer: BaseModel | None = None
    ) -> None:
        """Everything staged, plus the receipt that answers a retry (``status``, ``answer``, stored
        at ``now``), in one all-or-nothing write (none when nothing was staged)."""
        changes = list(self._changes)
        if self._idempotency is not None:
            if answer is None or now is None:
                raise ValueError("an idempotent request's commit needs its answer and time")
            receipt = Receipt(
                merchant_id=self.merchant_id,
                scope=self._idempotency.scope,
                idempotency_key=self._idempotency.key,
                request_fingerprint=fingerprint(self._idempotency.request),
                status=status,
                response=answer.model_dump(mode="json"),
                created_at=now,
            )
            changes.append(WriteReceipt(receipt))
        if changes:
            self._store.commit(self.merchant_id, changes)
        self._changes = []


class _Customers:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def want(self, customer_id: str) -> None:
        self._uow._want(CustomerRef(customer_id))

    def get(self, customer_id: str) -> CustomerRecord | None:
        return self._uow.get_as(CustomerRef(customer_id), CustomerRecord)

    def require(self, customer_id: str) -> CustomerRecord:
        record = self.get(customer_id)
        if record is None:
            raise NotFound("No customer with this id.")
        return record

    def save(self, after: CustomerRecord, entries: Sequence[LedgerEntry], program: Program) -> None:
        expected = self._uow._versions.get(CustomerRef(after.customer.customer_id))  # None: a new customer
        self._save(after, entries, program, expected)

    def save_over(
        self,
        before: CustomerRecord | None,
        after: CustomerRecord,
        entries: Sequence[LedgerEntry],
        program: Program,
    ) -> None:
        """:meth:`save` guarded by ``before`` (None: a new customer) rather than by what this unit of
        work loaded: a customer read by another (an import's chunk read once, written in groups)."""
        self._save(after, entries, program, before.version if before else None)

    def _save(
        self, after: CustomerRecord, entries: Sequence[LedgerEntry], program: Program, expected: int | None
    ) -> None:
        # Each entry is its own wallet_transaction event (pollen.events.ledger), named here.
        event_ids = tuple(new_ulid() for _ in entries)
        self._uow.stage(
            SaveCustomer(after, expected, tuple(entries), event_ids, program.expiry.reminder_days_before)
        )

    def save_profile(
        self, after: CustomerRecord, *, before: CustomerRecord | None, program: Program, today: date
    ) -> None:
        """A profile change (``before``: as loaded, None for a new customer); the look-ups that follow
        the profile (contact links, the birthday index from ``today``) are saved with it."""
        self._uow.stage(
            SaveProfile(
                after,
                before.customer if before else None,
                before.version if before else None,
                program.expiry.reminder_days_before,
                today,
            )
        )

    def want_contact(self, kind: Literal["email", "phone"], value: str) -> None:
        self._uow._want(ContactRef(kind, value))

    def due(self, customer_id: str) -> DueWallet | None:
        """The customer with the day the due index lists their wallet under (the due-items job's read);
        a later :meth:`save` is guarded by the version read."""
        return self._uow.get_as(DueWalletRef(customer_id), DueWallet)

    def contact_owner(self, kind: Literal["email", "phone"], value: str) -> str | None:
        """The customer an email or phone look-up points at (normalised as the look-ups are)."""
        found = self._uow.get_as(ContactRef(kind, value), ContactOwner)
        return found.customer_id if found else None

    def unlink(self, kind: Literal["email", "phone"], value: str, customer_id: str) -> None:
        """Delete the look-up, only while it still points at ``customer_id``."""
        self._uow.stage(UnlinkContact(ContactRef(kind, value), customer_id))

    def list_birthday(self, customer_id: str, birthday: str, due: date) -> None:
        """List the customer under ``due``, the next day their birthday is celebrated."""
        self._uow.stage(ListBirthday(customer_id, birthday, due))

    def link_contacts(self, customer: Customer) -> None:
        """The email and phone look-ups of a customer this unit of work creates."""
        self._uow.stage(LinkContacts(customer))


class _Coupons:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def want(self, code: str) -> None:
        self._uow._want(CouponRef(code))

    def get(self, code: str) -> Coupon | None:
        return self._uow.get_as(CouponRef(code), Coupon)

    def fetch(self, code: str) -> Coupon | None:
        """The coupon as stored now, read on its own (one GetItem), e.g. after a lost race; later
        saves in this unit of work are guarded by its version."""
        return self._uow.fetch_as(CouponRef(code), Coupon)

    def add(self, coupon: Coupon) -> None:
        self._uow.stage(SaveCoupon(coupon, None))

    def save(self, coupon: Coupon) -> None:
        expected = self._uow.expected_version(CouponRef(coupon.code), coupon.version)
        self._uow.stage(SaveCoupon(coupon, expected))

    def mark_pending(self, coupon: Coupon, now: datetime) -> None:
        self._uow.stage(MarkPending(coupon, now))

    def clear_pending(self, code: str) -> None:
        self._uow.stage(ClearPending(code))


class _Orders:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def want(self, order_id: str) -> None:
        self._uow._want(OrderRef(order_id))

    def get(self, order_id: str) -> OrderRecord | None:
        found = self._uow._get(OrderRef(order_id))
        assert found is None or type(found).__name__ == "OrderRecord"  # by name: no order models at init
        return cast("OrderRecord | None", found)

    def save(self, order: OrderRecord, *, expected_version: int) -> None:
        """Guarded by ``expected_version``, the version the order was read at (0: a new order)."""
        self._uow.stage(SaveOrder(order, expected_version))


class _Reviews:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def want(self, order_id: str) -> None:
        self._uow._want(ReviewRef(order_id))

    def get(self, order_id: str) -> ReviewRecord | None:
        found = self._uow._get(ReviewRef(order_id))
        assert found is None or type(found).__name__ == "ReviewRecord"  # by name, as for orders
        return cast("ReviewRecord | None", found)

    def schedule(self, record: ReviewRecord) -> None:
        self._uow.stage(ScheduleReview(record))

    def settle(self, record: ReviewRecord) -> None:
        self._uow.stage(SettleReview(record))


class _Imports:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def want_row(self, import_id: str, row: int) -> None:
        self._uow._want(ImportRowRef(import_id, row))

    def row(self, import_id: str, row: int) -> ImportedRow | None:
        return self._uow.get_as(ImportRowRef(import_id, row), ImportedRow)

    def mark_done(self, import_id: str, row: int, *, customer_id: str, coins: int) -> None:
        self._uow.stage(MarkRowImported(import_id, row, customer_id, coins))


class _TierStates:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def want(self, customer_id: str) -> None:
        self._uow._want(TierStateRef(customer_id))

    def standing(self, customer_id: str) -> TierStanding | None:
        """The stored state with the day the daily index lists it under (None: no state yet)."""
        return self._uow.get_as(TierStateRef(customer_id), TierStanding)

    def state(self, customer_id: str) -> TierState:
        """The customer's state; a fresh one (version 0, no tier) when none is stored."""
        found = self.standing(customer_id)
        if found is not None:
            return found.state
        from pollen.domain.tiers import TierState  # noqa: PLC0415 - the tier paths only

        return TierState(customer_id=customer_id)

    def save(self, state: TierState, *, before: TierState, program: TierProgram, today: date) -> TierState:
        """``state`` at ``before.version + 1`` (returned as written), guarded by ``before.version``;
        the member list and counters follow a new member or a moved tier."""
        written = state.model_copy(update={"version": before.version + 1})
        new_member = before.version == 0 or before.tier_id != written.tier_id
        self._uow.stage(SaveTierState(written, program, today, before.version, before.tier_id, new_member))
        return written


class _Programs:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def version(self) -> int:
        """The stored program's version, read now (one GetItem); 0 when there is none yet."""
        found = self._uow.fetch(ProgramRef())
        return found.version if isinstance(found, Program) else 0

    def save(self, program: Program, *, expected_version: int) -> None:
        """Guarded by ``expected_version`` (0: there must be no program yet)."""
        self._uow.stage(SaveProgram(program, expected_version or None))


class _Merchants:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def add(self, merchant: Merchant, program: Program, shopify: ShopifyConnection | None) -> None:
        self._uow.stage(AddMerchant(merchant, program, shopify))

    def connect_shopify(self, connection: ShopifyConnection) -> None:
        self._uow.stage(SaveShopify(connection))


class _Triggers:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def save(self, trigger: Trigger) -> None:
        self._uow.stage(SaveTrigger(trigger))

    def delete(self, trigger_id: str) -> None:
        self._uow.stage(DeleteTrigger(trigger_id))

    def want_usage(self, customer_id: str, trigger_id: str) -> None:
        self._uow._want(TriggerUsageRef(customer_id, trigger_id))

    def usage(self, customer_id: str, trigger_id: str) -> TriggerUsage:
        found = self._uow._get(TriggerUsageRef(customer_id, trigger_id))
        if found is None:
            from pollen.domain.triggers import TriggerUsage  # noqa: PLC0415 - trigger awards only

            return TriggerUsage()
        return cast("TriggerUsage", found)

    def save_usage(
        self, customer_id: str, trigger_id: str, before: TriggerUsage, after: TriggerUsage
    ) -> None:
        """Guarded by the count read, so two concurrent awards cannot both count as the first."""
        self._uow.stage(SaveTriggerUsage(customer_id, trigger_id, before, after))


class _ApiKeys:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def add(self, key: ApiKey) -> None:
        self._uow.stage(AddApiKey(key))

    def revoke(self, key_id: str, *, at: datetime) -> None:
        self._uow.stage(RevokeApiKey(key_id, at))


class Units:
    """Starts units of work on one store (the container's table, or a fake)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def begin(self, merchant_id: str, idempotency: Idempotency | None = None) -> UnitOfWork:
        return UnitOfWork(self.store, merchant_id, idempotency)


def run(
    units: Units,
    merchant_id: str,
    use_case: Callable[[UnitOfWork], tuple[int, R]],
    response_type: type[R],
    *,
    now: datetime,
    idempotency: Idempotency | None = None,
) -> tuple[int, R]:
    """Run ``use_case`` in a fresh unit of work and commit what it staged with its receipt; again on
    a version race; a request carried out before gets its stored answer (validated as
    ``response_type``), whether its receipt was seen when loading or only when committing."""

    def replay(receipt: Receipt) -> tuple[int, R]:
        return receipt.status, response_type.model_validate(receipt.response)

    def attempt() -> tuple[int, R]:
        uow = units.begin(merchant_id, idempotency)
        try:
            status, answer = use_case(uow)
            uow.commit(now=now, status=status, answer=answer)
        except Replayed as done:
            return replay(done.receipt)
        except DuplicateRequest as dup:
            replayed = idempotency.replay(dup.receipt) if idempotency else None
            if replayed is None:
                raise
            return replay(replayed)
        return status, answer

    return retrying(attempt)
