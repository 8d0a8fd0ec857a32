"""Shopify Admin GraphQL discount codes: the exact requests Shopify receives, and every failure branch.

Each test drives :class:`ShopifyAdmin` through ``httpx.MockTransport``: the handler records the request
and answers as Shopify would (or raises the transport error httpx would raise). The GraphQL documents
are spelled out here in full, so a change to what is sent fails a test.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from pollen.domain.merchants import ShopifyConnection
from pollen.integrations.shopify import discounts
from pollen.integrations.shopify.discounts import (
    DiscountKind,
    DiscountSpec,
    ShopifyAdmin,
    ShopifyFailure,
    customer_gid,
    shopify_client,
)

TOKEN = "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"
SHOP = "pollen-demo.myshopify.com"
URL = f"https://{SHOP}/admin/api/2025-10/graphql.json"
CUSTOMER = "gid://shopify/Customer/7008505659443"
NODE = "gid://shopify/DiscountCodeNode/1339163328771"
STARTS = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)
ENDS = STARTS + timedelta(days=30)
STARTS_AT, ENDS_AT = "2025-11-03T09:30:00.000Z", "2025-12-03T09:30:00.000Z"

BASIC_CREATE = (
    "mutation discountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {"
    " discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {"
    " codeDiscountNode { id } userErrors { field code message } } }"
)
FREE_SHIPPING_CREATE = (
    "mutation discountCodeFreeShippingCreate($freeShippingCodeDiscount: DiscountCodeFreeShippingInput!) {"
    " discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount) {"
    " codeDiscountNode { id } userErrors { field code message } } }"
)
FIND_BY_CODE = "query codeDiscountNodeByCode($code: String!) { codeDiscountNodeByCode(code: $code) { id } }"
DEACTIVATE = (
    "mutation discountCodeDeactivate($id: ID!) {"
    " discountCodeDeactivate(id: $id) { codeDiscountNode { id } userErrors { field code message } } }"
)
DELETE = (
    "mutation discountCodeDelete($id: ID!) {"
    " discountCodeDelete(id: $id) { deletedCodeDiscountId userErrors { field code message } } }"
)

Handler = Callable[[httpx.Request], httpx.Response]


def connection(api_version: str = "2025-10", token: str | None = TOKEN) -> ShopifyConnection:
    return ShopifyConnection(
        shop_domain=SHOP, webhook_secret="whsec-test", admin_access_token=token, api_version=api_version
    )


class FakeShopify:
    """Records every request; answers each with the next of ``answers`` (a response or an exception)."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def admin(self, api_version: str = "2025-10") -> ShopifyAdmin:
        return ShopifyAdmin(shopify_client(httpx.MockTransport(self)), connection(api_version))

    @property
    def only_request(self) -> httpx.Request:
        assert len(self.requests) == 1
        return self.requests[0]


def graphql(data: Any = None, **extra: Any) -> httpx.Response:
    body = {"data": data, **extra} if data is not None else extra
    return httpx.Response(200, json=body)


def created(root: str = "discountCodeBasicCreate") -> httpx.Response:
    return graphql({root: {"codeDiscountNode": {"id": NODE}, "userErrors": []}})


def assert_request(request: httpx.Request, query: str, variables: dict[str, Any], url: str = URL) -> None:
    assert request.method == "POST"
    assert str(request.url) == url
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"query": query, "variables": variables}


def spec(kind: DiscountKind = DiscountKind.FIXED_AMOUNT, **fields: Any) -> DiscountSpec:
    values: dict[str, Any] = {
        "code": "PLN-7KQ4-M9XW",
        "title": "Pollen reward PLN-7KQ4-M9XW",
        "kind": kind,
        "starts_at": STARTS,
        "ends_at": ENDS,
    }
    if kind is DiscountKind.FIXED_AMOUNT:
        values["amount"] = Decimal("5.00")
    if kind is DiscountKind.PERCENTAGE:
        values["percentage"] = Decimal("15")
    values.update(fields)
    return DiscountSpec(**values)


