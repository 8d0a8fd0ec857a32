"""Referral use cases outside orders: settings, invitations, the referral page (code and share URL),
history and stats, share tracking, sign-up linking, the admin lists and the reminder job.

Each write is one unit of work (load → decide → commit; ``uow.referrals`` for the referral items).
Round trips: referral page 1 (BatchGetItem of the profile and the customer; the first view also
writes the code), share 2, invitation 2 (BatchGetItem, TransactWriteItems), a sign-up link 3 (the
friend and the invites, then the referral and both customers; one write), history 1 (Query).
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
    FriendReward,
    Party,
    Reason,
    Referral,
    ReferralDisabled,
    ReferralSettings,
    ReferralStatus,
    ReferrerProfile,
    StoredReferralSettings,
    contact_digest,
    fingerprint,
    new_referral_code,
    screen,
)
from pollen.ids import new_ulid
from pollen.observability import logger
from pollen.services.contacts import customer_fields
from pollen.services.container import Container
from pollen.services.merchants import merchant_config
from pollen.services.program import get_program
from pollen.services.retry import retrying
from pollen.storage.errors import ConditionFailed
from pollen.storage.pagination import Page
from pollen.storage.referrals import admin_referral, admin_referrals, customer_referrals, settings_of

if TYPE_CHECKING:
    from pollen.integrations.shopify.discounts import DiscountSpec
    from pollen.services.unit_of_work import UnitOfWork

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
    from pollen.events.internal import ReferralProgramUpdatedPayload  # noqa: PLC0415 - admin's write only

    uow = c.units.begin(merchant_id)
    uow.referrals.save_settings(stored, base=base)
    payload = ReferralProgramUpdatedPayload(version=stored.version, settings=settings.model_dump(mode="json"))
    uow.emit("referral_program_updated", payload, customer_id=None, now=now)
    try:
        uow.commit()
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
    uow = c.units.begin(merchant_id)
    uow.referrals.set_discount(profile.customer_id, discount_id)
    uow.commit()


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
    for _ in range(5):
        uow = c.units.begin(merchant_id)
        uow.customers.want(customer_id)
        uow.referrals.want_referrer(customer_id)
        customer = uow.customers.require(customer_id).customer
        profile = uow.referrals.referrer(customer_id)
        if profile.code:
            if not profile.shopify_discount_id:
                _ensure_shopify_code(c, merchant_id, profile, now)
            return profile
        code = new_referral_code(customer.first_name)
        uow.referrals.claim_code(code, customer_id, at=now, on_profile=True)
        try:
            uow.commit()
        except ConditionFailed:
            continue  # the code was taken, or a concurrent view created one: read again
        profile = replace(profile, code=code)
        _ensure_shopify_code(c, merchant_id, profile, now)
        return profile
    raise RetryableConflict("Could not create a referral code; retry.")


def track_share(
    c: Container, merchant_id: str, customer_id: str, channel: str, device_id: str | None, *, now: datetime
) -> None:
    """One read (the customer, and the sharer's profile when a device is named), one write: the
    channel's counter (and the sharer's device, for the same-device guard)."""
    from pollen.events.internal import ReferralSharedPayload  # noqa: PLC0415 - one route's write

    uow = c.units.begin(merchant_id)
    uow.customers.want(customer_id)
    if device_id:
        uow.referrals.want_referrer(customer_id)
    uow.customers.require(customer_id)
    devices = uow.referrals.referrer(customer_id).devices | {fingerprint(device_id)} if device_id else None
    uow.referrals.count(customer_id, {f"shares_{channel}": 1}, devices=devices)
    # internal (not delivered): the analytics rollups count shares by channel from it
    uow.emit(REFERRAL_SHARED, ReferralSharedPayload(channel=channel), customer_id=customer_id, now=now)
    uow.commit()


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
    from pollen.services.referral_rewards import (  # noqa: PLC0415 - the write paths only (cold start)
        REFERRAL_INVITED,
        REFERRAL_REJECTED,
        friend_contact,
        referral_event,
    )

    config = merchant_config(c, merchant_id)
    settings = settings_of(config)
    if not settings.enabled:
        raise ReferralDisabled("The referral program is not enabled.")
    digests = [contact_digest("email", email)] if email else []
    if phone:
        digests.append(contact_digest("phone", phone))
    dialable = phone is not None and any(ch.isdigit() for ch in phone)

    created: dict[str, str | None] = {}

    def attempt() -> Referral:
        uow = c.units.begin(merchant_id)
        referrals = uow.referrals
        _want_for_invite(uow, referrer_id, digests, email, phone if dialable else None)
        referrer = uow.customers.require(referrer_id)
        profile = referrals.referrer(referrer_id)
        held = [hold for digest in digests if (hold := referrals.invite(digest)) is not None]
        existing_customer = bool(email and referrals.contact_is_customer("email", email)) or bool(
            phone and dialable and referrals.contact_is_customer("phone", phone)
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
            referred_by=held[0].referrer_id if held else None,
        )
        if reason is None and held:  # the same referrer inviting the same friend again
            previous = referrals.fetch_referral(referrer_id, held[0].referral_id)
            if previous is not None:
                return previous
        new_code = None if profile.code else code
        created["code"] = new_code
        if new_code:
            referrals.claim_code(new_code, referrer_id, at=now, on_profile=False)
        if reason is not None:
            referral = referral.model_copy(
                update={"status": ReferralStatus.REJECTED, "reason": reason, "rejected_at": now}
            )
            referrals.count(referrer_id, {"invited": 1, "rejected": 1}, devices=devices, code=new_code)
            event = referral_event(
                REFERRAL_REJECTED, merchant_id, referral, about=customer_fields(referrer.customer), now=now
            )
        else:
            referral = referral.with_reminder_schedule(settings.reminder, now)
            for digest in digests:
                referrals.hold_invite(digest, referral)
            referrals.count(referrer_id, {"invited": 1}, devices=devices, code=new_code)
            event = referral_event(
                REFERRAL_INVITED,
                merchant_id,
                referral,
                about=friend_contact(referral),
                referrer=customer_fields(referrer.customer),
                settings=settings,
                share_url=share_url(c, merchant_id, code),
                now=now,
            )
        uow.emit_event(event)
        referral = referral.model_copy(update={"version": 1})
        referrals.save(referral, before=None)
        uow.commit()
        return referral

    referral: Referral = retrying(attempt)
    if created.get("code"):  # this invitation made the referrer's code: Shopify gets it too
        _ensure_shopify_code(c, merchant_id, ReferrerProfile(referrer_id, code=created["code"]), now)
    return referral


def _want_for_invite(
    uow: UnitOfWork, referrer_id: str, digests: list[str], email: str | None, phone: str | None
) -> None:
    """An invitation's one read: the referrer and their profile, who holds the friend's contacts
    already, and whether those contacts belong to a customer."""
    uow.customers.want(referrer_id)
    uow.referrals.want_referrer(referrer_id)
    for digest in digests:
        uow.referrals.want_invite(digest)
    if email:
        uow.referrals.want_contact("email", email)
    if phone:
        uow.referrals.want_contact("phone", phone)


# ---- a friend signs up ----------------------------------------------------------------------------------


def link_signup(
    c: Container, merchant_id: str, customer_id: str, email: str | None, phone: str | None, *, now: datetime
) -> Referral | None:
    """A new customer whose email or phone was invited: the referral becomes ``signed_up`` (first
    referrer wins). Called when a customer is created (Shopify ``customers/create``, the customers
    API); an order naming a new customer links it in the order's own transaction instead."""
    from pollen.services.referral_rewards import (  # noqa: PLC0415 - the write paths only (cold start)
        REFERRAL_REJECTED,
        REFERRAL_SIGNED_UP,
        referral_event,
    )

    settings = settings_of(merchant_config(c, merchant_id))
    digests = [contact_digest("email", email)] if email else []
    if phone and any(ch.isdigit() for ch in phone):
        digests.append(contact_digest("phone", phone))
    if not settings.enabled or not digests:
        return None

    def attempt() -> Referral | None:
        uow = c.units.begin(merchant_id)
        referrals = uow.referrals
        referrals.want_friend(customer_id)
        for digest in digests:
            referrals.want_invite(digest)
        friend = referrals.friend(customer_id)
        holds = [hold for digest in digests if (hold := referrals.invite(digest)) is not None]
        if friend.referral_id or not holds:
            return None
        referrer_id, referral_id = holds[0].referrer_id, holds[0].referral_id
        referrals.want_referral(referrer_id, referral_id)
        uow.customers.want(referrer_id)
        uow.customers.want(customer_id)
        before = referrals.referral(referrer_id, referral_id)
        referrer = uow.customers.get(referrer_id)
        if before is None or referrer is None or before.status != ReferralStatus.INVITED:
            return None
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
            referrals.count(referrer_id, {"rejected": 1})
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
            referrals.count(referrer_id, {"signed_up": 1})
            joined = uow.customers.get(customer_id)
            if settings.friend_reward.issue_on == "signup" and joined is not None:
                after = _signup_reward(c, uow, after, settings.friend_reward, friend=joined, now=now)
            referrals.save_friend(
                replace(friend, referrer_id=referrer_id, referral_id=referral_id, status=after.status.value),
                expected_version=friend.version,
            )
            event_type = REFERRAL_SIGNED_UP
        referrals.save(after, before=before)
        uow.emit_event(
            referral_event(event_type, merchant_id, after, about=customer_fields(referrer.customer), now=now)
        )
        uow.commit()
        return after

    return retrying(attempt)


