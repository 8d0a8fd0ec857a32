"""Orders move coins: one code path for Shopify webhooks, the orders API and the confirmation job.

Each call merges one fact into the order's state and moves the wallet by the difference between
what the order should now have applied (:func:`pollen.domain.orders.target`) and what it has
applied, all in one transaction with the order's receipt. Facts commute and merge idempotently,
so duplicates and any arrival order end in the same wallet (docs/design.md invariants 1, 2 and 5).

Round trips on a warm container: one read (order, customer, receipt...) and one commit, through a
unit of work (:mod:`pollen.services.unit_of_work`). A refund names only its order; the order's
customer is remembered per container, so only a refund for an order this container has never seen
costs a third call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from pollen.domain.coupons import Coupon
from pollen.domain.customers import CustomerData, CustomerRecord
from pollen.domain.errors import NotFound
from pollen.domain.orders import OrderFacts, OrderRecord, Target, check_limits, order_status, target
from pollen.domain.program import Program
from pollen.domain.wallet import LedgerEntry, Source, TxnType, Wallet
from pollen.services import (
    coupon_usage,
    referral_completion,
    review_requests,
    tier_qualification,
)
from pollen.services.container import Container
from pollen.services.coupon_usage import plan_usage, stage_usage
from pollen.services.idempotency import Idempotency, IdempotencyKeyReused
from pollen.services.ledger import new_customer
from pollen.services.program import get_program
from pollen.services.retry import retrying
from pollen.services.unit_of_work import Replayed, UnitOfWork
from pollen.storage.errors import DuplicateRequest
from pollen.storage.orders import MAX_DELIVERIES, delivery_digest
from pollen.storage.ports import OrderRef
from pollen.storage.receipts import fingerprint
from pollen.views.orders import OrderView

ORDER_UPDATED = "order_updated"


@dataclass(frozen=True)
class OrderOutcome:
    order: OrderRecord
    wallet: Wallet | None
    entries: list[LedgerEntry] = field(default_factory=list)
    duplicate: bool = False

    def view(self) -> dict[str, Any]:
        """The answer a caller gets, and a replay of the same request gets again."""
        return self.view_model().model_dump(mode="json")

    def view_model(self) -> OrderView:
        return order_view(self.order)


def order_view(order: OrderRecord) -> OrderView:
    """An order's coins and status as the APIs show it."""
    return OrderView(
        order_id=order.order_id,
        customer_id=order.customer_id,
        status=order_status(order),
        coins_earned=order.applied_credited + order.applied_pending,
        coins_credited=order.applied_credited,
        coins_pending=order.applied_pending,
        shortfall=order.shortfall,
        attributions=list(order.attributions),
        coupon_misuse=list(order.coupon_misuse),
    )


def settle(record: OrderRecord, facts: OrderFacts, program: Program, now: datetime) -> OrderRecord:
    """The order's state once ``facts`` are known: payment date, confirmation, nothing applied yet."""
    paid_at = record.paid_at or (now if facts.paid else None)
    pending_days = program.earning.pending_days
    confirm_on = record.confirm_on
    if facts.paid and confirm_on is None and paid_at is not None:
        confirm_on = (paid_at + timedelta(days=pending_days)).date()
    if facts.paid and confirm_on is not None and confirm_on <= now.date():
        facts = facts.merge(OrderFacts(confirmed=True))
    return record.model_copy(update={"facts": facts, "paid_at": paid_at, "confirm_on": confirm_on})


def apply_target(
    order: OrderRecord, wallet: Wallet, goal: Target, program: Program, now: datetime
) -> tuple[OrderRecord, Wallet, list[LedgerEntry]]:
    """Move ``wallet`` by what ``order`` still owes it (or it owes back) to reach ``goal``.

    A clawback never takes the balance below zero; what it cannot take is recorded as the order's
    ``shortfall`` and not chased later (the coins were spent in good faith)."""
    entries: list[LedgerEntry] = []
    delta = goal.credited - order.applied_credited
    shortfall = order.shortfall
    if delta > 0 and shortfall:
        absorbed = min(delta, shortfall)  # a target rising again first cancels what was never taken back
        shortfall -= absorbed
        delta -= absorbed
    if delta > 0:
        wallet, entry = wallet.credit(
            delta,
            type=TxnType.REWARD,
            source=Source.ORDER,
            reference=order.order_id,
            now=now,
            expiry_days=program.expiry.days,
        )
        entries.append(entry)
    elif delta < 0:
        take = min(-delta, wallet.balance)
        shortfall += -delta - take
        if take:
            note = "order cancelled" if order.facts.cancelled else "order refunded"
            wallet, entry = wallet.debit(
                take, type=TxnType.REVERSAL, source=Source.ORDER, reference=order.order_id, now=now, note=note
            )
            entries.append(entry)
    if goal.pending != order.applied_pending:
        wallet = wallet.with_pending(goal.pending - order.applied_pending)
    order = order.model_copy(
        update={"applied_credited": goal.credited, "applied_pending": goal.pending, "shortfall": shortfall}
    )
    return order, wallet, entries