def common(**extra: Any) -> dict[str, Any]:
    """The fields every create sends, for one use, the window and everyone (2025-10)."""
    return {
        "code": "PLN-7KQ4-M9XW",
        "title": "Pollen reward PLN-7KQ4-M9XW",
        "startsAt": STARTS_AT,
        "endsAt": ENDS_AT,
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "context": {"all": "ALL"},
        **extra,
    }


ALL_ITEMS = {"all": True}
TO_CUSTOMER = {"context": {"customers": {"add": [CUSTOMER]}}}
MINIMUM_50 = {"minimumRequirement": {"subtotal": {"greaterThanOrEqualToSubtotal": "50.00"}}}


# --- create: the exact request for each kind -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected_extra"),
    [
        ({}, {}),
        ({"customer_gid": CUSTOMER}, TO_CUSTOMER),
        ({"min_subtotal": Decimal("50.00")}, MINIMUM_50),
        ({"customer_gid": CUSTOMER, "min_subtotal": Decimal("50.00")}, {**TO_CUSTOMER, **MINIMUM_50}),
    ],
    ids=["everyone", "customer", "minimum", "customer-and-minimum"],
)
def test_fixed_amount_request(fields: dict[str, Any], expected_extra: dict[str, Any]) -> None:
    shopify = FakeShopify(created())
    gid = shopify.admin().create_discount(spec(DiscountKind.FIXED_AMOUNT, **fields))
    assert gid == NODE
    customer_gets = {
        "value": {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}},
        "items": ALL_ITEMS,
    }
    assert_request(
        shopify.only_request,
        BASIC_CREATE,
        {"basicCodeDiscount": common(**expected_extra, customerGets=customer_gets)},
    )


@pytest.mark.parametrize(
    ("fields", "expected_extra"),
    [
        ({}, {}),
        ({"customer_gid": CUSTOMER}, TO_CUSTOMER),
        ({"min_subtotal": Decimal("50.00")}, MINIMUM_50),
        ({"customer_gid": CUSTOMER, "min_subtotal": Decimal("50.00")}, {**TO_CUSTOMER, **MINIMUM_50}),
    ],
    ids=["everyone", "customer", "minimum", "customer-and-minimum"],
)
def test_percentage_request(fields: dict[str, Any], expected_extra: dict[str, Any]) -> None:
    shopify = FakeShopify(created())
    assert shopify.admin().create_discount(spec(DiscountKind.PERCENTAGE, **fields)) == NODE
    customer_gets = {"value": {"percentage": 0.15}, "items": ALL_ITEMS}  # Pollen's 15 is Shopify's 0.15
    assert_request(
        shopify.only_request,
        BASIC_CREATE,
        {"basicCodeDiscount": common(**expected_extra, customerGets=customer_gets)},
    )


@pytest.mark.parametrize(
    ("fields", "expected_extra"),
    [
        ({}, {}),
        ({"customer_gid": CUSTOMER}, TO_CUSTOMER),
        ({"min_subtotal": Decimal("50.00")}, MINIMUM_50),
        ({"customer_gid": CUSTOMER, "min_subtotal": Decimal("50.00")}, {**TO_CUSTOMER, **MINIMUM_50}),
    ],
    ids=["everyone", "customer", "minimum", "customer-and-minimum"],
)
def test_free_shipping_request(fields: dict[str, Any], expected_extra: dict[str, Any]) -> None:
    shopify = FakeShopify(created("discountCodeFreeShippingCreate"))
    assert shopify.admin().create_discount(spec(DiscountKind.FREE_SHIPPING, **fields)) == NODE
    assert_request(
        shopify.only_request,
        FREE_SHIPPING_CREATE,
        {"freeShippingCodeDiscount": common(**expected_extra, destination={"all": True})},
    )


