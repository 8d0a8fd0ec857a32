"""Review requests: a ``review_request`` event some days after an order is fulfilled (or paid).

Scheduling writes one item per order (``M#{m}#RR#{order}``), listed in the due index under the day
it falls due, so the hourly due-items job (:mod:`pollen.services.expiry`) reads only what is due,
never a scan:

- ``after: fulfilled`` (the default): Shopify's ``orders/fulfilled`` webhook writes it with a
  conditional put (one ``PutItem``; a redelivery finds it there and changes nothing). The payload
  names the products (title, variant title, quantity).
- ``after: paid`` (stores without fulfilment events, the orders API): written in the order's own
  unit of work at the one write that first sees the order paid with its data (order facts only grow,
  and that write is version-guarded, so it happens once; no extra round trip).

When due, the job re-reads the request, the order and the customer (one ``BatchGetItem``), skips it
when the order was cancelled or refunded in full meanwhile, and otherwise commits the ``sent`` state
with the outbox event in one transaction, conditional on the request still being ``pending``: a
replayed or concurrent run sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pollen.domain.customers import CustomerData
from pollen.domain.orders import OrderData, OrderRecord
from pollen.domain.program import Program
from pollen.domain.reviews import MAX_PRODUCTS, ReviewProduct, ReviewRecord, due_on, unwanted
from pollen.services.contacts import customer_fields
from pollen.services.container import Container
from pollen.services.program import get_program
from pollen.storage.errors import ConditionFailed
from pollen.storage.reviews import schedule

if TYPE_CHECKING:
    from pollen.integrations.shopify.webhooks import ShopifyOrder
    from pollen.services.unit_of_work import UnitOfWork

REVIEW_REQUEST = "review_request"


def _shopify_products(order: ShopifyOrder) -> list[ReviewProduct]:
    return [
        ReviewProduct(
            product_id=str(line.product_id) if line.product_id is not None else None,
            variant_id=str(line.variant_id) if line.variant_id is not None else None,
            title=line.title[:255] if line.title else None,
            variant_title=line.variant_title[:255] if line.variant_title else None,
            quantity=line.quantity,
        )
        for line in order.line_items[:MAX_PRODUCTS]
        if not line.gift_card
    ]


def _order_products(data: OrderData) -> list[ReviewProduct]:
    return [
        ReviewProduct(product_id=line.product_id, variant_id=line.variant_id, quantity=line.quantity)
        for line in data.lines[:MAX_PRODUCTS]
        if not line.gift_card
    ]


def on_fulfilled(
    c: Container, merchant_id: str, order: ShopifyOrder, contact: CustomerData | None, *, now: datetime
) -> dict[str, Any]:
    """Shopify's ``orders/fulfilled``: schedule the order's review request (once)."""
    settings = get_program(c, merchant_id).reviews
    answer: dict[str, Any] = {"order_id": str(order.id)}
    if not settings.enabled or settings.after != "fulfilled":
        return {**answer, "review_request": "off"}
    if contact is None:
        return {**answer, "review_request": "no_customer"}  # a guest checkout: nobody to ask
    if order.cancelled_at is not None:
        return {**answer, "review_request": "cancelled"}
    record = ReviewRecord(
        order_id=str(order.id),
        customer_id=contact.customer_id,
        basis="fulfilled",
        scheduled_at=now,
        due_on=due_on(now, settings),
        products=_shopify_products(order),
        contact=contact.model_dump(mode="json", exclude_none=True),
    )
    written = schedule(c.table, merchant_id, record)
    return {
        **answer,
        "review_request": "scheduled" if written else "already_scheduled",
        "due_on": record.due_on.isoformat(),
    }


def on_order(uow: UnitOfWork, before: OrderRecord, order: OrderRecord, program: Program) -> None:
    """In the order's unit of work: schedule a paid-basis request at the write that first sees the
    order paid with its data (called once from :func:`pollen.services.orders.record_order_fact`)."""
    settings = program.reviews
    if not settings.enabled or settings.after != "paid" or order.customer_id is None:
        return
    data, facts = order.facts.data, order.facts
    if data is None or not facts.paid or (before.facts.paid and before.facts.data is not None):
        return
    if unwanted(facts) is not None:
        return
    paid_at = order.paid_at or order.updated_at
    if paid_at is None:
        return
    uow.reviews.schedule(
        ReviewRecord(
            order_id=order.order_id,
            customer_id=order.customer_id,
            basis="paid",
            scheduled_at=paid_at,
            due_on=due_on(paid_at, settings),
            products=_order_products(data),
        ),
    )


def send_due(c: Container, item: dict[str, Any], now: datetime) -> str:
    """The due-items job's pass over one request: ``sent``, ``skipped``, ``waiting`` or ``stale``.
    One read (the request, its order and customer), one write (settled, with its event)."""
    from pollen.events.catalogue import ReviewRequestPayload  # noqa: PLC0415 - the job's send only

    merchant_id, order_id, customer_id = (
        str(item["merchant_id"]),
        str(item["order_id"]),
        str(item["customer_id"]),
    )
    uow = c.units.begin(merchant_id)
    uow.reviews.want(order_id)
    uow.orders.want(order_id)
    uow.customers.want(customer_id)
    record = uow.reviews.get(order_id)
    if record is None or record.status != "pending":
        return "stale"
    if record.due_on > now.date():
        return "waiting"
    order = uow.orders.get(order_id)
    reason = unwanted(order.facts) if order is not None else None
    if reason is not None:
        uow.reviews.settle(
            record.model_copy(update={"status": "skipped", "reason": reason, "settled_at": now})
        )
    else:
        uow.reviews.settle(record.model_copy(update={"status": "sent", "settled_at": now}))
        customer = uow.customers.get(customer_id)
        payload = ReviewRequestPayload.model_validate(
            {
                "order_id": order_id,
                "basis": record.basis,
                "days": (record.due_on - record.scheduled_at.date()).days,
                "products": [p.model_dump(mode="json") for p in record.products],
                "customer": customer_fields(customer.customer)
                if customer
                else {"customer_id": record.customer_id, **record.contact},
            }
        )
        uow.emit(REVIEW_REQUEST, payload, customer_id=record.customer_id, now=now)
    try:
        uow.commit()
    except ConditionFailed:
        return "stale"  # another run settled it first
    return "skipped" if reason else "sent"