def _customer_hint(facts: OrderFacts, hint: CustomerData | None) -> str | None:
    if hint is not None:
        return hint.customer_id
    return facts.data.customer_id if facts.data else None


def record_order_fact(
    c: Container,
    merchant_id: str,
    order_id: str,
    fact: OrderFacts,
    *,
    now: datetime,
    customer: CustomerData | None = None,
    idempotency: Idempotency | None = None,
    delivery: Idempotency | None = None,
    source: str = "api",
) -> OrderOutcome:
    """Merge ``fact`` into the order and settle its coins. ``customer`` describes the buyer when the
    payload does (Shopify orders carry the customer), so a first-time buyer is created on the way.

    ``idempotency`` keeps a receipt item (the orders API's Idempotency-Key); ``delivery`` (a webhook
    delivery id) is remembered in the order item itself, in the same guarded write: no receipt item."""
    program = get_program(c, merchant_id)
    if fact.data is not None:
        check_limits(fact.data, program.limits, program.earning)  # 422 before anything is read or written
    known_customer = _customer_hint(fact, customer) or c.order_customers.get(merchant_id, order_id)
    guest_email = fact.data.email if fact.data and not known_customer else None
    codes, invites = referral_completion.order_lookups(c, merchant_id, fact.data, customer)

    def attempt() -> OrderOutcome:
        uow = c.units.begin(merchant_id, idempotency)
        # ---- one read: the order, the buyer, their coupons, tier state and referral state, the receipt
        uow.orders.want(order_id)
        if known_customer:
            uow.customers.want(known_customer)
        if guest_email:
            uow.customers.want_contact("email", guest_email)
        coupon_usage.want(uow, fact.data)
        tier_qualification.want(uow, c, known_customer)
        referral_completion.want(uow, known_customer, codes=codes, invites=invites)
        try:
            uow.load()
        except Replayed:
            return OrderOutcome(
                uow.orders.get(order_id) or OrderRecord(order_id=order_id), None, duplicate=True
            )
        stored = uow.orders.get(order_id)
        before = stored or OrderRecord(order_id=order_id)
        digest = _delivery_seen(before, delivery)
        if digest is None:
            return OrderOutcome(before, None, duplicate=True)

        customer_id = before.customer_id or known_customer
        if customer_id is None and guest_email:
            customer_id = uow.customers.contact_owner("email", guest_email)
        existing = _buyer(c, uow, customer_id, asked=known_customer)

        # ---- the decision
        order = settle(before, before.facts.merge(fact), program, now)
        order, uses = plan_usage(uow, order, now, buyer=customer_id)
        if order == before and stored is not None and customer_id == before.customer_id:
            return OrderOutcome(order, existing.wallet if existing else None)  # nothing new: nothing to write

        after: CustomerRecord | None = None
        moved: list[LedgerEntry] = []
        if customer_id is not None:
            start = existing or _first_seen(customer_id, customer, order, now, source)
            order, after, moved, uses = _move_wallet(
                c,
                uow,
                order,
                start,
                uses,
                program,
                now,
                created=existing is None,
                codes=codes,
                invites=invites,
            )
        seen = [*before.deliveries, digest][-MAX_DELIVERIES:] if digest else before.deliveries
        order = order.model_copy(
            update={"version": before.version + 1, "updated_at": now, "deliveries": seen}
        )
        uow.orders.save(order, expected_version=before.version)
        review_requests.on_order(uow, before, order, program)  # paid-basis review requests
        stage_usage(uow, uses, after or existing, now)
        outcome = OrderOutcome(order, after.wallet if after else None, moved)
        try:
            uow.commit(now=now, answer=outcome.view_model())
        except DuplicateRequest:
            return OrderOutcome(before, None, duplicate=True)
        if customer_id:
            c.order_customers.put(merchant_id, order_id, customer_id)
        return outcome

    return retrying(attempt)