@pytest.mark.parametrize(
    ("percentage", "sent"),
    [(Decimal("100"), 1.0), (Decimal("12.5"), 0.125), (Decimal("0.5"), 0.005), (Decimal("33.33"), 0.3333)],
)
def test_percentage_is_sent_as_a_fraction(percentage: Decimal, sent: float) -> None:
    shopify = FakeShopify(created())
    shopify.admin().create_discount(spec(DiscountKind.PERCENTAGE, percentage=percentage))
    value = json.loads(shopify.only_request.content)["variables"]["basicCodeDiscount"]["customerGets"][
        "value"
    ]
    assert value == {"percentage": sent}


def test_decimals_are_plain_strings_and_times_utc() -> None:
    """Exponent-form Decimals are written out; an offset time is sent as the same instant in UTC."""
    shopify = FakeShopify(created())
    paris = timezone(timedelta(hours=1))
    shopify.admin().create_discount(
        spec(
            amount=Decimal("1E+1"),
            min_subtotal=Decimal("2.5E+1"),
            starts_at=datetime(2025, 11, 3, 10, 30, tzinfo=paris),
            ends_at=datetime(2025, 12, 3, 10, 30, 0, 250000, tzinfo=paris),
        )
    )
    sent = json.loads(shopify.only_request.content)["variables"]["basicCodeDiscount"]
    assert sent["customerGets"]["value"]["discountAmount"]["amount"] == "10"
    assert sent["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "25"}}
    assert (sent["startsAt"], sent["endsAt"]) == (STARTS_AT, "2025-12-03T09:30:00.250Z")


def test_a_zero_minimum_is_no_minimum() -> None:
    shopify = FakeShopify(created())
    shopify.admin().create_discount(spec(min_subtotal=Decimal("0.00")))
    assert (
        "minimumRequirement" not in json.loads(shopify.only_request.content)["variables"]["basicCodeDiscount"]
    )


@pytest.mark.parametrize(
    ("customer", "eligibility"),
    [
        (None, {"customerSelection": {"all": True}}),
        (CUSTOMER, {"customerSelection": {"customers": {"add": [CUSTOMER]}}}),
    ],
)
def test_versions_before_2025_10_use_customer_selection(
    customer: str | None, eligibility: dict[str, Any]
) -> None:
    shopify = FakeShopify(created())
    shopify.admin("2025-07").create_discount(spec(customer_gid=customer))
    expected = common(
        customerGets={
            "value": {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}},
            "items": ALL_ITEMS,
        }
    )
    del expected["context"]
    assert_request(
        shopify.only_request,
        BASIC_CREATE,
        {"basicCodeDiscount": {**expected, **eligibility}},
        url=f"https://{SHOP}/admin/api/2025-07/graphql.json",
    )


@pytest.mark.parametrize("version", ["2026-01", "unstable"])
def test_later_versions_use_context(version: str) -> None:
    shopify = FakeShopify(created("discountCodeFreeShippingCreate"))
    shopify.admin(version).create_discount(spec(DiscountKind.FREE_SHIPPING, customer_gid=CUSTOMER))
    request = shopify.only_request
    assert str(request.url) == f"https://{SHOP}/admin/api/{version}/graphql.json"
    sent = json.loads(request.content)["variables"]["freeShippingCodeDiscount"]
    assert sent["context"] == {"customers": {"add": [CUSTOMER]}}
    assert "customerSelection" not in sent


# --- find, deactivate, delete --------------------------------------------------------------------------


def test_find_discount_found() -> None:
    shopify = FakeShopify(graphql({"codeDiscountNodeByCode": {"id": NODE}}))
    assert shopify.admin().find_discount("PLN-7KQ4-M9XW") == NODE
    assert_request(shopify.only_request, FIND_BY_CODE, {"code": "PLN-7KQ4-M9XW"})


def test_find_discount_not_found() -> None:
    shopify = FakeShopify(graphql({"codeDiscountNodeByCode": None}))
    assert shopify.admin().find_discount("NOPE-0000") is None
    assert_request(shopify.only_request, FIND_BY_CODE, {"code": "NOPE-0000"})


