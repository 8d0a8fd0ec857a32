"""Redeeming coins for coupons, and cancelling unused coupons (coins back).

Without Shopify a redemption is one read and one transaction: the debit, its ledger entry and
event, the coupon (unique code, conditional put), ``coupon_created`` and the receipt.

With Shopify connected the coupon must also exist there, and the rule is: never coins taken
without a usable coupon, never a usable coupon without coins taken. The order is:

1. commit the debit and the coupon marked ``shopify: pending`` (plus a due-index marker);
2. create the discount in Shopify;
3. commit ``shopify: created`` with ``coupon_created`` — or, when Shopify surely did not create
   it, commit the compensation: coins restored to their lots (``refund``), the coupon cancelled,
   the receipt removed so the same Idempotency-Key can try again.

When Shopify's answer is unknown (timeout, 5xx) Pollen asks Shopify for the code: found means
created, absent means compensate. If even that fails the coupon stays pending, unusable in Pollen's
eyes, and is settled by a retry of the request or by the scheduled job that reads the marker.
Cancelling goes the other way round: the Shopify discount is deactivated first, then the coins
are restored, so a coupon is never usable after its coins came back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pollen.domain.coupons import Channel, Coupon, CouponNotCancellable, CouponStatus, new_coupon_code
from pollen.domain.errors import NotFound, UpstreamRejected, UpstreamUnavailable
from pollen.domain.merchants import ShopifyConnection
from pollen.domain.rewards import quote
from pollen.domain.wallet import LedgerEntry, Source, TxnType, Wallet
from pollen.events.envelope import OutboxEvent
from pollen.model import BaseModel
from pollen.observability import logger
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from pollen.services.ledger import Plan, customer_fields, operate_as
from pollen.services.merchants import merchant_config
from pollen.services.program import get_program
from pollen.storage.coupons import (
    customer_coupons,
    delete_pending_marker,
    parse_coupon_item,
    put_coupon,
    put_pending_marker,
)
from pollen.storage.customers import CustomerRecord
from pollen.storage.errors import ConditionFailed
from pollen.storage.keys import Key, coupon_key
from pollen.storage.merchant_config import MerchantConfig
from pollen.storage.pagination import Page
from pollen.storage.rewards import rewards_of

if TYPE_CHECKING:
    from pollen.integrations.shopify.discounts import ShopifyAdmin

COUPON_CREATED = "coupon_created"
COUPON_CANCELLED = "coupon_cancelled"


class CouponView(BaseModel):
    code: str
    type: str
    reward_id: str
    value: str | None
    max_discount: str | None
    currency: str
    min_order: str | None
    coins: int
    channel: str
    status: CouponStatus
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    order_id: str | None
    discount_amount: str | None
    cancelled_at: datetime | None
    shopify_status: str

    @classmethod
    def of(cls, coupon: Coupon, now: datetime) -> CouponView:
        def text(d: Decimal | None) -> str | None:
            return str(d) if d is not None else None

        return cls(
            code=coupon.code,
            type=coupon.reward_type.value,
            reward_id=coupon.reward_id,
            value=text(coupon.value),
            max_discount=text(coupon.max_discount),
            currency=coupon.currency,
            min_order=text(coupon.min_order),
            coins=coupon.coins,
            channel=coupon.channel,
            status=coupon.status(now),
            created_at=coupon.created_at,
            expires_at=coupon.expires_at,
            used_at=coupon.used_at,
            order_id=coupon.order_id,
            discount_amount=text(coupon.discount_amount),
            cancelled_at=coupon.cancelled_at,
            shopify_status=coupon.shopify,
        )


class Redeemed(BaseModel):
    """What a redemption (or a cancellation) answers, and what a replay answers again."""

    customer_id: str
    coupon: CouponView
    transaction: LedgerEntry
    balance: int


def _answer(customer_id: str, coupon: Coupon, plan: Plan, now: datetime) -> Redeemed:
    return Redeemed(
        customer_id=customer_id,
        coupon=CouponView.of(coupon, now),
        transaction=plan.entries[0],
        balance=plan.wallet.balance,
    )


@dataclass(frozen=True)
class RedeemRequest:
    reward_id: str
    coins: int | None
    cart_total: Decimal | None
    channel: Channel


def coupon_event(
    event_type: str,
    merchant_id: str,
    coupon: Coupon,
    record: CustomerRecord | None,
    now: datetime,
    **extra: Any,
) -> OutboxEvent:
    return OutboxEvent(
        event_type=event_type,
        merchant_id=merchant_id,
        customer_id=coupon.customer_id,
        occurred_at=now,
        payload={
            "code": coupon.code,
            "reward_id": coupon.reward_id,
            "reward_type": coupon.reward_type.value,
            "value": str(coupon.value) if coupon.value is not None else None,
            "currency": coupon.currency,
            "coins": coupon.coins,
            "min_order": str(coupon.min_order) if coupon.min_order is not None else None,
            "expires_at": coupon.expires_at.isoformat(),
            "channel": coupon.channel,
            **extra,
            "customer": customer_fields(record.customer)
            if record
            else coupon.contact or {"customer_id": coupon.customer_id},
        },
    )


def _connected(config: MerchantConfig) -> ShopifyConnection | None:
    shopify = config.shopify
    return shopify if shopify is not None and shopify.admin_access_token else None


def _lots_taken(before: Wallet, after: Wallet) -> dict[str, int]:
    return {lot: n - after.lots.get(lot, 0) for lot, n in before.lots.items() if n > after.lots.get(lot, 0)}


def redeem(
    c: Container,
    merchant_id: str,
    customer_id: str,
    request: RedeemRequest,
    *,
    now: datetime,
    idempotency: Idempotency | None = None,
) -> tuple[int, Redeemed]:
    """Two round trips without Shopify (BatchGetItem, TransactWriteItems); one more write with it."""
    config = merchant_config(c, merchant_id)
    program = get_program(c, merchant_id)
    reward = rewards_of(config).get(request.reward_id)
    if reward is None:
        raise NotFound("No reward with this id.")
    shopify = _connected(config)
    issued: dict[str, Coupon] = {}

    def decide(record: CustomerRecord, found: dict[Key, dict[str, Any]]) -> Plan:
        priced = quote(
            reward,
            coin_value=program.coin_value,
            balance=record.wallet.balance,
            coins=request.coins,
            cart_total=request.cart_total,
        )
        code = new_coupon_code()  # a fresh one per attempt: a (60-bit) collision retries with another
        wallet, entry = record.wallet.debit(
            priced.coins,
            type=TxnType.REDEEM,
            source=Source.REDEMPTION,
            reference=code,
            now=now,
            note=reward.settings.name,
        )
        coupon = Coupon(
            code=code,
            customer_id=customer_id,
            reward_id=reward.reward_id,
            reward_type=priced.type,
            value=priced.value,
            max_discount=priced.max_discount,
            currency=program.currency,
            coins=priced.coins,
            min_order=priced.min_order,
            channel=request.channel,
            created_at=now,
            expires_at=now + timedelta(days=reward.settings.validity_days),
            transaction_id=entry.txn_id,
            lots=_lots_taken(record.wallet, wallet),
            shopify="pending" if shopify else "none",
            contact=customer_fields(record.customer),
        )
        issued["coupon"] = coupon

        def stage(tx: Any) -> None:
            put_coupon(tx, merchant_id, coupon, expected_version=None)
            if shopify:
                put_pending_marker(tx, merchant_id, coupon, now)
            else:
                tx.put(
                    coupon_event(COUPON_CREATED, merchant_id, coupon, record, now).to_item(),
                    label="coupon-event",
                )

        return Plan(wallet, [entry], stage)

    status, result = operate_as(
        c,
        merchant_id,
        customer_id,
        decide,
        respond=lambda plan: _answer(customer_id, issued["coupon"], plan, now),
        response_type=Redeemed,
        now=now,
        idempotency=idempotency,
        program=program,
    )
    if shopify is None or result.coupon.shopify_status != "pending":
        return status, result
    coupon = issued.get("coupon")
    if coupon is None or coupon.code != result.coupon.code:  # a replay: read what became of it
        item = c.table.get(coupon_key(merchant_id, result.coupon.code), consistent=True)
        if item is None:
            raise NotFound("The coupon of this request no longer exists.")
        coupon = parse_coupon_item(item)
        if coupon.shopify != "pending":
            return status, result.model_copy(update={"coupon": CouponView.of(coupon, now)})
    fresh = issued.get("coupon") is coupon
    try:
        settled = settle_shopify(
            c, merchant_id, coupon, shopify, now=now, idempotency=idempotency, fresh=fresh
        )
    except UpstreamRejected:
        raise  # compensated: the coins are back, the answer says so (502)
    except Exception as exc:  # after the debit: never a 5xx for a committed write
        return _still_pending(c, merchant_id, coupon, result, now=now, exc=exc)
    return status, result.model_copy(update={"coupon": CouponView.of(settled, now)})


SETTLING = 202  # the debit is committed, the Shopify discount not confirmed yet


def _still_pending(
    c: Container, merchant_id: str, coupon: Coupon, result: Redeemed, *, now: datetime, exc: Exception
) -> tuple[int, Redeemed]:
    """What a redemption answers when Shopify's outcome is unknown after the debit: ``202`` with the
    coupon ``shopify_status: pending`` (a retry with the same Idempotency-Key, or the hourly job,
    settles it), unless the failure was compensated (coins back: the upstream error stands)."""
    try:
        item = c.table.get(coupon_key(merchant_id, coupon.code), consistent=True)
    except Exception:
        logger.exception("could not read the coupon after a failed settlement")
        item = None
    current = parse_coupon_item(item) if item else coupon
    if current.stored_status == CouponStatus.CANCELLED and current.shopify == "failed":
        raise exc  # compensated: nothing was taken
    if isinstance(exc, UpstreamUnavailable):
        logger.warning("shopify outcome unknown; coupon stays pending", extra={"error": exc.detail})
    else:
        logger.exception("settling the coupon with Shopify failed; it stays pending for the job")
    return SETTLING, result.model_copy(update={"coupon": CouponView.of(current, now)})


def _admin(connection: ShopifyConnection) -> ShopifyAdmin:
    from pollen.services.shopify_admin import admin_for  # noqa: PLC0415 - httpx only for Shopify merchants

    return admin_for(connection)


def settle_shopify(
    c: Container,
    merchant_id: str,
    coupon: Coupon,
    connection: ShopifyConnection,
    *,
    now: datetime,
    idempotency: Idempotency | None = None,
    fresh: bool = True,
) -> Coupon:
    """Create the pending coupon's discount in Shopify and record the outcome (see the module doc).

    ``fresh`` is False when an earlier attempt may have reached Shopify (a replayed request, the
    scheduled job): then Shopify is asked for the code first, and an unknown answer changes nothing."""
    from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - lazy: see _admin
    from pollen.services.shopify_admin import discount_spec  # noqa: PLC0415

    admin = _admin(connection)
    if not fresh:
        try:
            existing = admin.find_discount(coupon.code)
        except ShopifyFailure as unknown:
            raise UpstreamUnavailable(
                "Shopify did not answer; the redemption is still being settled. Retry later."
            ) from unknown
        if existing is not None:
            return confirm_shopify(c, merchant_id, coupon, existing, admin, now=now)
    try:
        discount_id: str | None = admin.create_discount(discount_spec(coupon, connection))
    except ShopifyFailure as failure:
        if not (failure.maybe_applied or failure.code_taken):
            compensate(
                c, merchant_id, coupon, now=now, reason=f"shopify_{failure.kind}", idempotency=idempotency
            )
            _raise_for(failure)
        try:  # did it land? (a timeout, a 5xx, or our own earlier attempt holding the code)
            discount_id = admin.find_discount(coupon.code)
        except ShopifyFailure as unknown:
            logger.warning(
                "shopify discount state unknown; coupon stays pending",
                extra={"code_suffix": coupon.code[-4:], "kind": unknown.kind},
            )
            raise UpstreamUnavailable(
                "Shopify did not confirm the coupon; the redemption will be settled shortly. Retry the "
                "request with the same Idempotency-Key to see the outcome."
            ) from unknown
        if discount_id is None:
            compensate(
                c, merchant_id, coupon, now=now, reason=f"shopify_{failure.kind}", idempotency=idempotency
            )
            _raise_for(failure)
    assert discount_id is not None
    return confirm_shopify(c, merchant_id, coupon, discount_id, admin, now=now)


def _raise_for(failure: Exception) -> None:
    kind = getattr(failure, "kind", "unexpected")
    if kind in {"rejected", "unauthorized", "unexpected"}:
        raise UpstreamRejected(
            "Shopify refused the discount code; no coins were taken. Check the Shopify connection."
        ) from failure
    raise UpstreamUnavailable(
        "Shopify could not create the discount code; no coins were taken. Try again."
    ) from failure


def confirm_shopify(
    c: Container, merchant_id: str, coupon: Coupon, discount_id: str, admin: ShopifyAdmin, *, now: datetime
) -> Coupon:
    """Mark the coupon created in Shopify and announce it (one write when nothing raced it); if it
    was settled otherwise meanwhile (cancelled by the job or the customer), take the discount down."""
    from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - lazy: see _admin

    current: Coupon | None = coupon
    for _ in range(5):
        if current is None or current.shopify != "pending" or current.stored_status != CouponStatus.ISSUED:
            break
        after = current.model_copy(
            update={"shopify": "created", "shopify_discount_id": discount_id, "version": current.version + 1}
        )
        tx = c.table.transaction()
        put_coupon(tx, merchant_id, after, expected_version=current.version)
        delete_pending_marker(tx, merchant_id, current.code)
        tx.put(coupon_event(COUPON_CREATED, merchant_id, after, None, now).to_item(), label="coupon-event")
        try:
            tx.commit()
            return after
        except ConditionFailed:
            item = c.table.get(coupon_key(merchant_id, coupon.code), consistent=True)
            current = parse_coupon_item(item) if item else None
    if current is not None and current.stored_status == CouponStatus.CANCELLED:
        try:
            admin.delete_discount(discount_id)
        except ShopifyFailure:
            logger.error("cancelled coupon still has a Shopify discount", extra={"discount_id": discount_id})
    if current is None:
        raise NotFound("No coupon with this code.")
    return current


def compensate(
    c: Container,
    merchant_id: str,
    coupon: Coupon,
    *,
    now: datetime,
    reason: str,
    idempotency: Idempotency | None = None,
) -> None:
    """Undo a redemption Shopify did not honour: coins back to their lots, coupon cancelled,
    receipt removed (the same Idempotency-Key may try again). A no-op once it is settled."""
    program = get_program(c, merchant_id)
    key = coupon_key(merchant_id, coupon.code)

    def decide(record: CustomerRecord, found: dict[Key, dict[str, Any]]) -> Plan:
        current = parse_coupon_item(found[key]) if key in found else None
        if current is None or current.shopify != "pending" or current.stored_status != CouponStatus.ISSUED:
            raise _AlreadySettled()
        wallet, entries = record.wallet, []
        if current.lots:  # a referral reward's coupon took no coins: none to give back
            wallet, entry = record.wallet.restore(
                current.lots, source=Source.REDEMPTION, reference=current.code, now=now, note=reason
            )
            entries = [entry]
        after = current.model_copy(
            update={
                "stored_status": CouponStatus.CANCELLED,
                "cancelled_at": now,
                "cancel_reason": reason,
                "shopify": "failed",
                "version": current.version + 1,
            }
        )

        def stage(tx: Any) -> None:
            put_coupon(tx, merchant_id, after, expected_version=current.version)
            delete_pending_marker(tx, merchant_id, current.code)
            if idempotency:
                tx.delete(idempotency.receipt_key(merchant_id), label="receipt-release")

        return Plan(wallet, entries, stage)

    try:
        operate_as(
            c,
            merchant_id,
            coupon.customer_id,
            decide,
            respond=lambda plan: _Done(),
            response_type=_Done,
            now=now,
            idempotency=None,
            program=program,
            also_read=[key],
        )
    except _AlreadySettled:
        return


class _Done(BaseModel):
    pass


class _AlreadySettled(Exception):
    pass


def cancel_coupon(c: Container, merchant_id: str, customer_id: str, code: str, *, now: datetime) -> Redeemed:
    """Cancel an unused coupon and give its coins back (ledger ``refund``); Shopify first, see above."""
    program = get_program(c, merchant_id)
    key = coupon_key(merchant_id, code)
    shopify = _connected(merchant_config(c, merchant_id))
    if shopify:  # the discount must be dead in Shopify before the coins come back: read it first
        coupon = _cancellable(c.table.get(key, consistent=True), customer_id, now)
        if coupon.shopify == "created" and coupon.shopify_discount_id:
            from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - lazy

            try:
                _admin(shopify).deactivate_discount(coupon.shopify_discount_id)
            except ShopifyFailure as failure:
                _raise_for(failure)
    cancelled: dict[str, Coupon] = {}

    def decide(record: CustomerRecord, found: dict[Key, dict[str, Any]]) -> Plan:
        current = _cancellable(found.get(key), customer_id, now)
        wallet, entry = record.wallet.restore(
            current.lots, source=Source.REDEMPTION, reference=current.code, now=now, note="coupon cancelled"
        )
        after = current.model_copy(
            update={
                "stored_status": CouponStatus.CANCELLED,
                "cancelled_at": now,
                "cancel_reason": "cancelled",
                "version": current.version + 1,
            }
        )
        cancelled["coupon"] = after

        def stage(tx: Any) -> None:
            put_coupon(tx, merchant_id, after, expected_version=current.version)
            # a pending coupon keeps its marker: the job makes sure no Shopify discount outlives it
            tx.put(
                coupon_event(COUPON_CANCELLED, merchant_id, after, record, now).to_item(),
                label="coupon-event",
            )

        return Plan(wallet, [entry], stage)

    _, result = operate_as(
        c,
        merchant_id,
        customer_id,
        decide,
        respond=lambda plan: _answer(customer_id, cancelled["coupon"], plan, now),
        response_type=Redeemed,
        now=now,
        idempotency=None,
        program=program,
        also_read=[key],
        status=200,
    )
    return result


def _cancellable(item: dict[str, Any] | None, customer_id: str, now: datetime) -> Coupon:
    coupon = parse_coupon_item(item) if item else None
    if coupon is None or coupon.customer_id != customer_id:
        raise NotFound("No coupon with this code for this customer.")
    status = coupon.status(now)
    if status != CouponStatus.ISSUED:
        raise CouponNotCancellable(
            f"The coupon is {status.value}; only an unused, unexpired coupon can be cancelled."
        )
    return coupon


def list_coupons(
    c: Container,
    merchant_id: str,
    customer_id: str,
    *,
    status: CouponStatus | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> Page[CouponView]:
    """Newest first (one Query on GSI1). A status filter is applied to the page read, since
    ``expired`` depends on the clock; a page may hold fewer than ``limit`` then."""
    page = customer_coupons(c.table, merchant_id, customer_id, limit=limit, cursor=cursor)
    views = [CouponView.of(coupon, now) for coupon in page.items]
    if status is not None:
        views = [v for v in views if v.status == status]
    return Page(views, page.next_cursor)


PENDING_GRACE = timedelta(minutes=2)  # leave a request that is still running to settle its own coupon


def settle_pending(c: Container, merchant_id: str, code: str, created_at: datetime, now: datetime) -> str:
    """The scheduled job's pass over a coupon left pending by a request that died or gave up:
    ``created``, ``cancelled`` (coins back), ``unknown`` (Shopify still silent) or ``waiting``."""
    if now - created_at < PENDING_GRACE:
        return "waiting"
    item = c.table.get(coupon_key(merchant_id, code), consistent=True)
    coupon = parse_coupon_item(item) if item else None
    if coupon is None or coupon.shopify != "pending":
        tx = c.table.transaction()
        delete_pending_marker(tx, merchant_id, code)
        tx.commit()
        return "stale"
    connection = _connected(merchant_config(c, merchant_id))
    if connection is None:  # Shopify was disconnected meanwhile: no code can be usable there
        compensate(c, merchant_id, coupon, now=now, reason="shopify_disconnected")
        return "cancelled"
    if coupon.stored_status == CouponStatus.CANCELLED:  # cancelled while pending: no discount may live
        return _take_down(c, merchant_id, coupon, connection)
    return _settle_again(c, merchant_id, coupon, connection, now)


def _settle_again(
    c: Container, merchant_id: str, coupon: Coupon, connection: ShopifyConnection, now: datetime
) -> str:
    try:
        settled = settle_shopify(c, merchant_id, coupon, connection, now=now, fresh=False)
    except UpstreamRejected:
        return "cancelled"
    except Exception as exc:  # unavailable, or something about this merchant's connection: next run
        if not isinstance(exc, UpstreamUnavailable):
            logger.exception("pending coupon could not be settled", extra={"code_suffix": coupon.code[-4:]})
        item = c.table.get(coupon_key(merchant_id, coupon.code), consistent=True)
        after = parse_coupon_item(item) if item else None
        return "cancelled" if after and after.stored_status == CouponStatus.CANCELLED else "unknown"
    return "created" if settled.shopify == "created" else "cancelled"


def _take_down(c: Container, merchant_id: str, coupon: Coupon, connection: ShopifyConnection) -> str:
    from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - lazy: see _admin

    admin = _admin(connection)
    try:
        if (found := admin.find_discount(coupon.code)) is not None:
            admin.delete_discount(found)
    except ShopifyFailure:
        return "unknown"
    tx = c.table.transaction()
    put_coupon(
        tx,
        merchant_id,
        coupon.model_copy(update={"shopify": "failed", "version": coupon.version + 1}),
        expected_version=coupon.version,
    )
    delete_pending_marker(tx, merchant_id, coupon.code)
    tx.commit()
    return "cancelled"
