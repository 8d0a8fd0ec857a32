"""Spending coins on a reward: the debit and the coupon in one write, then (Shopify) the saga."""

from __future__ import annotations

from datetime import datetime

from pollen.domain.coupons import Coupon, CouponStatus, redeem_coins
from pollen.domain.customers import CustomerRecord
from pollen.domain.errors import NotFound, UpstreamRejected, UpstreamUnavailable
from pollen.domain.program import Program
from pollen.domain.rewards import Reward
from pollen.observability import logger
from pollen.services.contacts import customer_fields
from pollen.services.container import Container
from pollen.services.idempotency import Idempotency
from pollen.services.merchants import merchant_config
from pollen.services.program import get_program
from pollen.services.redemption.events import COUPON_CREATED, coupon_payload
from pollen.services.redemption.shopify_saga import connected, settle_shopify
from pollen.services.redemption.views import CouponView, Redeemed, RedeemRequest, answer
from pollen.services.unit_of_work import UnitOfWork, run
from pollen.storage.rewards import rewards_of

SETTLING = 202  # the debit is committed, the Shopify discount not confirmed yet


def issue_coupon(
    uow: UnitOfWork,
    customer_id: str,
    reward: Reward,
    request: RedeemRequest,
    program: Program,
    *,
    via_shopify: bool,
    now: datetime,
) -> tuple[Coupon, Redeemed]:
    """Load the customer, let the domain price the reward and take the coins, stage the debit, the
    coupon (a code no other coupon has) and ``coupon_created`` — or, with Shopify, the marker that
    has the job settle it should this request die before Shopify answers."""
    record = uow.customers.require(customer_id)
    done = redeem_coins(
        record.wallet,
        reward,
        coin_value=program.coin_value,
        currency=program.currency,
        coins=request.coins,
        cart_total=request.cart_total,
        channel=request.channel,
        contact=customer_fields(record.customer),
        via_shopify=via_shopify,
        now=now,
    )
    uow.customers.save(CustomerRecord(record.customer, done.wallet), [done.entry], program)
    uow.coupons.add(done.coupon)
    if via_shopify:
        uow.coupons.mark_pending(done.coupon, now)
    else:
        uow.emit(COUPON_CREATED, coupon_payload(done.coupon, record), customer_id=customer_id, now=now)
    return done.coupon, answer(done.coupon, done.wallet, done.entry, now)


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
    shopify = connected(config)
    issued: list[Coupon] = []

    def use_case(uow: UnitOfWork) -> tuple[int, Redeemed]:
        coupon, result = issue_coupon(
            uow, customer_id, reward, request, program, via_shopify=shopify is not None, now=now
        )
        issued[:] = [coupon]
        return 201, result

    status, result = run(c.units, merchant_id, use_case, Redeemed, now=now, idempotency=idempotency)
    if shopify is None or result.coupon.shopify_status != "pending":
        return status, result
    fresh = bool(issued) and issued[0].code == result.coupon.code
    if fresh:
        coupon = issued[0]
    else:  # a replay: read what became of it
        found = c.units.begin(merchant_id).coupons.fetch(result.coupon.code)
        if found is None:
            raise NotFound("The coupon of this request no longer exists.")
        coupon = found
        if coupon.shopify != "pending":
            return status, result.model_copy(update={"coupon": CouponView.of(coupon, now)})
    try:
        settled = settle_shopify(
            c, merchant_id, coupon, shopify, now=now, idempotency=idempotency, fresh=fresh
        )
    except UpstreamRejected:
        raise  # compensated: the coins are back, the answer says so (502)
    except Exception as exc:  # after the debit: never a 5xx for a committed write
        return _still_pending(c, merchant_id, coupon, result, now=now, exc=exc)
    return status, result.model_copy(update={"coupon": CouponView.of(settled, now)})


def _still_pending(
    c: Container, merchant_id: str, coupon: Coupon, result: Redeemed, *, now: datetime, exc: Exception
) -> tuple[int, Redeemed]:
    """What a redemption answers when Shopify's outcome is unknown after the debit: ``202`` with the
    coupon ``shopify_status: pending`` (a retry with the same Idempotency-Key, or the hourly job,
    settles it), unless the failure was compensated (coins back: the upstream error stands)."""
    try:
        found = c.units.begin(merchant_id).coupons.fetch(coupon.code)
    except Exception:
        logger.exception("could not read the coupon after a failed settlement")
        found = None
    current = found or coupon
    if current.stored_status == CouponStatus.CANCELLED and current.shopify == "failed":
        raise exc  # compensated: nothing was taken
    if isinstance(exc, UpstreamUnavailable):
        logger.warning("shopify outcome unknown; coupon stays pending", extra={"error": exc.detail})
    else:
        logger.exception("settling the coupon with Shopify failed; it stays pending for the job")
    return SETTLING, result.model_copy(update={"coupon": CouponView.of(current, now)})