@pytest.mark.parametrize("data", [{}, {"codeDiscountNodeByCode": {}}, {"codeDiscountNodeByCode": {"id": 7}}])
def test_find_discount_malformed_answer_is_unexpected_not_absent(data: dict[str, Any]) -> None:
    with pytest.raises(ShopifyFailure) as caught:
        FakeShopify(graphql(data)).admin().find_discount("PLN-7KQ4-M9XW")
    assert (caught.value.kind, caught.value.retryable, caught.value.maybe_applied) == (
        "unexpected",
        False,
        False,
    )


def test_deactivate() -> None:
    shopify = FakeShopify(
        graphql({"discountCodeDeactivate": {"codeDiscountNode": {"id": NODE}, "userErrors": []}})
    )
    shopify.admin().deactivate_discount(NODE)
    assert_request(shopify.only_request, DEACTIVATE, {"id": NODE})


def test_delete() -> None:
    shopify = FakeShopify(graphql({"discountCodeDelete": {"deletedCodeDiscountId": NODE, "userErrors": []}}))
    shopify.admin().delete_discount(NODE)
    assert_request(shopify.only_request, DELETE, {"id": NODE})


def test_delete_refused_is_rejected() -> None:
    refused = {"field": ["id"], "code": "INVALID", "message": "Discount does not exist"}
    shopify = FakeShopify(
        graphql({"discountCodeDelete": {"deletedCodeDiscountId": None, "userErrors": [refused]}})
    )
    with pytest.raises(ShopifyFailure) as caught:
        shopify.admin().delete_discount(NODE)
    failure = caught.value
    assert (failure.kind, failure.retryable, failure.maybe_applied, failure.code_taken) == (
        "rejected",
        False,
        False,
        False,
    )
    assert failure.user_errors == [refused]


def test_deactivate_failure_is_classified_like_any_mutation() -> None:
    with pytest.raises(ShopifyFailure) as caught:
        FakeShopify(httpx.Response(502)).admin().deactivate_discount(NODE)
    assert (caught.value.kind, caught.value.retryable, caught.value.maybe_applied) == ("server", True, True)


# --- failures ------------------------------------------------------------------------------------------


def create_failure(
    *answers: httpx.Response | Exception, kind: DiscountKind = DiscountKind.FIXED_AMOUNT
) -> ShopifyFailure:
    shopify = FakeShopify(*answers)
    with pytest.raises(ShopifyFailure) as caught:
        shopify.admin().create_discount(spec(kind))
    assert len(shopify.requests) == 1  # the client never retries on its own
    return caught.value