def _move_wallet(  # noqa: PLR0917
    c: Container,
    uow: UnitOfWork,
    order: OrderRecord,
    start: CustomerRecord,
    uses: list[Coupon],
    program: Program,
    now: datetime,
    *,
    created: bool,
    codes: list[str],
    invites: list[str],
) -> tuple[OrderRecord, CustomerRecord, list[LedgerEntry], list[Coupon]]:
    """The buyer's side of an order fact, staged in ``uow``: the order's own coins, then the tier,
    referral and cancelled-coupon steps. Returns the order, the buyer after it, the entries written
    and the coupon uses (a cancellation may change them)."""
    order = order.model_copy(update={"customer_id": start.customer.customer_id})
    order, wallet, entries = apply_target(
        order, start.wallet, target(order.facts, program.earning), program, now
    )
    # ---- VIP tiers (services/tier_qualification.py): multiplier bonus, window totals, upgrade and
    # entry reward, staged into this same unit of work. The one insertion point for tiers.
    order, wallet, entries, stage_tiers = tier_qualification.on_order(
        c, uow, order, wallet, entries, program=program, now=now
    )
    # Referrals (pollen.services.referral_completion): this order may link, complete, reject or claw
    # back a referral. The friend's coins join this wallet change; the rest (referrer's wallet, the
    # referral, counters, coupons, events) is staged into this same unit of work.
    order, wallet, entries, stage_referrer = referral_completion.plan(
        uow, c, order, start, wallet, entries, program, now, codes=codes, invites=invites
    )
    if order.facts.cancelled:  # its coupons: coins back, coupon cancelled (services/coupon_cancellation.py)
        from pollen.services import coupon_cancellation  # noqa: PLC0415 - cancelled orders only

        wallet, entries, uses = coupon_cancellation.on_order(
            uow, order, start, wallet=wallet, entries=entries, uses=uses, now=now
        )
    after = CustomerRecord(start.customer, wallet)
    moved: list[LedgerEntry] = []
    if created or start.wallet != wallet or entries:
        uow.customers.save(after, entries, program)  # the buyer first: theirs are the plain labels
        if created:
            uow.customers.link_contacts(start.customer)
        moved = entries
    stage_tiers(uow, start.customer)
    stage_referrer()
    return order, after, moved, uses


def _delivery_seen(order: OrderRecord, delivery: Idempotency | None) -> str | None:
    """The digest to remember for ``delivery`` ("" without one); None when it was applied before.
    The same delivery id with another body is refused, as a reused Idempotency-Key is."""
    if delivery is None:
        return ""
    digest = delivery_digest(delivery.key, fingerprint(delivery.request))
    for seen in order.deliveries:
        if seen[:12] == digest[:12]:
            if seen != digest:
                raise IdempotencyKeyReused("This webhook id was already used for a different payload.")
            return None
    return digest


def _buyer(
    c: Container, uow: UnitOfWork, customer_id: str | None, *, asked: str | None
) -> CustomerRecord | None:
    """The buyer's record. When the payload did not name the buyer (a refund of an order this
    container never saw, a guest found by email), one more read fetches all the order needs of
    theirs at once: the customer, their tier totals and their referral state."""
    if customer_id is None:
        return None
    if customer_id != asked:
        uow.customers.want(customer_id)
        tier_qualification.want(uow, c, customer_id)
        referral_completion.want(uow, customer_id)
    return uow.customers.get(customer_id)


def _first_seen(
    customer_id: str, hint: CustomerData | None, order: OrderRecord, now: datetime, source: str
) -> CustomerRecord:
    data = order.facts.data
    profile: dict[str, Any] = hint.model_dump(exclude={"customer_id"}) if hint else {}
    profile.setdefault("email", data.email if data else None)
    profile.setdefault("phone", data.phone if data else None)
    # A signed Shopify order names Shopify's own customer record; an orders-API email is unproven.
    profile["email_verified"] = source == "shopify" and bool(profile["email"])
    return new_customer(customer_id, now=now, source=source, **profile)


def get_order(c: Container, merchant_id: str, order_id: str) -> OrderRecord:
    found = c.units.store.get(merchant_id, OrderRef(order_id))
    if found is None:
        raise NotFound("No order with this id.")
    return cast("OrderRecord", found)
