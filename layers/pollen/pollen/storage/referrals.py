"""Referral items: settings, referrer profiles, friend state, referrals, codes, invites, admin copies.

A referral lives in its referrer's partition (``REF#{id}``), so a customer's history is one Query;
while it waits for the friend it is also listed in the due index (reminders). The admin lists read
copies under ``REFS#{status}`` and ``REFS#all``, rewritten in the same transaction as the referral.
Counters on the referrer profile move with ``ADD`` (they commute, no read needed).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pollen.clock import isoformat
from pollen.domain.customers import Customer
from pollen.domain.referrals import FriendState, InviteHold, Referral, ReferrerProfile, StoredReferralSettings
from pollen.storage.keys import REFERRAL_ENTITY as REFERRAL_ENTITY  # noqa: PLC0414 - re-exported
from pollen.storage.keys import (
    Key,
    customer_pk,
    due_index,
    email_key,
    invite_key,
    phone_key,
    referral_admin_key,
    referral_code_key,
    referral_key,
    referral_settings_key,
    referral_window_key,
    referrals_admin_pk,
    referred_key,
    referrer_key,
)
from pollen.storage.merchant_config import MerchantConfig
from pollen.storage.pagination import Page
from pollen.storage.table import Table
from pollen.storage.transactions import Transaction, numbered

if TYPE_CHECKING:
    from pollen.storage.ports import CodeOwner, ContactOwner, ReferralChange, ReferralFamilyRef, WindowCount

SETTINGS_ENTITY = "referral_program"
REFERRER_ENTITY = "referrer"
REFERRED_ENTITY = "referred"
CODE_ENTITY = "referral_code"
INVITE_ENTITY = "referral_invite"
ADMIN_ENTITY = "referral_copy"
MAX_FINGERPRINTS = 20
COUNTERS = ("invited", "signed_up", "completed", "rejected", "reversed", "coins_earned")


# ---- settings --------------------------------------------------------------------------------------


def settings_item(merchant_id: str, settings: StoredReferralSettings) -> dict[str, Any]:
    return {
        **referral_settings_key(merchant_id).as_dict(),
        "entity": SETTINGS_ENTITY,
        "merchant_id": merchant_id,
        "settings": settings.model_dump(mode="json", exclude={"version", "updated_at"}),
        "version": settings.version,
        "updated_at": isoformat(settings.updated_at) if settings.updated_at else None,
    }


def settings_of(config: MerchantConfig) -> StoredReferralSettings:
    """The stored settings, or the defaults (disabled, version 0) when the merchant never set them."""
    item = config.items.get(referral_settings_key(config.merchant.merchant_id).sk)
    if item is None:
        return StoredReferralSettings(version=0)
    return StoredReferralSettings.model_validate(
        {**item["settings"], "version": item["version"], "updated_at": item.get("updated_at")}
    )


def put_settings(tx: Transaction, merchant_id: str, settings: StoredReferralSettings, *, base: int) -> None:
    item = settings_item(merchant_id, settings)
    if base == 0:
        tx.put(item, label="referral-settings", condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item, label="referral-settings", condition="#v = :v", names={"#v": "version"}, values={":v": base}
        )


# ---- referrer profile --------------------------------------------------------------------------------


def parse_referrer(customer_id: str, item: dict[str, Any] | None) -> ReferrerProfile:
    if item is None:
        return ReferrerProfile(customer_id)
    return ReferrerProfile(
        customer_id=customer_id,
        code=item.get("code"),
        counters={name: int(item.get(name, 0)) for name in COUNTERS},
        friends_revenue=Decimal(str(item.get("friends_revenue", 0))),
        shares={k.removeprefix("shares_"): int(v) for k, v in item.items() if k.startswith("shares_")},
        addresses=frozenset(item.get("addresses") or []),
        devices=frozenset(item.get("devices") or []),
        shopify_discount_id=item.get("shopify_discount_id"),
    )


def update_referrer(
    tx: Transaction,
    merchant_id: str,
    customer_id: str,
    *,
    add: dict[str, int | Decimal] | None = None,
    addresses: frozenset[str] | None = None,
    devices: frozenset[str] | None = None,
    code: str | None = None,
    label: str = "referrer",
) -> None:
    """Counters move by ``add`` (created when absent); fingerprint sets are replaced when given; a
    ``code`` is set only if the profile has none (a concurrent first view may have made one)."""
    names: dict[str, str] = {"#e": "entity", "#c": "customer_id"}
    values: dict[str, Any] = {":e": REFERRER_ENTITY, ":c": customer_id}
    sets = ["#e = :e", "#c = :c"]
    condition = None
    if code is not None:
        names["#code"], values[":code"] = "code", code
        sets.append("#code = :code")
        condition = "attribute_not_exists(#code)"
    adds = []
    for n, (name, amount) in enumerate(sorted((add or {}).items())):
        names[f"#a{n}"] = name
        values[f":a{n}"] = amount
        adds.append(f"#a{n} :a{n}")
    for attr, value in (("addresses", addresses), ("devices", devices)):
        if value is not None:
            names[f"#{attr}"] = attr
            values[f":{attr}"] = sorted(value)[-MAX_FINGERPRINTS:]
            sets.append(f"#{attr} = :{attr}")
    expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
    tx.update(
        referrer_key(merchant_id, customer_id),
        label=label,
        update=expression,
        condition=condition,
        names=names,
        values=values,
    )


def put_code(
    tx: Transaction, merchant_id: str, code: str, customer_id: str, now: datetime, *, profile: bool = True
) -> None:
    """A code names one customer; a new code must be free, and the profile must not have one yet
    (``profile=False``: the caller sets the profile's code with its own update)."""
    tx.put(
        {
            **referral_code_key(merchant_id, code).as_dict(),
            "entity": CODE_ENTITY,
            "merchant_id": merchant_id,
            "code": code,
            "customer_id": customer_id,
            "created_at": isoformat(now),
        },
        label="referral-code",
        condition="attribute_not_exists(PK)",
    )
    if not profile:
        return
    tx.update(
        referrer_key(merchant_id, customer_id),
        label="referrer",
        update="SET #code = :code, #e = :e, #c = :c",
        condition="attribute_not_exists(#code)",
        names={"#code": "code", "#e": "entity", "#c": "customer_id"},
        values={":code": code, ":e": REFERRER_ENTITY, ":c": customer_id},
    )


# ---- friend state -------------------------------------------------------------------------------------


def parse_friend(customer_id: str, item: dict[str, Any] | None) -> FriendState:
    if item is None:
        return FriendState(customer_id)
    return FriendState(
        customer_id=customer_id,
        first_order_id=item.get("first_order_id"),
        referrer_id=item.get("referrer_id"),
        referral_id=item.get("referral_id"),
        status=item.get("status"),
        order_id=item.get("order_id"),
        handled_orders=tuple(item.get("handled_orders") or ()),
        version=int(item.get("version", 0)),
    )


def put_friend(tx: Transaction, merchant_id: str, state: FriendState, *, expected_version: int) -> None:
    item = {
        **referred_key(merchant_id, state.customer_id).as_dict(),
        "entity": REFERRED_ENTITY,
        "merchant_id": merchant_id,
        "customer_id": state.customer_id,
        "first_order_id": state.first_order_id,
        "referrer_id": state.referrer_id,
        "referral_id": state.referral_id,
        "status": state.status,
        "order_id": state.order_id,
        "handled_orders": list(state.handled_orders[-20:]) or None,
        "version": expected_version + 1,
    }
    if expected_version == 0:
        tx.put(item, label="referred", condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item,
            label="referred",
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": expected_version},
        )


# ---- referrals ----------------------------------------------------------------------------------------


def referral_item(merchant_id: str, referral: Referral) -> dict[str, Any]:
    key = referral_key(merchant_id, referral.referrer_id, referral.referral_id)
    item = {
        **key.as_dict(),
        "entity": REFERRAL_ENTITY,
        "merchant_id": merchant_id,
        **referral.model_dump(mode="json"),
    }
    if referral.next_reminder_on:
        item.update(due_index(key.pk + "#" + referral.referral_id, referral.next_reminder_on))
    return item


def parse_referral(item: dict[str, Any]) -> Referral:
    return Referral.model_validate(item)


def put_referral(tx: Transaction, merchant_id: str, referral: Referral, *, before: Referral | None) -> None:
    """The referral (version-guarded) and its admin copies: ``all`` and its status list."""
    item = referral_item(merchant_id, referral)
    if before is None:
        tx.put(item, label="referral", condition="attribute_not_exists(PK)")
    else:
        tx.put(
            item,
            label="referral",
            condition="#v = :v",
            names={"#v": "version"},
            values={":v": before.version},
        )
    copy = {k: v for k, v in item.items() if not k.startswith("GSI1")}
    for status in ("all", referral.status.value):
        tx.put(
            {
                **copy,
                **referral_admin_key(merchant_id, status, referral.referral_id).as_dict(),
                "entity": ADMIN_ENTITY,
            },
            label=f"referral-copy-{status}",
        )
    if before is not None and before.status != referral.status:
        tx.delete(
            referral_admin_key(merchant_id, before.status.value, referral.referral_id),
            label="referral-copy-old",
        )


def customer_referrals(
    table: Table, merchant_id: str, customer_id: str, *, limit: int, cursor: str | None
) -> Page[Referral]:
    """The referrals a customer made, newest first (one Query)."""
    page = table.query(
        customer_pk(merchant_id, customer_id), sk_prefix="REF#", limit=limit, cursor=cursor, newest_first=True
    )
    return Page([parse_referral(item) for item in page.items], page.next_cursor)


def admin_referrals(
    table: Table, merchant_id: str, status: str | None, *, limit: int, cursor: str | None
) -> Page[Referral]:
    page = table.query(
        referrals_admin_pk(merchant_id, status or "all"), limit=limit, cursor=cursor, newest_first=True
    )
    return Page([parse_referral(item) for item in page.items], page.next_cursor)


def admin_referral(table: Table, merchant_id: str, referral_id: str) -> Referral | None:
    item = table.get(referral_admin_key(merchant_id, "all", referral_id))
    return parse_referral(item) if item else None


# ---- invites and windows ------------------------------------------------------------------------------


def put_invite(tx: Transaction, merchant_id: str, digest: str, referral: Referral, *, label: str) -> None:
    """First referrer wins: the invite index item is written only if no one holds this contact."""
    tx.put(
        {
            **invite_key(merchant_id, digest).as_dict(),
            "entity": INVITE_ENTITY,
            "merchant_id": merchant_id,
            "referrer_id": referral.referrer_id,
            "referral_id": referral.referral_id,
        },
        label=label,
        condition="attribute_not_exists(PK)",
    )


def count_window(
    tx: Transaction, merchant_id: str, referrer_id: str, window: str, *, limit: int, expires_at: int | None
) -> None:
    """One more rewarded referral in ``window``, refused by DynamoDB beyond ``limit`` (exact under races)."""
    values: dict[str, Any] = {":one": 1, ":max": limit}
    update = "ADD #n :one"
    if expires_at:
        update += " SET expires_at = :ttl"
        values[":ttl"] = expires_at
    tx.update(
        referral_window_key(merchant_id, referrer_id, window),
        label="referral-window",
        update=update,
        condition="attribute_not_exists(#n) OR #n < :max",
        names={"#n": "rewarded"},
        values=values,
    )


def window_count(item: dict[str, Any] | None) -> int:
    return int(item.get("rewarded", 0)) if item else 0


# ---- the unit of work's referral family (storage/unit_of_work.py loads this module for it) -------------
# The unit of work's reference and change types are imported by the functions that match them: the
# referral reads (the referral page, the admin lists) do not load the unit of work's ports.


def ref_key(merchant_id: str, ref: ReferralFamilyRef) -> Key:  # noqa: PLR0911 - a case per kind
    from pollen.storage.ports import (  # noqa: PLC0415
        CodeRef,
        ContactRef,
        FriendRef,
        InviteRef,
        ReferralRef,
        ReferrerRef,
        WindowRef,
    )

    match ref:
        case ReferrerRef(customer_id):
            return referrer_key(merchant_id, customer_id)
        case FriendRef(customer_id):
            return referred_key(merchant_id, customer_id)
        case InviteRef(digest):
            return invite_key(merchant_id, digest)
        case ReferralRef(referrer_id, referral_id):
            return referral_key(merchant_id, referrer_id, referral_id)
        case CodeRef(code):
            return referral_code_key(merchant_id, code)
        case WindowRef(referrer_id, window):
            return referral_window_key(merchant_id, referrer_id, window)
        case ContactRef("email", value):
            return email_key(merchant_id, value)
    assert isinstance(ref, ContactRef)
    return phone_key(merchant_id, ref.value)


def parse_ref(  # noqa: PLR0911 - a case per kind
    ref: ReferralFamilyRef, item: dict[str, Any]
) -> ReferrerProfile | FriendState | InviteHold | Referral | ContactOwner | CodeOwner | WindowCount:
    from pollen.storage.ports import (  # noqa: PLC0415
        CodeOwner,
        CodeRef,
        ContactOwner,
        FriendRef,
        InviteRef,
        ReferralRef,
        ReferrerRef,
        WindowCount,
        WindowRef,
    )

    match ref:
        case ReferrerRef(customer_id):
            return parse_referrer(customer_id, item)
        case FriendRef(customer_id):
            return parse_friend(customer_id, item)
        case InviteRef():
            return InviteHold(str(item["referrer_id"]), str(item["referral_id"]))
        case ReferralRef():
            return parse_referral(item)
        case CodeRef():
            return CodeOwner(str(item["customer_id"]), str(item["code"]))
        case WindowRef():
            return WindowCount(window_count(item))
    return ContactOwner(str(item["customer_id"]))


def stage_referral_change(
    tx: Transaction, merchant_id: str, change: ReferralChange, seen: Counter[str]
) -> None:
    """Add one referral change to ``tx``. ``seen`` counts the commit's invite holds and profile
    updates so far: the n-th invite is labelled ``invite-<n>``, a second profile ``referrer-1``."""
    from pollen.storage.ports import (  # noqa: PLC0415
        ClaimCode,
        CountReferrer,
        CountWindow,
        HoldInvite,
        SaveFriend,
        SaveReferral,
        SaveReferralSettings,
        SetReferrerDiscount,
    )

    if isinstance(change, SaveReferralSettings):
        put_settings(tx, merchant_id, change.settings, base=change.base)
    elif isinstance(change, ClaimCode):
        put_code(tx, merchant_id, change.code, change.customer_id, change.at, profile=change.on_profile)
    elif isinstance(change, CountReferrer):
        update_referrer(
            tx,
            merchant_id,
            change.customer_id,
            add=dict(change.add),
            addresses=change.addresses,
            devices=change.devices,
            code=change.code,
            label=numbered(seen, "referrer"),
        )
    elif isinstance(change, SetReferrerDiscount):
        tx.update(
            referrer_key(merchant_id, change.customer_id),
            label="referrer-discount",
            update="SET shopify_discount_id = :d",
            values={":d": change.discount_id},
        )
    elif isinstance(change, SaveReferral):
        put_referral(tx, merchant_id, change.referral, before=change.before)
    elif isinstance(change, HoldInvite):
        put_invite(tx, merchant_id, change.digest, change.referral, label=f"invite-{seen['invite']}")
        seen["invite"] += 1
    elif isinstance(change, SaveFriend):
        put_friend(tx, merchant_id, change.state, expected_version=change.expected_version)
    elif isinstance(change, CountWindow):
        count_window(
            tx,
            merchant_id,
            change.referrer_id,
            change.window,
            limit=change.limit,
            expires_at=change.expires_at,
        )


def contact_of(customer: Customer) -> dict[str, Any]:
    return customer.model_dump(
        mode="json", include={"customer_id", "email", "phone", "first_name", "last_name"}
    )
