"""The unit of work's store on the table: one ``BatchGetItem`` in, one ``TransactWriteItems`` out.

Keys, item shapes and condition expressions of what a unit of work reads and commits are here and
in the modules it calls (customers, coupons, receipts; the merchant's settings in
:mod:`pollen.storage.settings_writes`, loaded on use), never in the services.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from pollen.storage.coupons import delete_pending_marker, parse_coupon_item, put_coupon, put_pending_marker
from pollen.storage.customers import parse_customer_item, put_contact_links, put_wallet_change, stage_profile
from pollen.storage.keys import (
    Key,
    coupon_key,
    customer_key,
    guest_orders_gsi1pk,
    indexed_due_day,
    order_key,
    program_key,
    receipt_key,
    review_request_key,
    trigger_count_key,
)
from pollen.storage.merchant_config import parse_program_item
from pollen.storage.ports import (
    Change,
    ClearPending,
    CouponRef,
    CustomerRef,
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
    ReferralChange,
    ReferralFamilyRef,
    ReleaseReceipt,
    ReviewRef,
    SaveCoupon,
    SaveCustomer,
    SaveOrder,
    SaveProfile,
    SaveTierState,
    SaveTriggerUsage,
    ScheduleReview,
    SettingsChange,
    SettingsRef,
    SettleReview,
    TierStanding,
    TierStateRef,
    TriggerUsageRef,
    UnlinkContact,
    WriteReceipt,
)
from pollen.storage.receipts import Receipt
from pollen.storage.table import GSI1, Table
from pollen.storage.transactions import Transaction, numbered

if TYPE_CHECKING:
    from pollen.domain.integrations import Subscription


def _parse_order(item: dict[str, Any]) -> Loaded:
    from pollen.storage.orders import parse_order_item  # noqa: PLC0415 - the paths reading orders

    return parse_order_item(item)


def _parse_tier_state(item: dict[str, Any]) -> Loaded:
    from pollen.storage.tiers import daily_due_day, parse_tier_state  # noqa: PLC0415 - the tier paths

    state = parse_tier_state(item, str(item["customer_id"]))
    return TierStanding(state, daily_due_day(item))


def _tier_state_key(merchant_id: str, ref: TierStateRef) -> Key:
    from pollen.storage.tiers import tier_state_key  # noqa: PLC0415 - the tier paths

    return tier_state_key(merchant_id, ref.customer_id)


def _parse_usage(item: dict[str, Any]) -> Loaded:
    from pollen.storage.triggers import parse_usage  # noqa: PLC0415 - trigger awards only

    return parse_usage(item)


def _import_row_key(merchant_id: str, ref: ImportRowRef) -> Key:
    from pollen.storage.imports import row_receipt_key  # noqa: PLC0415 - imports only

    return row_receipt_key(merchant_id, ref.import_id, ref.row)


def _parse_review(item: dict[str, Any]) -> Loaded:
    from pollen.storage.reviews import parse_review_item  # noqa: PLC0415 - the review job only

    return parse_review_item(item)


# The core references: their keys and parsers (settings and referrals: their own modules, on use).
_KEYS: dict[type, Callable[[str, Any], Key]] = {
    CustomerRef: lambda m, ref: customer_key(m, ref.customer_id),
    DueWalletRef: lambda m, ref: customer_key(m, ref.customer_id),
    CouponRef: lambda m, ref: coupon_key(m, ref.code),
    ProgramRef: lambda m, _ref: program_key(m),
    ReceiptRef: lambda m, ref: receipt_key(m, ref.scope, ref.key),
    OrderRef: lambda m, ref: order_key(m, ref.order_id),
    ReviewRef: lambda m, ref: review_request_key(m, ref.order_id),
    TierStateRef: _tier_state_key,
    TriggerUsageRef: lambda m, ref: trigger_count_key(m, ref.customer_id, ref.trigger_id),
    ImportRowRef: _import_row_key,
}
_PARSERS: dict[type, Callable[[dict[str, Any]], Loaded]] = {
    CustomerRef: parse_customer_item,
    DueWalletRef: lambda item: DueWallet(parse_customer_item(item), indexed_due_day(item)),
    CouponRef: parse_coupon_item,
    ProgramRef: parse_program_item,
    ReceiptRef: Receipt.from_item,
    OrderRef: _parse_order,
    ReviewRef: _parse_review,
    TierStateRef: _parse_tier_state,
    TriggerUsageRef: _parse_usage,
    ImportRowRef: lambda item: ImportedRow(str(item["customer_id"]), int(item.get("coins", 0))),
}


def _key(merchant_id: str, ref: Ref) -> Key:
    keyed = _KEYS.get(type(ref))
    if keyed is not None:
        return keyed(merchant_id, ref)
    if isinstance(ref, ReferralFamilyRef):
        from pollen.storage.referrals import ref_key  # noqa: PLC0415 - the referral paths only

        return ref_key(merchant_id, ref)
    from pollen.storage.settings_writes import settings_key  # noqa: PLC0415 - admin's reads only

    return settings_key(merchant_id, cast("SettingsRef", ref))


def _parse(ref: Ref, item: dict[str, Any]) -> Loaded:
    parser = _PARSERS.get(type(ref))
    if parser is not None:
        return parser(item)
    if isinstance(ref, ReferralFamilyRef):
        from pollen.storage.referrals import parse_ref  # noqa: PLC0415 - the referral paths only

        return parse_ref(ref, item)
    from pollen.storage.settings_writes import parse_setting  # noqa: PLC0415 - admin's reads only

    return parse_setting(cast("SettingsRef", ref), item)


class DynamoStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def read(self, merchant_id: str, refs: Sequence[Ref]) -> dict[Ref, Loaded]:
        if not refs:
            return {}
        if len(refs) == 1:  # one item: GetItem (the same read units, a smaller request and answer)
            one = self.get(merchant_id, refs[0])
            return {refs[0]: one} if one is not None else {}
        keys = {_key(merchant_id, ref): ref for ref in refs}
        found = self._table.batch_get(list(keys))
        return {keys[key]: _parse(keys[key], item) for key, item in found.items()}

    def get(self, merchant_id: str, ref: Ref) -> Loaded | None:
        item = self._table.get(_key(merchant_id, ref), consistent=True)
        return _parse(ref, item) if item else None

    def subscriptions(self, merchant_id: str) -> list[Subscription]:
        from pollen.storage.settings_writes import subscriptions  # noqa: PLC0415 - admin's reads only

        return subscriptions(self._table, merchant_id)

    def guest_orders(self, merchant_id: str, email: str) -> list[str]:
        items = self._table.query_all(guest_orders_gsi1pk(merchant_id, email), index=GSI1)
        return [str(item["order_id"]) for item in items]

    def commit(self, merchant_id: str, changes: Sequence[Change]) -> None:
        tx = self._table.transaction()
        seen: Counter[str] = Counter()  # changes of one kind so far, for unique labels
        _stage_all(tx, merchant_id, changes, seen)
        tx.commit()


def _stage_all(tx: Transaction, merchant_id: str, changes: Sequence[Change], seen: Counter[str]) -> None:
    for change in changes:
        if isinstance(change, ReferralChange):
            from pollen.storage.referrals import stage_referral_change  # noqa: PLC0415 - referrals only

            stage_referral_change(tx, merchant_id, change, seen)
        elif isinstance(change, Part):
            _stage_all(tx.part(change.name), merchant_id, change.changes, Counter())
        elif isinstance(change, MarkRowImported):
            from pollen.storage.imports import put_row_receipt  # noqa: PLC0415 - imports only

            put_row_receipt(
                tx,
                merchant_id,
                change.import_id,
                change.row,
                customer_id=change.customer_id,
                coins=change.coins,
            )
        else:
            _stage(tx, merchant_id, change, seen)


def _nth(seen: Counter[str], kind: str) -> int:
    n = seen[kind]
    seen[kind] += 1
    return n


def _stage(tx: Transaction, merchant_id: str, change: Change, seen: Counter[str]) -> None:
    """Add one change to ``tx``; ``seen`` numbers the changes of a kind that a commit may hold
    several of (events, coupons, customers, tier states), so their labels stay unique."""
    if isinstance(change, SaveCustomer | SaveProfile | UnlinkContact | ListBirthday | LinkContacts):
        _stage_customer(tx, merchant_id, change, seen)
    elif isinstance(change, SaveOrder):
        from pollen.storage.orders import put_order  # noqa: PLC0415 - the paths writing orders

        put_order(tx, merchant_id, change.order, expected_version=change.expected_version)
    elif isinstance(change, SaveCoupon | MarkPending | ClearPending):
        _stage_coupon(tx, merchant_id, change, seen)
    elif isinstance(change, SaveTierState):
        from pollen.storage.tiers import stage_tier_state  # noqa: PLC0415 - the tier paths

        stage_tier_state(tx, merchant_id, change, _nth(seen, "tier"))
    elif isinstance(change, SaveTriggerUsage):
        from pollen.storage.triggers import put_usage  # noqa: PLC0415 - trigger awards only

        put_usage(
            tx,
            merchant_id,
            change.customer_id,
            trigger_id=change.trigger_id,
            before=change.before,
            after=change.after,
        )
    elif isinstance(change, SettingsChange):
        from pollen.storage.settings_writes import stage_settings  # noqa: PLC0415 - admin's writes only

        stage_settings(tx, merchant_id, change)
    elif isinstance(change, SettleReview | ScheduleReview):
        from pollen.storage.reviews import stage_schedule, stage_settled  # noqa: PLC0415 - reviews only

        if isinstance(change, ScheduleReview):
            stage_schedule(tx, merchant_id, change.record)
        else:
            stage_settled(tx, merchant_id, change.record)
    elif isinstance(change, Emit):
        tx.put(change.event.to_item(), label=f"event-{_nth(seen, 'event')}")
    elif isinstance(change, WriteReceipt):
        tx.receipt(change.receipt.to_item())
    elif isinstance(change, ReleaseReceipt):
        tx.delete(receipt_key(merchant_id, change.scope, change.key), label="receipt-release")


def _stage_coupon(
    tx: Transaction, merchant_id: str, change: SaveCoupon | MarkPending | ClearPending, seen: Counter[str]
) -> None:
    if isinstance(change, SaveCoupon):
        label = numbered(seen, "coupon")
        put_coupon(tx, merchant_id, change.coupon, expected_version=change.expected_version, label=label)
    elif isinstance(change, MarkPending):
        put_pending_marker(tx, merchant_id, change.coupon, change.at, label=numbered(seen, "coupon-pending"))
    else:
        delete_pending_marker(tx, merchant_id, change.code)


def _stage_customer(
    tx: Transaction,
    merchant_id: str,
    change: SaveCustomer | SaveProfile | UnlinkContact | ListBirthday | LinkContacts,
    seen: Counter[str],
) -> None:
    if isinstance(change, ListBirthday):
        from pollen.storage.birthdays import birthday_item  # noqa: PLC0415 - the birthdays job only

        tx.put(birthday_item(merchant_id, change.customer_id, change.birthday, change.due), label="birthday")
    elif isinstance(change, SaveProfile):
        stage_profile(tx, merchant_id, change)
    elif isinstance(change, UnlinkContact):
        from pollen.storage.privacy import stage_unlink  # noqa: PLC0415 - erasure only

        stage_unlink(tx, merchant_id, change)
    elif isinstance(change, LinkContacts):
        put_contact_links(tx, merchant_id, change.customer, None)
    else:
        n = _nth(seen, "customer")  # a second wallet (a referrer's) in the same commit: labels apart
        put_wallet_change(
            tx,
            merchant_id,
            change.after,
            expected_version=change.expected_version,
            reminder_days=change.reminder_days,
            entries=change.entries,
            event_ids=change.event_ids,
            part="" if n == 0 else ("referrer" if n == 1 else f"referrer{n}"),
        )