def test_user_errors_with_taken_code() -> None:
    taken = {
        "field": ["basicCodeDiscount", "code"],
        "code": "TAKEN",
        "message": "Code must be unique. Please try a different code.",
        "extraInfo": None,
    }
    failure = create_failure(
        graphql({"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [taken]}})
    )
    assert failure.kind == "rejected"
    assert failure.code_taken
    assert (failure.retryable, failure.maybe_applied, failure.retry_after_seconds) == (False, False, None)
    assert failure.user_errors == [
        {
            "field": ["basicCodeDiscount", "code"],
            "message": "Code must be unique. Please try a different code.",
            "code": "TAKEN",
        }
    ]


def test_user_errors_on_free_shipping_without_taken() -> None:
    invalid = {
        "field": ["freeShippingCodeDiscount", "endsAt"],
        "code": "INVALID",
        "message": "Ends at is invalid",
    }
    failure = create_failure(
        graphql({"discountCodeFreeShippingCreate": {"codeDiscountNode": None, "userErrors": [invalid]}}),
        kind=DiscountKind.FREE_SHIPPING,
    )
    assert (failure.kind, failure.code_taken, failure.retryable) == ("rejected", False, False)
    assert failure.user_errors == [invalid]
    assert "INVALID: Ends at is invalid" in str(failure)


THROTTLED_BODY: dict[str, Any] = {
    "errors": [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ],
    "extensions": {
        "cost": {
            "requestedQueryCost": 752,
            "actualQueryCost": None,
            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 666, "restoreRate": 50.0},
        }
    },
}


def test_throttled_as_200_with_errors() -> None:
    failure = create_failure(httpx.Response(200, json=THROTTLED_BODY))
    assert (failure.kind, failure.retryable, failure.maybe_applied) == ("throttled", True, False)
    assert failure.retry_after_seconds == pytest.approx((752 - 666) / 50.0)


def test_throttled_without_cost_has_no_wait() -> None:
    failure = create_failure(httpx.Response(200, json={"errors": THROTTLED_BODY["errors"]}))
    assert (failure.kind, failure.retry_after_seconds) == ("throttled", None)


def test_throttled_as_429_with_retry_after_seconds() -> None:
    failure = create_failure(httpx.Response(429, headers={"Retry-After": "2.0"}, text="Too Many Requests"))
    assert (failure.kind, failure.retryable, failure.maybe_applied) == ("throttled", True, False)
    assert (failure.retry_after_seconds, failure.status_code) == (2.0, 429)


def test_throttled_as_429_with_retry_after_date(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)
    monkeypatch.setattr(discounts, "utcnow", lambda: now)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    failure = create_failure(httpx.Response(429, headers={"Retry-After": later}))
    assert failure.retry_after_seconds == 30.0


def test_throttled_as_429_falls_back_to_the_bucket() -> None:
    failure = create_failure(httpx.Response(429, json=THROTTLED_BODY))
    assert failure.retry_after_seconds == pytest.approx(1.72)


def test_throttled_as_429_without_any_hint() -> None:
    failure = create_failure(httpx.Response(429, headers={"Retry-After": "soon"}))
    assert (failure.kind, failure.retry_after_seconds) == ("throttled", None)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_a_retryable_server_failure_that_may_have_applied(status: int) -> None:
    failure = create_failure(httpx.Response(status, text="<html>oops</html>"))
    assert (failure.kind, failure.retryable, failure.maybe_applied, failure.status_code) == (
        "server",
        True,
        True,
        status,
    )


def test_503_retry_after_is_kept() -> None:
    assert create_failure(httpx.Response(503, headers={"Retry-After": "7"})).retry_after_seconds == 7.0


def test_internal_server_error_in_graphql_errors() -> None:
    body = {
        "errors": [
            {
                "message": "Internal error. Looks like something went wrong on our end.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "3221c58f"},
            }
        ]
    }
    failure = create_failure(httpx.Response(200, json=body))
    assert (failure.kind, failure.retryable, failure.maybe_applied) == ("server", True, True)


@pytest.mark.parametrize(
    ("error", "kind", "maybe_applied"),
    [
        (httpx.ConnectTimeout("connect timed out"), "timeout", False),
        (httpx.PoolTimeout("no connection free"), "timeout", False),
        (httpx.ConnectError("connection refused"), "transport", False),
        (httpx.ReadTimeout("read timed out"), "timeout", True),
        (httpx.WriteTimeout("write timed out"), "timeout", True),
        (
            httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
            "transport",
            True,
        ),
        (httpx.ReadError("connection reset by peer"), "transport", True),
    ],
    ids=[
        "connect-timeout",
        "pool-timeout",
        "connect-error",
        "read-timeout",
        "write-timeout",
        "remote-protocol",
        "read-error",
    ],
)
def test_transport_failures(error: Exception, kind: str, maybe_applied: bool) -> None:
    failure = create_failure(error)
    assert (failure.kind, failure.retryable, failure.maybe_applied) == (kind, True, maybe_applied)
    assert failure.__cause__ is error
    assert failure.status_code is None


@pytest.mark.parametrize("error", [httpx.ReadTimeout("read timed out"), httpx.RemoteProtocolError("closed")])
def test_reads_never_maybe_apply(error: Exception) -> None:
    with pytest.raises(ShopifyFailure) as caught:
        FakeShopify(error).admin().find_discount("PLN-7KQ4-M9XW")
    assert (caught.value.retryable, caught.value.maybe_applied) == (True, False)
    with pytest.raises(ShopifyFailure) as caught:
        FakeShopify(httpx.Response(500)).admin().find_discount("PLN-7KQ4-M9XW")
    assert (caught.value.kind, caught.value.maybe_applied) == ("server", False)


@pytest.mark.parametrize("status", [401, 403])
def test_unauthorized(status: int) -> None:
    body = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    failure = create_failure(httpx.Response(status, json=body))
    assert (failure.kind, failure.retryable, failure.maybe_applied, failure.status_code) == (
        "unauthorized",
        False,
        False,
        status,
    )


def test_missing_scope_is_unauthorized() -> None:
    body = {
        "errors": [
            {
                "message": "Access denied for discountCodeBasicCreate field. "
                "Required access: `write_discounts`.",
                "extensions": {"code": "ACCESS_DENIED"},
            }
        ],
        "data": {"discountCodeBasicCreate": None},
    }
    failure = create_failure(httpx.Response(200, json=body))
    assert (failure.kind, failure.retryable, failure.maybe_applied) == ("unauthorized", False, False)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>Shopify is down for maintenance</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"data": None}),
        httpx.Response(200, json={"data": {"discountCodeBasicCreate": None}}),
        httpx.Response(
            200, json={"data": {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": []}}}
        ),
    ],
    ids=["html", "json-array", "no-data", "no-payload", "no-node"],
)
def test_unreadable_2xx_after_a_mutation_is_unexpected_and_may_have_applied(response: httpx.Response) -> None:
    failure = create_failure(response)
    assert (failure.kind, failure.retryable, failure.maybe_applied) == ("unexpected", False, True)


