"""Shopify webhooks, pure: HMAC verification and the mapping of REST payloads to Pollen's domain.

No AWS and no HTTP here. The handler verifies ``X-Shopify-Hmac-Sha256`` over the raw body, validates
the parsed JSON with the models below (a ``ValidationError`` becomes a 422 with field errors) and maps
the result with :func:`order_data`, :func:`refund_of` or :func:`customer_data`.

Amounts are read in the shop currency (``price``, ``discount_allocations[].amount``, ``total_price``,
``subtotal_set.shop_money``), which is the order's ``currency``; ``presentment_money`` is ignored.
Order topics map the *original* order (``quantity``, ``total_price``), never the ``current_*`` figures:
those already subtract refunds, which Pollen learns from ``refunds/create`` and would count twice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from pollen.domain.customers import CustomerData
from pollen.domain.orders import MAX_QUANTITY, Money, OrderData, OrderLine, Refund, RefundLine
from pollen.model import BaseModel

_NAME_MAX = 100  # CustomerData's limit; Shopify allows longer names
_PAID = frozenset({"paid", "partially_refunded", "refunded"})


class Topic(StrEnum):
    """The ``X-Shopify-Topic`` values Pollen subscribes to."""

    CUSTOMERS_CREATE = "customers/create"
    ORDERS_CREATE = "orders/create"
    ORDERS_PAID = "orders/paid"
    ORDERS_CANCELLED = "orders/cancelled"
    REFUNDS_CREATE = "refunds/create"
    ORDERS_FULFILLED = "orders/fulfilled"  # review requests (pollen.services.review_requests)
    CUSTOMERS_UPDATE = "customers/update"  # an email changed in Shopify: proven, so it may claim
    # The mandatory privacy (compliance) topics.
    CUSTOMERS_DATA_REQUEST = "customers/data_request"
    CUSTOMERS_REDACT = "customers/redact"
    SHOP_REDACT = "shop/redact"


# --- signatures -------------------------------------------------------------------------------------


def sign(secret: str, raw_body: bytes) -> str:
    """What Shopify sends in ``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256(secret, raw body)."""
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode("ascii")


def verify_hmac(secret: str, raw_body: bytes, header: str | None) -> bool:
    """True only if ``header`` is the signature of exactly these bytes; compared in constant time."""
    if not secret or not header:
        return False
    try:
        presented = base64.b64decode(header, validate=True)
    except (binascii.Error, ValueError):  # not base64, or not ASCII
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, presented)


# --- payload models (only the fields Pollen uses) ---------------------------------------------------


def _blank_to_none(value: object) -> object:
    """Shopify sends ``""`` as well as ``null`` for an absent email or phone."""
    if isinstance(value, str):
        return value.strip() or None
    return value


ShopifyId = Annotated[int, Field(gt=0)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ShopMoney(_Payload):
    amount: Money


class MoneySet(_Payload):
    shop_money: ShopMoney


class ShopifyDiscountAllocation(_Payload):
    amount: Money


class ShopifyLineItem(_Payload):
    id: ShopifyId
    product_id: ShopifyId | None = None  # null for custom items and deleted products
    variant_id: ShopifyId | None = None
    quantity: int = Field(ge=0, le=MAX_QUANTITY)
    price: Money  # unit price before discounts
    gift_card: bool = False
    discount_allocations: list[ShopifyDiscountAllocation] = Field(default_factory=list)
    title: OptionalText = None  # the product's title (review requests name it)
    variant_title: OptionalText = None


class ShopifyDiscountCode(_Payload):
    code: str
    amount: Money | None = None
    type: str | None = None


class ShopifyCustomer(_Payload):
    """A ``customers/create`` payload, and the ``customer`` object embedded in orders."""

    id: ShopifyId
    email: OptionalText = None
    phone: OptionalText = None
    first_name: OptionalText = None
    last_name: OptionalText = None


class ShopifyAddress(_Payload):
    address1: OptionalText = None
    address2: OptionalText = None
    city: OptionalText = None
    zip: OptionalText = None
    country_code: OptionalText = None

    def one_line(self) -> str | None:
        parts = [self.address1, self.address2, self.city, self.zip, self.country_code]
        text = ", ".join(str(p) for p in parts if p)
        return text[:500] or None


class ShopifyNoteAttribute(_Payload):
    name: str
    value: OptionalText = None


DEVICE_ATTRIBUTE = "pollen_device_id"  # a cart attribute the storefront widget sets


class ShopifyOrder(_Payload):
    """The order payload of ``orders/create``, ``orders/paid``, ``orders/cancelled``, ``orders/fulfilled``."""

    id: ShopifyId
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]  # the shop currency
    line_items: list[ShopifyLineItem]
    email: OptionalText = None
    contact_email: OptionalText = None
    phone: OptionalText = None
    customer: ShopifyCustomer | None = None  # null for guest checkouts
    total_price: Money | None = None
    discount_codes: list[ShopifyDiscountCode] = Field(default_factory=list)
    financial_status: str | None = None
    cancelled_at: datetime | None = None
    created_at: datetime | None = None
    shipping_address: ShopifyAddress | None = None
    note_attributes: list[ShopifyNoteAttribute] = Field(default_factory=list)


class ShopifyRefundLineItem(_Payload):
    line_item_id: ShopifyId
    quantity: int = Field(ge=0, le=MAX_QUANTITY)
    subtotal: Money | None = None  # a JSON number in Shopify's payload
    subtotal_set: MoneySet | None = None

    @model_validator(mode="after")
    def _has_subtotal(self) -> Self:
        if self.subtotal is None and self.subtotal_set is None:
            raise ValueError("a refund line needs subtotal_set or subtotal")
        return self

    @property
    def amount(self) -> Decimal:
        """Refunded merchandise of this line after its discounts, in the shop currency."""
        if self.subtotal_set is not None:
            return self.subtotal_set.shop_money.amount
        assert self.subtotal is not None  # guaranteed by _has_subtotal
        return self.subtotal


class ShopifyRefund(_Payload):
    """A ``refunds/create`` payload. A shipping-only refund or an adjustment has no refund lines."""

    id: ShopifyId
    order_id: ShopifyId
    refund_line_items: list[ShopifyRefundLineItem] = Field(default_factory=list)


# --- mapping to the domain --------------------------------------------------------------------------


def order_data(order: ShopifyOrder) -> OrderData:
    """The order as Pollen's domain sees it.

    A line's discount is the sum of its ``discount_allocations``: Shopify allocates every discount
    application that targets line items there, product discounts and order-level codes spread
    ``across`` lines alike, so their sum over lines is the order's ``total_discounts`` less shipping
    discounts (allocated to ``shipping_lines``). The line's ``total_discount`` field is deprecated and
    reads ``0.00`` for allocated discounts, so it is not used. REST order lines carry no product tags.
    """
    customer = order.customer
    email = order.email or order.contact_email or (customer.email if customer else None)
    return OrderData(
        order_id=str(order.id),
        customer_id=str(customer.id) if customer else None,
        email=email.lower() if email else None,
        phone=order.phone or (customer.phone if customer else None),
        currency=order.currency,
        lines=[
            OrderLine(
                line_id=str(line.id),
                product_id=str(line.product_id) if line.product_id is not None else None,
                variant_id=str(line.variant_id) if line.variant_id is not None else None,
                quantity=line.quantity,
                unit_price=line.price,
                discount=sum((a.amount for a in line.discount_allocations), Decimal(0)),
                gift_card=line.gift_card,
            )
            for line in order.line_items
        ],
        total=order.total_price,
        discount_codes=[code.code for code in order.discount_codes],
        discount_amounts={c.code: c.amount for c in order.discount_codes if c.amount is not None},
        created_at=order.created_at,
        shipping_address=order.shipping_address.one_line() if order.shipping_address else None,
        device_id=next(
            (str(a.value)[:128] for a in order.note_attributes if a.name == DEVICE_ATTRIBUTE and a.value),
            None,
        ),
    )


def refund_of(refund: ShopifyRefund) -> tuple[str, Refund]:
    """``(order_id, refund)``: each line's refunded merchandise after discounts (``subtotal_set``).

    Refunded shipping, tax and order adjustments are not merchandise and are left out.
    """
    lines = [
        RefundLine(line_id=str(item.line_item_id), quantity=item.quantity, subtotal=item.amount)
        for item in refund.refund_line_items
    ]
    return str(refund.order_id), Refund(refund_id=str(refund.id), lines=lines)


def customer_data(customer: ShopifyCustomer) -> CustomerData:
    """The customer as Pollen stores them (email lower-cased; names cut to Pollen's length limit)."""
    return CustomerData(
        customer_id=str(customer.id),
        email=customer.email,
        phone=customer.phone,
        first_name=customer.first_name[:_NAME_MAX] if customer.first_name else None,
        last_name=customer.last_name[:_NAME_MAX] if customer.last_name else None,
    )


def is_paid(order: ShopifyOrder, topic: str | None = None) -> bool:
    """Whether the order has been paid: delivered on ``orders/paid``, or paid and since refunded."""
    return topic == Topic.ORDERS_PAID or order.financial_status in _PAID


def is_cancelled(order: ShopifyOrder) -> bool:
    return order.cancelled_at is not None
