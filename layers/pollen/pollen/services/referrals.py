"""Referral use cases outside orders: settings, invitations, the referral page (code and share URL),
history and stats, share tracking, sign-up linking, the admin lists and the reminder job.

Round trips: referral page 1 (BatchGetItem of the profile and the customer; the first view also
writes the code), invitation 2 (BatchGetItem, TransactWriteItems), history 1 (Query).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pollen.domain.customers import CustomerRecord
from pollen.domain.errors import (
    NotFound,
    PreconditionFailed,
    RetryableConflict,
    UpstreamRejected,
    UpstreamUnavailable,
)
from pollen.domain.merchants import ShopifyConnection
from pollen.domain.referrals import (
    OPEN,
    Party,
    Reason,
    Referral,
    ReferralDisabled,
    ReferralSettings,
    ReferralStatus,
    StoredReferralSettings,
    contact_digest,
    fingerprint,
    new_referral_code,
    screen,
)
from pollen.events.envelope import OutboxEvent
from pollen.ids import new_ulid
from pollen.observability import logger
from pollen.services.container import Container
from pollen.services.ledger import WalletChange, customer_fields, stage_wallet_change
from pollen.services.merchants import merchant_config
from pollen.services.program import get_program
from pollen.services.referral_rewards import (
    REFERRAL_INCOMPLETE,
    REFERRAL_INVITED,
    REFERRAL_REJECTED,
    REFERRAL_SIGNED_UP,
    friend_contact,
    grant,
    referral_event,
    stage_coupons,
)
from pollen.services.retry import retrying
from pollen.storage.customers import parse_customer_item
from pollen.storage.errors import ConditionFailed
from pollen.storage.keys import (
    customer_key,
    email_key,
    invite_key,
    phone_key,
    referral_key,
    referred_key,
    referrer_key,
)
from pollen.storage.pagination import Page
from pollen.storage.referrals import (
    ReferrerProfile,
    admin_referral,
    admin_referrals,
    customer_referrals,
    parse_friend,
    parse_referral,
    parse_referrer,
    put_code,
    put_friend,
    put_invite,
    put_referral,
    put_settings,
    set_shopify_discount,
    settings_of,
    update_referrer,
)
from pollen.storage.transactions import Transaction

if TYPE_CHECKING:
    from pollen.integrations.shopify.discounts import DiscountSpec

REFERRAL_SHARED = "referral_shared"

# ---- settings ----------------------------------------------------------------------------------------


def get_settings(c: Container, merchant_id: str) -> StoredReferralSettings:
    return settings_of(merchant_config(c, merchant_id))


def update_settings(
    c: Container,
    merchant_id: str,
    settings: ReferralSettings,
    *,
    now: datetime,
    expected_version: int | None,
) -> StoredReferralSettings:
    """Replace the settings; with ``If-Match`` a concurrent change is a 412 (as for the program)."""
    current = get_settings(c, merchant_id)
    base = expected_version if expected_version is not None else current.version
    settings = _with_segment(c, merchant_id, settings)
    stored = StoredReferralSettings(**settings.model_dump(), version=base + 1, updated_at=now)
    tx = c.table.transaction()
    put_settings(tx, merchant_id, stored, base=base)
    tx.put(
        OutboxEvent(
            event_type="referral_program_updated",
            merchant_id=merchant_id,
            occurred_at=now,
            payload={"version": stored.version, "settings": settings.model_dump(mode="json")},
        ).to_item(),
        label="event",
    )
    try:
        tx.commit()
    except ConditionFailed as exc:
        if expected_version is not None:
            raise PreconditionFailed(
                "The referral program changed since you read it; fetch it again and reapply your change."
            ) from exc
        raise RetryableConflict("The referral program was changed concurrently; retry.") from exc
    finally:
        c.config.invalidate(merchant_id)
    return stored


# ---- Shopify: the code as a discount only new customers can use -------------------------------------

NEW_CUSTOMERS_QUERY = "number_of_orders = 0"
CODE_LIFETIME = timedelta(days=3650)


def _connection(c: Container, merchant_id: str) -> ShopifyConnection | None:
    shopify = merchant_config(c, merchant_id).shopify
    return shopify if shopify is not None and shopify.admin_access_token else None


def _with_segment(c: Container, merchant_id: str, settings: ReferralSettings) -> ReferralSettings:
    """With Shopify connected and a discount for the friend, referral codes live in Shopify limited to
    a segment of customers without orders: made here once when the merchant names none."""
    connection = _connection(c, merchant_id)
    if connection is None or settings.shopify_segment_id or settings.friend_reward.reward_type is None:
        return settings
    from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - httpx on use
    from pollen.services.shopify_admin import admin_for  # noqa: PLC0415

    try:
        segment = admin_for(connection).create_segment("Pollen referrals: new customers", NEW_CUSTOMERS_QUERY)
    except ShopifyFailure as failure:
        if failure.retryable:
            raise UpstreamUnavailable(
                "Shopify did not answer while creating the new-customers segment; nothing was saved. Retry."
            ) from failure
        raise UpstreamRejected(
            "Shopify refused the new-customers segment; nothing was saved. Name an existing segment in "
            "`shopify_segment_id` or check the connection's scopes (read_customers, write_customers)."
        ) from failure
    return settings.model_copy(update={"shopify_segment_id": segment})


def _code_discount_spec(code: str, settings: ReferralSettings, now: datetime) -> DiscountSpec | None:
    from pollen.integrations.shopify.discounts import DiscountKind, DiscountSpec  # noqa: PLC0415

    reward = settings.friend_reward
    if reward.reward_type is None or settings.shopify_segment_id is None:
        return None  # never an unrestricted code: without a segment Shopify would take it from anyone
    kind = DiscountKind(reward.type.value)
    return DiscountSpec(
        code=code,
        title=f"Pollen referral {code}",
        kind=kind,
        amount=reward.value if kind == DiscountKind.FIXED_AMOUNT else None,
        percentage=reward.value if kind == DiscountKind.PERCENTAGE else None,
        min_subtotal=reward.min_order_subtotal,
        segment_gid=settings.shopify_segment_id,
        usage_limit=None,
        starts_at=now,
        ends_at=now + CODE_LIFETIME,
    )


def _ensure_shopify_code(c: Container, merchant_id: str, profile: ReferrerProfile, now: datetime) -> None:
    """Create the referral code's discount in Shopify (found first: an earlier try may have landed).
    A failure leaves the page working; the next view tries again."""
    connection = _connection(c, merchant_id)
    settings = get_settings(c, merchant_id)
    spec = _code_discount_spec(profile.code or "", settings, now) if connection and profile.code else None
    if connection is None or spec is None or profile.shopify_discount_id:
        return
    from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - httpx on use
    from pollen.services.shopify_admin import admin_for  # noqa: PLC0415

    admin = admin_for(connection)
    try:
        discount_id = admin.find_discount(spec.code) or admin.create_discount(spec)
    except ShopifyFailure as failure:
        logger.warning("referral code not yet in Shopify", extra={"kind": failure.kind})
        return
    set_shopify_discount(c.table, merchant_id, profile.customer_id, discount_id)


# ---- the referral page -----------------------------------------------------------------------------


def share_url(c: Container, merchant_id: str, code: str) -> str:
    config = merchant_config(c, merchant_id)
    settings = settings_of(config)
    if settings.share_base_url:
        separator = "&" if "?" in settings.share_base_url else "?"
        return f"{settings.share_base_url}{separator}ref={code}"
    if config.shopify is not None:
        return f"https://{config.shopify.shop_domain}/discount/{code}"
    return f"https://{merchant_id}.invalid/?ref={code}"


def referral_page(c: Container, merchant_id: str, customer_id: str, *, now: datetime) -> ReferrerProfile:
    """The customer's code, counters and share counts: one BatchGetItem; the first view creates the
    code (one more write, retried with a fresh code on the rare collision)."""
    profile_key, person_key = referrer_key(merchant_id, customer_id), customer_key(merchant_id, customer_id)
    for _ in range(5):
        found = c.table.batch_get([profile_key, person_key])
        if person_key not in found:
            raise NotFound("No customer with this id.")
        profile = parse_referrer(customer_id, found.get(profile_key))
        if profile.code:
            if not profile.shopify_discount_id:
                _ensure_shopify_code(c, merchant_id, profile, now)
            return profile
        customer = parse_customer_item(found[person_key]).customer
        code = new_referral_code(customer.first_name)
        tx = c.table.transaction()
        put_code(tx, merchant_id, code, customer_id, now)
        try:
            tx.commit()
        except ConditionFailed:
            continue  # the code was taken, or a concurrent view created one: read again
        profile = replace(profile, code=code)
        _ensure_shopify_code(c, merchant_id, profile, now)
        return profile
    raise RetryableConflict("Could not create a referral code; retry.")


def track_share(
    c: Container, merchant_id: str, customer_id: str, channel: str, device_id: str | None, *, now: datetime
) -> None:
    """One UpdateItem: the channel's counter (and the sharer's device, for the same-device guard)."""
    if c.table.get(customer_key(merchant_id, customer_id)) is None:
        raise NotFound("No customer with this id.")
    tx = c.table.transaction()
    devices = None
    if device_id:
        item = c.table.get(referrer_key(merchant_id, customer_id))
        devices = parse_referrer(customer_id, item).devices | {fingerprint(device_id)}
    update_referrer(tx, merchant_id, customer_id, add={f"shares_{channel}": 1}, devices=devices)
    tx.put(  # internal (not delivered): the analytics rollups count shares by channel from it
        OutboxEvent(
            event_type=REFERRAL_SHARED,
            merchant_id=merchant_id,
            customer_id=customer_id,
            occurred_at=now,
            payload={"channel": channel},
        ).to_item(),
        label="event",
    )
    tx.commit()


def stats(profile: ReferrerProfile) -> dict[str, Any]:
    counters = profile.counters
    return {
        "invited": counters.get("invited", 0),
        "signed_up": counters.get("signed_up", 0),
        "completed": counters.get("completed", 0),
        "rejected": counters.get("rejected", 0),
        "reversed": counters.get("reversed", 0),
        "coins_earned": counters.get("coins_earned", 0),
        "friends_revenue": str(profile.friends_revenue.quantize(Decimal("0.01"))),
        "shares": dict(sorted(profile.shares.items())),
    }


# ---- invitations -------------------------------------------------------------------------------------


def invite(
    c: Container,
    merchant_id: str,
    referrer_id: str,
    *,
    email: str | None,
    phone: str | None,
    name: str | None,
    device_id: str | None,
    now: datetime,
) -> Referral:
    """Invite a friend by email or phone: 201 ``invited`` (a ``referral_invited`` event for the
    friend's email/SMS), or ``rejected`` with its reason recorded. One read, one transaction."""
    config = merchant_config(c, merchant_id)
    settings = settings_of(config)
    if not settings.enabled:
        raise ReferralDisabled("The referral program is not enabled.")
    digests = [contact_digest("email", email)] if email else []
    if phone:
        digests.append(contact_digest("phone", phone))

    created: dict[str, str | None] = {}

    def attempt() -> Referral:
        keys = [customer_key(merchant_id, referrer_id), referrer_key(merchant_id, referrer_id)]
        keys += [invite_key(merchant_id, d) for d in digests]
        if email:
            keys.append(email_key(merchant_id, email))
        if phone and any(ch.isdigit() for ch in phone):
            keys.append(phone_key(merchant_id, phone))
        found = c.table.batch_get(keys)
        if keys[0] not in found:
            raise NotFound("No customer with this id.")
        referrer = parse_customer_item(found[keys[0]])
        profile = parse_referrer(referrer_id, found.get(keys[1]))
        held = [found[invite_key(merchant_id, d)] for d in digests if invite_key(merchant_id, d) in found]
        existing_customer = bool(email and email_key(merchant_id, email) in found) or bool(
            phone and phone_key(merchant_id, phone) in found
        )
        devices = profile.devices | ({fingerprint(device_id)} if device_id else set())
        code = profile.code or new_referral_code(referrer.customer.first_name)  # the link the friend gets
        referral = Referral(
            referral_id=new_ulid(),
            referrer_id=referrer_id,
            channel="invite",
            status=ReferralStatus.INVITED,
            code=code,
            friend_email=email,
            friend_phone=phone,
            friend_name=name,
            created_at=now,
            updated_at=now,
            version=1,
        )
        reason = screen(
            settings.fraud,
            Party(customer_id=referrer_id, email=referrer.customer.email, phone=referrer.customer.phone),
            Party(email=email, phone=phone),
            friend_is_customer=existing_customer,
            referred_by=str(held[0]["referrer_id"]) if held else None,
        )
        if reason is None and held:  # the same referrer inviting the same friend again
            previous = str(held[0]["referral_id"])
            item = c.table.get(referral_key(merchant_id, referrer_id, previous), consistent=True)
            if item is not None:
                return parse_referral(item)
        tx = c.table.transaction()
        new_code = None if profile.code else code
        created["code"] = new_code
        if new_code:
            put_code(tx, merchant_id, new_code, referrer_id, now, profile=False)
        if reason is not None:
            referral = referral.model_copy(
                update={"status": ReferralStatus.REJECTED, "reason": reason, "rejected_at": now}
            )
            update_referrer(
                tx,
                merchant_id,
                referrer_id,
                add={"invited": 1, "rejected": 1},
                devices=devices,
                code=new_code,
            )
            tx.put(
                referral_event(
                    REFERRAL_REJECTED,
                    merchant_id,
                    referral,
                    about=customer_fields(referrer.customer),
                    now=now,
                ).to_item(),
                label="referral-event",
            )
        else:
            referral = referral.with_reminder_schedule(settings.reminder, now)
            for n, digest in enumerate(digests):
                put_invite(tx, merchant_id, digest, referral, label=f"invite-{n}")
            update_referrer(tx, merchant_id, referrer_id, add={"invited": 1}, devices=devices, code=new_code)
            tx.put(
                referral_event(
                    REFERRAL_INVITED,
                    merchant_id,
                    referral,
                    about=friend_contact(referral),
                    referrer=customer_fields(referrer.customer),
                    settings=settings,
                    share_url=share_url(c, merchant_id, code),
                    now=now,
                ).to_item(),
                label="referral-event",
            )
        put_referral(tx, merchant_id, referral.model_copy(update={"version": 1}), before=None)
        tx.commit()
        return referral.model_copy(update={"version": 1})

    referral: Referral = retrying(attempt)
    if created.get("code"):  # this invitation made the referrer's code: Shopify gets it too
        _ensure_shopify_code(c, merchant_id, ReferrerProfile(referrer_id, code=created["code"]), now)
    return referral


# ---- a friend signs up ----------------------------------------------------------------------------------


def link_signup(
    c: Container, merchant_id: str, customer_id: str, email: str | None, phone: str | None, *, now: datetime
) -> Referral | None:
    """A new customer whose email or phone was invited: the referral becomes ``signed_up`` (first
    referrer wins). Called when a customer is created (Shopify ``customers/create``, the customers
    API); an order naming a new customer links it in the order's own transaction instead."""
    settings = settings_of(merchant_config(c, merchant_id))
    digests = [contact_digest("email", email)] if email else []
    if phone and any(ch.isdigit() for ch in phone):
        digests.append(contact_digest("phone", phone))
    if not settings.enabled or not digests:
        return None

    def attempt() -> Referral | None:
        keys = [referred_key(merchant_id, customer_id), *(invite_key(merchant_id, d) for d in digests)]
        found = c.table.batch_get(keys)
        friend = parse_friend(customer_id, found.get(keys[0]))
        invites = [found[k] for k in keys[1:] if k in found]
        if friend.referral_id or not invites:
            return None
        referrer_id, referral_id = str(invites[0]["referrer_id"]), str(invites[0]["referral_id"])
        more = c.table.batch_get(
            [
                referral_key(merchant_id, referrer_id, referral_id),
                customer_key(merchant_id, referrer_id),
                customer_key(merchant_id, customer_id),
            ]
        )
        item = more.get(referral_key(merchant_id, referrer_id, referral_id))
        if item is None or customer_key(merchant_id, referrer_id) not in more:
            return None
        before = parse_referral(item)
        if before.status != ReferralStatus.INVITED:
            return None
        referrer = parse_customer_item(more[customer_key(merchant_id, referrer_id)])
        tx = c.table.transaction()
        if customer_id == referrer_id:
            after = before.model_copy(
                update={
                    "status": ReferralStatus.REJECTED,
                    "reason": Reason.SELF_REFERRAL,
                    "rejected_at": now,
                    "updated_at": now,
                    "next_reminder_on": None,
                    "version": before.version + 1,
                }
            )
            update_referrer(tx, merchant_id, referrer_id, add={"rejected": 1})
            event_type = REFERRAL_REJECTED
        else:
            after = before.model_copy(
                update={
                    "status": ReferralStatus.SIGNED_UP,
                    "friend_customer_id": customer_id,
                    "signed_up_at": now,
                    "updated_at": now,
                    "version": before.version + 1,
                }
            )
            update_referrer(tx, merchant_id, referrer_id, add={"signed_up": 1})
            friend_item = more.get(customer_key(merchant_id, customer_id))
            if settings.friend_reward.issue_on == "signup" and friend_item is not None:
                after = _signup_reward(
                    c, merchant_id, tx, after, friend=parse_customer_item(friend_item), now=now
                )
            put_friend(
                tx,
                merchant_id,
                replace(friend, referrer_id=referrer_id, referral_id=referral_id, status=after.status.value),
                expected_version=friend.version,
            )
            event_type = REFERRAL_SIGNED_UP
        put_referral(tx, merchant_id, after, before=before)
        tx.put(
            referral_event(
                event_type, merchant_id, after, about=customer_fields(referrer.customer), now=now
            ).to_item(),
            label="referral-event",
        )
        tx.commit()
        return after

    return retrying(attempt)


def _signup_reward(
    c: Container,
    merchant_id: str,
    tx: Transaction,
    referral: Referral,
    *,
    friend: CustomerRecord,
    now: datetime,
) -> Referral:
    """The friend reward that belongs to signing up: coins into the new customer's wallet or a coupon."""
    config = merchant_config(c, merchant_id)
    program = get_program(c, merchant_id)
    granted = grant(
        settings_of(config).friend_reward,
        "friend",
        friend.customer.customer_id,
        friend.wallet,
        referral,
        currency=program.currency,
        expiry_days=program.expiry.days,
        shopify=_connection(c, merchant_id) is not None,
        contact=customer_fields(friend.customer),
        now=now,
    )
    if granted.entries:
        change = WalletChange(friend, CustomerRecord(friend.customer, granted.wallet), granted.entries)
        stage_wallet_change(tx, merchant_id, change, program)
    stage_coupons(tx, merchant_id, granted.coupons, now)
    return referral.model_copy(update={"rewards": [*referral.rewards, *granted.issued]})


# ---- lists -----------------------------------------------------------------------------------------------


def history(
    c: Container, merchant_id: str, customer_id: str, *, limit: int, cursor: str | None
) -> Page[Referral]:
    return customer_referrals(c.table, merchant_id, customer_id, limit=limit, cursor=cursor)


def admin_list(
    c: Container, merchant_id: str, status: ReferralStatus | None, *, limit: int, cursor: str | None
) -> Page[Referral]:
    return admin_referrals(c.table, merchant_id, status.value if status else None, limit=limit, cursor=cursor)


def admin_get(c: Container, merchant_id: str, referral_id: str) -> Referral:
    found = admin_referral(c.table, merchant_id, referral_id)
    if found is None:
        raise NotFound("No referral with this id.")
    return found


# ---- reminders (the hourly due-items job) -------------------------------------------------------------


def remind(c: Container, item: dict[str, Any], now: datetime) -> bool:
    """Send ``referral_incomplete`` for a referral still waiting for its friend, once per due day, up
    to ``max_reminders``; the next one is scheduled ``after_days`` later. True when one was sent."""
    merchant_id = str(item["merchant_id"])
    settings = settings_of(merchant_config(c, merchant_id))
    key = referral_key(merchant_id, str(item["referrer_id"]), str(item["referral_id"]))

    def attempt() -> bool:
        current = c.table.get(key, consistent=True)
        if current is None:
            return False
        before = parse_referral(current)
        due = before.next_reminder_on
        if due is None or due > now.date().isoformat():
            return False  # the index was behind the table
        send = (
            settings.enabled
            and before.status in OPEN
            and before.reminders_sent < settings.reminder.max_reminders
        )
        sent = before.reminders_sent + (1 if send else 0)
        after = before.model_copy(
            update={"reminders_sent": sent, "updated_at": now, "version": before.version + 1}
        )
        after = after.with_reminder_schedule(settings.reminder, now)
        if not settings.enabled:  # the program was switched off: no more reminders for this one
            after = after.model_copy(update={"next_reminder_on": None})
        tx = c.table.transaction()
        put_referral(tx, merchant_id, after, before=before)
        if send:
            tx.put(
                referral_event(
                    REFERRAL_INCOMPLETE,
                    merchant_id,
                    after,
                    about=friend_contact(after),
                    settings=settings,
                    reminder=sent,
                    now=now,
                ).to_item(),
                label="referral-event",
            )
        tx.commit()
        return send

    sent: bool = retrying(attempt)
    if sent:
        logger.info("referral reminder sent", extra={"referral_id": item["referral_id"]})
    return sent