def test_invalid_json_for_a_read_did_not_apply() -> None:
    with pytest.raises(ShopifyFailure) as caught:
        FakeShopify(httpx.Response(200, text="{")).admin().find_discount("PLN-7KQ4-M9XW")
    assert (caught.value.kind, caught.value.maybe_applied) == ("unexpected", False)


def test_graphql_validation_error_did_not_apply() -> None:
    body = {
        "errors": [
            {
                "message": "InputObject 'DiscountCodeBasicInput' doesn't accept argument 'context'",
                "extensions": {"code": "argumentNotAccepted"},
            }
        ]
    }
    failure = create_failure(httpx.Response(200, json=body))
    assert (failure.kind, failure.retryable, failure.maybe_applied) == ("unexpected", False, False)
    assert "doesn't accept argument 'context'" in str(failure)


def test_odd_graphql_errors_are_unexpected() -> None:
    body = {"errors": [{"message": "odd", "extensions": {"code": {"nested": 1}}}, "not an object"]}
    failure = create_failure(httpx.Response(200, json=body))
    assert (failure.kind, failure.maybe_applied) == ("unexpected", False)


def test_graphql_errors_beside_a_mutation_result_may_have_applied() -> None:
    body = {
        "errors": [{"message": "Field 'title' could not be resolved"}],
        "data": {"discountCodeBasicCreate": {"codeDiscountNode": {"id": NODE}, "userErrors": []}},
    }
    failure = create_failure(httpx.Response(200, json=body))
    assert (failure.kind, failure.retryable, failure.maybe_applied) == ("unexpected", False, True)


@pytest.mark.parametrize("status", [400, 402, 404, 423])
def test_other_4xx_are_unexpected_and_not_applied(status: int) -> None:
    failure = create_failure(httpx.Response(status, text="nope"))
    assert (failure.kind, failure.retryable, failure.maybe_applied, failure.status_code) == (
        "unexpected",
        False,
        False,
        status,
    )


# --- the token stays secret ----------------------------------------------------------------------------


def test_the_token_is_in_no_message_repr_or_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[httpx.Response | Exception] = [
        httpx.ReadTimeout("read timed out"),
        httpx.Response(500),
        httpx.Response(401),
        httpx.Response(200, json=THROTTLED_BODY),
        graphql({"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": [{"code": "TAKEN"}]}}),
    ]
    shopify = FakeShopify(*answers)
    admin = shopify.admin()
    texts = [repr(admin), str(admin)]
    for _ in answers:
        with pytest.raises(ShopifyFailure) as caught:
            admin.create_discount(spec())
        texts += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
    texts += [record.getMessage() for record in caplog.records]
    assert len(shopify.requests) == len(answers)
    assert all(TOKEN not in text for text in texts)


