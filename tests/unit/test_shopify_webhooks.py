"""Shopify webhooks: signatures, payload validation and the mapping to Pollen's domain.

The fixtures in ``tests/fixtures/shopify`` are one USD order (#1001) as Shopify sends it: two
sweaters with a product discount and the WELCOME10 code, a tote with the code, and a $50 gift card.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pollen.domain.customers import CustomerData
from pollen.domain.orders import OrderData, OrderLine, Refund, RefundLine, eligible_amount
from pollen.domain.program import EarningBasis, EarningRule
from pollen.integrations.shopify.webhooks import (
    ShopifyCustomer,
    ShopifyOrder,
    ShopifyRefund,
    Topic,
    customer_data,
    is_cancelled,
    is_paid,
    order_data,
    refund_of,
    sign,
    verify_hmac,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"
SECRET = "whsec-test-4f1c2a"

ORDER_ID = "820982911946154508"
CUSTOMER_ID = "115310627314723954"
SWEATER, TOTE, GIFT_CARD = "866550311766439020", "141249953214522974", "487817672276298554"

EXPECTED_ORDER = OrderData(
    order_id=ORDER_ID,
    customer_id=CUSTOMER_ID,
    email="jon@example.com",
    phone="+16135551111",
    currency="USD",
    lines=[
        OrderLine(
            line_id=SWEATER,
            product_id="632910392",
            variant_id="808950810",
            quantity=2,
            unit_price=Decimal("120.00"),
            discount=Decimal("45.60"),  # 24.00 product discount + 21.60 of WELCOME10
        ),
        OrderLine(
            line_id=TOTE,
            product_id="788032119674292922",
            variant_id="642667041472713922",
            quantity=1,
            unit_price=Decimal("45.00"),
            discount=Decimal("4.50"),  # 4.50 of WELCOME10
        ),
        OrderLine(
            line_id=GIFT_CARD,
            product_id="7513594609748",
            variant_id="42367968657492",
            quantity=1,
            unit_price=Decimal("50.00"),
            gift_card=True,
        ),
    ],
    total=Decimal("311.69"),
    discount_codes=["WELCOME10"],
    discount_amounts={"WELCOME10": Decimal("26.10")},
    created_at=datetime(2024, 5, 14, 10, 21, 43, tzinfo=timezone(timedelta(hours=-4))),
    shipping_address="350 Fifth Avenue, Floor 21, New York, 10118, US",  # referral fraud checks
)


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def payload(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(raw(name))
    return body


def rule(basis: EarningBasis = EarningBasis.SUBTOTAL_AFTER_DISCOUNTS) -> EarningRule:
    return EarningRule(coins_per_unit=Decimal(1), unit_amount=Decimal(1), basis=basis)


# --- signatures -------------------------------------------------------------------------------------


def test_topics_are_the_header_values_shopify_sends() -> None:
    assert [t.value for t in Topic] == [
        "customers/create",
        "orders/create",
        "orders/paid",
        "orders/cancelled",
        "refunds/create",
        "orders/fulfilled",
        "customers/update",
        "customers/data_request",
        "customers/redact",
        "shop/redact",
    ]
    assert Topic("refunds/create") is Topic.REFUNDS_CREATE


def test_signature_matches_a_digest_computed_with_openssl() -> None:
    # printf '{"id":1}' | openssl dgst -sha256 -hmac hush -binary | base64
    assert sign("hush", b'{"id":1}') == "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY="


@pytest.mark.parametrize(
    "name", ["orders_create", "orders_paid", "orders_cancelled", "refunds_create", "customers_create"]
)
def test_signed_fixture_verifies(name: str) -> None:
    body = raw(name)
    assert verify_hmac(SECRET, body, sign(SECRET, body))


def test_tampered_body_fails() -> None:
    body = raw("orders_create")
    header = sign(SECRET, body)
    tampered = body.replace(b'"total_price": "311.69"', b'"total_price": "3111.69"')
    assert tampered != body
    assert not verify_hmac(SECRET, tampered, header)
    assert not verify_hmac(SECRET, body + b"\n", header)


def test_re_serialised_json_fails_because_the_raw_bytes_are_signed() -> None:
    body = raw("orders_create")
    assert not verify_hmac(SECRET, json.dumps(json.loads(body)).encode(), sign(SECRET, body))


def test_wrong_secret_fails() -> None:
    body = raw("orders_create")
    assert not verify_hmac("another-secret", body, sign(SECRET, body))


def test_empty_secret_never_verifies() -> None:
    body = raw("orders_create")
    assert not verify_hmac("", body, sign("", body))


@pytest.mark.parametrize(
    "header",
    [None, "", "not base64!", "é", "c2hvcnQ=", "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY"],
)
def test_missing_or_garbage_header_fails(header: str | None) -> None:
    assert not verify_hmac(SECRET, raw("orders_create"), header)


def test_signature_of_another_body_fails() -> None:
    assert not verify_hmac(SECRET, raw("orders_create"), sign(SECRET, raw("orders_paid")))


# --- orders -----------------------------------------------------------------------------------------


def test_orders_create_maps_exactly() -> None:
    data = order_data(ShopifyOrder.model_validate(payload("orders_create")))
    assert data == EXPECTED_ORDER


def test_the_storefront_device_id_comes_from_a_cart_attribute() -> None:
    order = payload("orders_create") | {"note_attributes": [{"name": "pollen_device_id", "value": "dev-9"}]}
    assert order_data(ShopifyOrder.model_validate(order)).device_id == "dev-9"


def test_line_discounts_sum_the_allocations_and_amounts_stay_decimal() -> None:
    data = order_data(ShopifyOrder.model_validate(payload("orders_create")))
    discounts = {line.line_id: line.discount for line in data.lines}
    assert discounts == {SWEATER: Decimal("45.60"), TOTE: Decimal("4.50"), GIFT_CARD: Decimal(0)}
    # the allocations add up to the order's total_discounts (no shipping discount here)
    assert sum(discounts.values()) == Decimal(payload("orders_create")["total_discounts"])
    for line in data.lines:
        assert type(line.unit_price) is Decimal
        assert type(line.discount) is Decimal
    assert type(data.total) is Decimal


def test_only_the_gift_card_line_is_flagged() -> None:
    data = order_data(ShopifyOrder.model_validate(payload("orders_create")))
    assert [line.line_id for line in data.lines if line.gift_card] == [GIFT_CARD]


def test_eligible_merchandise_excludes_the_gift_card_and_nets_discounts() -> None:
    data = order_data(ShopifyOrder.model_validate(payload("orders_create")))
    assert eligible_amount(data, rule()) == Decimal("234.90")  # 194.40 + 40.50
    assert eligible_amount(data, rule(EarningBasis.SUBTOTAL)) == Decimal("285.00")  # 240 + 45
    assert eligible_amount(data, rule(EarningBasis.TOTAL)) == Decimal("261.69")  # 311.69 - 50 gift card


def test_every_order_topic_maps_to_the_same_order() -> None:
    """paid and cancelled payloads describe the same order; current_* figures are ignored."""
    for name in ("orders_paid", "orders_cancelled"):
        assert order_data(ShopifyOrder.model_validate(payload(name))) == EXPECTED_ORDER


def test_ids_are_strings_even_when_shopify_sends_integers() -> None:
    body = payload("orders_create")
    assert isinstance(body["id"], int)
    data = order_data(ShopifyOrder.model_validate(body))
    assert data.order_id == ORDER_ID
    assert data.customer_id == CUSTOMER_ID
    assert [line.line_id for line in data.lines] == [SWEATER, TOTE, GIFT_CARD]


def test_custom_item_without_product_or_variant_maps_to_none() -> None:
    body = payload("orders_create")
    body["line_items"][1]["product_id"] = None
    body["line_items"][1]["variant_id"] = None
    line = order_data(ShopifyOrder.model_validate(body)).lines[1]
    assert (line.product_id, line.variant_id) == (None, None)


@pytest.mark.parametrize("absent", ["null", "missing"])
def test_guest_order_has_no_customer_but_keeps_its_email(absent: str) -> None:
    body = payload("orders_create")
    if absent == "null":
        body["customer"] = None
    else:
        del body["customer"]
    data = order_data(ShopifyOrder.model_validate(body))
    assert data.customer_id is None
    assert data.email == "jon@example.com"
    assert data.phone is None


def test_email_is_lower_cased_and_trimmed() -> None:
    body = payload("orders_create")
    body["email"] = "  Jon.Doe@Example.COM "
    assert order_data(ShopifyOrder.model_validate(body)).email == "jon.doe@example.com"


def test_blank_order_email_falls_back_to_the_customer_email() -> None:
    body = payload("orders_create")
    body["email"] = ""
    body["contact_email"] = None
    body["customer"]["email"] = "JON@example.com"
    assert order_data(ShopifyOrder.model_validate(body)).email == "jon@example.com"


def test_guest_order_without_any_email_has_none() -> None:
    body = payload("orders_create")
    body.update(email="", contact_email=None, customer=None)
    assert order_data(ShopifyOrder.model_validate(body)).email is None


def test_order_phone_wins_over_the_customer_phone() -> None:
    body = payload("orders_create")
    body["phone"] = "+12125550123"
    assert order_data(ShopifyOrder.model_validate(body)).phone == "+12125550123"


@pytest.mark.parametrize(
    ("field", "loc"),
    [
        ("id", ("id",)),
        ("line_items", ("line_items",)),
        ("currency", ("currency",)),
    ],
)
def test_missing_required_order_field_is_a_validation_error(field: str, loc: tuple[str, ...]) -> None:
    body = payload("orders_create")
    del body[field]
    with pytest.raises(ValidationError) as error:
        ShopifyOrder.model_validate(body)
    assert [(e["loc"], e["type"]) for e in error.value.errors()] == [(loc, "missing")]


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda b: b["line_items"][0].pop("price"), ("line_items", 0, "price")),
        (lambda b: b["line_items"][2].pop("id"), ("line_items", 2, "id")),
        (lambda b: b["line_items"][1].update(price="forty-five"), ("line_items", 1, "price")),
        (lambda b: b["line_items"][0].update(quantity=-1), ("line_items", 0, "quantity")),
        (lambda b: b.update(currency="usd"), ("currency",)),
        (lambda b: b.update(total_price="-1.00"), ("total_price",)),
        (
            lambda b: b["line_items"][0]["discount_allocations"][0].pop("amount"),
            ("line_items", 0, "discount_allocations", 0, "amount"),
        ),
    ],
)
def test_malformed_order_points_at_the_field(mutate: Any, loc: tuple[str | int, ...]) -> None:
    body = payload("orders_create")
    mutate(body)
    with pytest.raises(ValidationError) as error:
        ShopifyOrder.model_validate(body)
    assert [e["loc"] for e in error.value.errors()] == [loc]


def test_paid_and_cancelled_flags() -> None:
    created = ShopifyOrder.model_validate(payload("orders_create"))
    paid = ShopifyOrder.model_validate(payload("orders_paid"))
    cancelled = ShopifyOrder.model_validate(payload("orders_cancelled"))
    assert created.financial_status == "authorized"
    assert not is_paid(created)
    assert not is_paid(created, Topic.ORDERS_CREATE)
    assert is_paid(created, Topic.ORDERS_PAID)
    assert is_paid(created, "orders/paid")
    assert is_paid(paid)
    assert not is_paid(cancelled)  # voided before capture
    assert (is_cancelled(created), is_cancelled(paid), is_cancelled(cancelled)) == (False, False, True)


@pytest.mark.parametrize(
    ("status", "paid"),
    [
        ("pending", False),
        ("authorized", False),
        ("partially_paid", False),
        ("paid", True),
        ("partially_refunded", True),
        ("refunded", True),
        ("voided", False),
        (None, False),
    ],
)
def test_financial_status_decides_paid(status: str | None, paid: bool) -> None:
    body = payload("orders_create")
    body["financial_status"] = status
    assert is_paid(ShopifyOrder.model_validate(body)) is paid


# --- refunds ----------------------------------------------------------------------------------------


def test_refund_maps_exactly() -> None:
    order_id, refund = refund_of(ShopifyRefund.model_validate(payload("refunds_create")))
    assert order_id == ORDER_ID
    assert refund == Refund(
        refund_id="929361471",
        lines=[RefundLine(line_id=SWEATER, quantity=1, subtotal=Decimal("97.20"))],
    )
    assert type(refund.lines[0].subtotal) is Decimal


def test_refund_is_half_the_sweater_line_after_discounts() -> None:
    order = order_data(ShopifyOrder.model_validate(payload("orders_create")))
    _, refund = refund_of(ShopifyRefund.model_validate(payload("refunds_create")))
    sweater = next(line for line in order.lines if line.line_id == SWEATER)
    assert refund.lines[0].subtotal * 2 == sweater.net


def test_refund_falls_back_to_the_numeric_subtotal_without_float_drift() -> None:
    body = payload("refunds_create")
    del body["refund_line_items"][0]["subtotal_set"]
    assert isinstance(body["refund_line_items"][0]["subtotal"], float)
    _, refund = refund_of(ShopifyRefund.model_validate(body))
    assert refund.lines[0].subtotal == Decimal("97.20")
    assert str(refund.lines[0].subtotal) == "97.2"


def test_shipping_only_refund_has_no_lines() -> None:
    body = payload("refunds_create")
    body["refund_line_items"] = []
    assert refund_of(ShopifyRefund.model_validate(body)) == (
        ORDER_ID,
        Refund(refund_id="929361471", lines=[]),
    )


def test_refund_line_without_any_subtotal_is_a_validation_error() -> None:
    body = payload("refunds_create")
    del body["refund_line_items"][0]["subtotal_set"]
    del body["refund_line_items"][0]["subtotal"]
    with pytest.raises(ValidationError) as error:
        ShopifyRefund.model_validate(body)
    assert [e["loc"] for e in error.value.errors()] == [("refund_line_items", 0)]


@pytest.mark.parametrize("field", ["id", "order_id"])
def test_refund_without_ids_is_a_validation_error(field: str) -> None:
    body = payload("refunds_create")
    del body[field]
    with pytest.raises(ValidationError) as error:
        ShopifyRefund.model_validate(body)
    assert [(e["loc"], e["type"]) for e in error.value.errors()] == [((field,), "missing")]


# --- customers --------------------------------------------------------------------------------------


def test_customer_maps_exactly() -> None:
    data = customer_data(ShopifyCustomer.model_validate(payload("customers_create")))
    assert data == CustomerData(
        customer_id=CUSTOMER_ID,
        email="jon@example.com",
        phone="+16135551111",
        first_name="Jon",
        last_name="Doe",
    )


def test_customer_email_is_lower_cased_and_blanks_become_none() -> None:
    body = payload("customers_create")
    body.update(email="Jon@Example.com", phone="", first_name=None, last_name="  ")
    data = customer_data(ShopifyCustomer.model_validate(body))
    assert (data.email, data.phone, data.first_name, data.last_name) == ("jon@example.com", None, None, None)


def test_long_customer_names_are_cut_to_pollens_limit() -> None:
    body = payload("customers_create")
    body["first_name"] = "J" * 150
    assert customer_data(ShopifyCustomer.model_validate(body)).first_name == "J" * 100


def test_customer_without_id_is_a_validation_error() -> None:
    body = payload("customers_create")
    del body["id"]
    with pytest.raises(ValidationError) as error:
        ShopifyCustomer.model_validate(body)
    assert [(e["loc"], e["type"]) for e in error.value.errors()] == [(("id",), "missing")]