def _signup_reward(
    c: Container,
    uow: UnitOfWork,
    referral: Referral,
    reward: FriendReward,
    *,
    friend: CustomerRecord,
    now: datetime,
) -> Referral:
    """The friend reward that belongs to signing up (the settings ``link_signup`` read): coins into
    the new customer's wallet or a coupon."""
    from pollen.services.referral_rewards import add_coupons, grant  # noqa: PLC0415 - the write paths only

    merchant_id = uow.merchant_id
    program = get_program(c, merchant_id)
    granted = grant(
        reward,
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
        uow.customers.save(CustomerRecord(friend.customer, granted.wallet), granted.entries, program)
    add_coupons(uow, granted.coupons, now)
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
    from pollen.services.referral_rewards import (  # noqa: PLC0415 - the write paths only (cold start)
        REFERRAL_INCOMPLETE,
        friend_contact,
        referral_event,
    )

    merchant_id = str(item["merchant_id"])
    settings = settings_of(merchant_config(c, merchant_id))
    referrer_id, referral_id = str(item["referrer_id"]), str(item["referral_id"])

    def attempt() -> bool:
        uow = c.units.begin(merchant_id)
        before = uow.referrals.fetch_referral(referrer_id, referral_id)
        if before is None:
            return False
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
        uow.referrals.save(after, before=before)
        if send:
            uow.emit_event(
                referral_event(
                    REFERRAL_INCOMPLETE,
                    merchant_id,
                    after,
                    about=friend_contact(after),
                    settings=settings,
                    reminder=sent,
                    now=now,
                )
            )
        uow.commit()
        return send

    sent: bool = retrying(attempt)
    if sent:
        logger.info("referral reminder sent", extra={"referral_id": item["referral_id"]})
    return sent