# --- construction, the spec, ids -----------------------------------------------------------------------


def test_shopify_client_has_a_10_second_timeout_and_uses_the_transport() -> None:
    client = shopify_client()
    assert client.timeout == httpx.Timeout(10.0)
    shopify = FakeShopify(graphql({"codeDiscountNodeByCode": None}))
    ShopifyAdmin(shopify_client(httpx.MockTransport(shopify)), connection()).find_discount("X")
    assert len(shopify.requests) == 1


def test_a_connection_without_admin_token_cannot_make_a_client() -> None:
    with pytest.raises(ValueError, match="no admin access token"):
        ShopifyAdmin(shopify_client(), connection(token=None))


@pytest.mark.parametrize("version", ["latest", "2025-10/../x", "2025-1"])
def test_an_unknown_api_version_is_refused(version: str) -> None:
    with pytest.raises(ValueError, match="API version"):
        ShopifyAdmin(shopify_client(), connection(api_version=version))


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (DiscountKind.FIXED_AMOUNT, {"amount": None}),
        (DiscountKind.FIXED_AMOUNT, {"percentage": Decimal("10")}),
        (DiscountKind.FIXED_AMOUNT, {"amount": Decimal("0")}),
        (DiscountKind.FIXED_AMOUNT, {"amount": Decimal("-1")}),
        (DiscountKind.FIXED_AMOUNT, {"amount": Decimal("NaN")}),
        (DiscountKind.PERCENTAGE, {"percentage": None}),
        (DiscountKind.PERCENTAGE, {"percentage": Decimal("0")}),
        (DiscountKind.PERCENTAGE, {"percentage": Decimal("100.01")}),
        (DiscountKind.PERCENTAGE, {"amount": Decimal("5")}),
        (DiscountKind.FREE_SHIPPING, {"amount": Decimal("5")}),
        (DiscountKind.FREE_SHIPPING, {"percentage": Decimal("5")}),
        (DiscountKind.FIXED_AMOUNT, {"min_subtotal": Decimal("-0.01")}),
        (DiscountKind.FIXED_AMOUNT, {"customer_gid": "7008505659443"}),
        (DiscountKind.FIXED_AMOUNT, {"customer_gid": "gid://shopify/Order/7008505659443"}),
        (DiscountKind.FIXED_AMOUNT, {"ends_at": STARTS}),
        (DiscountKind.FIXED_AMOUNT, {"starts_at": datetime(2025, 11, 3, 9, 30)}),  # noqa: DTZ001 - naive on purpose
        (DiscountKind.FIXED_AMOUNT, {"code": ""}),
        (DiscountKind.FIXED_AMOUNT, {"code": "HAS SPACE"}),
        (DiscountKind.FIXED_AMOUNT, {"code": "X" * 256}),
        (DiscountKind.FIXED_AMOUNT, {"title": ""}),
        (DiscountKind.FIXED_AMOUNT, {"surprise": True}),
    ],
)
def test_invalid_specs_are_refused(kind: DiscountKind, fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        spec(kind, **fields)


def test_spec_is_frozen() -> None:
    with pytest.raises(ValidationError):
        spec().code = "OTHER"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("customer_id", "expected"),
    [
        ("7008505659443", "gid://shopify/Customer/7008505659443"),
        ("1", "gid://shopify/Customer/1"),
        ("0", None),
        ("0123", None),
        ("", None),
        ("cus_01J9Z", None),
        ("12a", None),
        (" 12", None),
        ("١٢٣", None),  # Arabic-Indic digits are digits to str.isdigit, not to Shopify
        ("gid://shopify/Customer/1", None),
    ],
)
def test_customer_gid(customer_id: str, expected: str | None) -> None:
    assert customer_gid(customer_id) == expected
