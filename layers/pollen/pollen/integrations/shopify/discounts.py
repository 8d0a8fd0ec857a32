"""Shopify Admin GraphQL client for discount codes: create, find, deactivate, delete.

A pure adapter: it builds the exact request Shopify expects, sends it with the caller's
``httpx.Client`` (see :func:`shopify_client`, 10 s timeout) and turns every way the call can go wrong
into one :class:`ShopifyFailure` whose ``kind``, ``retryable`` and ``maybe_applied`` tell the caller
what to do. It stores nothing and logs nothing (the access token travels only in the
``X-Shopify-Access-Token`` header and appears in no message, repr or exception).

``maybe_applied`` is the fact compensation hinges on: after a failed *mutation* it is ``True`` whenever
the request may have reached Shopify and run (read/write timeout, dropped connection, 5xx, a 2xx with
an unreadable body), so the caller must find out — :meth:`ShopifyAdmin.find_discount` with the same
code answers whether the discount exists. It is ``False`` when Shopify certainly did nothing
(connection refused or never established, 401/403, 429/THROTTLED, ``userErrors``). Reads never apply
anything, so their failures always carry ``maybe_applied=False``.

Shopify references followed (Admin GraphQL, version 2025-10 unless noted):
- Endpoint and auth header: https://shopify.dev/docs/api/admin-graphql (``POST
  https://{shop}/admin/api/{version}/graphql.json``, ``X-Shopify-Access-Token``).
- ``discountCodeBasicCreate(basicCodeDiscount: DiscountCodeBasicInput!)``:
  https://shopify.dev/docs/api/admin-graphql/2025-10/mutations/discountCodeBasicCreate and
  https://shopify.dev/docs/api/admin-graphql/2025-10/input-objects/DiscountCodeBasicInput
  (``code``, ``title``, ``startsAt``, ``endsAt``, ``usageLimit``, ``appliesOncePerCustomer``,
  ``context``, deprecated ``customerSelection``, ``customerGets``, ``minimumRequirement``).
- ``discountCodeFreeShippingCreate(freeShippingCodeDiscount: DiscountCodeFreeShippingInput!)``:
  https://shopify.dev/docs/api/admin-graphql/2025-10/input-objects/DiscountCodeFreeShippingInput
  (same window/limit/eligibility fields plus ``destination``).
- ``DiscountCustomerGetsValueInput`` (``discountAmount: DiscountAmountInput {amount: Decimal,
  appliesOnEachItem}``, ``percentage: Float`` "between 0.00 - 1.00"):
  https://shopify.dev/docs/api/admin-graphql/2025-10/input-objects/DiscountAmountInput and
  https://shopify.dev/docs/api/admin-graphql/2025-04/input-objects/DiscountCustomerGetsValueInput
- ``DiscountItemsInput.all``: https://shopify.dev/docs/api/admin-graphql/2025-10/input-objects/DiscountItemsInput
- ``DiscountShippingDestinationSelectionInput.all``:
  https://shopify.dev/docs/api/admin-graphql/2024-07/input-objects/discountshippingdestinationselectioninput
- ``DiscountMinimumRequirementInput.subtotal.greaterThanOrEqualToSubtotal: Decimal``:
  https://shopify.dev/docs/api/admin-graphql/latest/input-objects/DiscountMinimumSubtotalInput.md
- Eligibility: "As of API version 2025-10 ... For code discounts, ``context`` replaces
  ``customerSelection``, which is now marked as deprecated"
  (https://shopify.dev/changelog/discount-eligibility-management).
  ``DiscountContextInput {all: DiscountBuyerSelection (ALL), customers: DiscountCustomersInput {add}}``:
  https://shopify.dev/docs/api/admin-graphql/2025-10/input-objects/discountcontextinput and
  https://shopify.dev/docs/api/admin-graphql/2025-10/enums/DiscountBuyerSelection;
  older versions: ``DiscountCustomerSelectionInput {all: Boolean, customers: {add}}``
  (https://shopify.dev/docs/api/admin-graphql/2025-04/input-objects/DiscountCustomerSelectionInput).
  Either one is required on create, so "everyone" is sent explicitly when no customer is given.
- ``codeDiscountNodeByCode(code: String!)`` (case-insensitive):
  https://shopify.dev/docs/api/admin-graphql/2025-10/queries/codeDiscountNodeByCode
- ``discountCodeDeactivate(id: ID!)`` → ``codeDiscountNode``; ``discountCodeDelete(id: ID!)`` →
  ``deletedCodeDiscountId``: https://shopify.dev/docs/api/admin-graphql/2025-10/mutations/discountCodeDeactivate,
  https://shopify.dev/docs/api/admin-graphql/2025-10/payloads/discountcodedeletepayload
- ``DiscountUserError {field, code: DiscountErrorCode, message, extraInfo}``; ``TAKEN`` = "The input
  value is already taken": https://shopify.dev/docs/api/admin-graphql/latest/enums/DiscountErrorCode
- Referral codes (many uses, new customers only): ``DiscountContextInput.customerSegments`` /
  ``DiscountCustomerSelectionInput.customerSegments: DiscountCustomerSegmentsInput {add: [ID!]}``
  (https://shopify.dev/docs/api/admin-graphql/latest/input-objects/DiscountCustomerSegmentsInput),
  the segment made by ``segmentCreate(name: String!, query: String!)`` → ``SegmentCreatePayload
  {segment {id}, userErrors}`` (https://shopify.dev/docs/api/admin-graphql/latest/mutations/segmentCreate)
  with the ShopifyQL query ``number_of_orders = 0``; ``usageLimit`` omitted means unlimited.
- Throttling: a throttled call answers ``errors[].extensions.code == "THROTTLED"`` with the bucket in
  the top-level ``extensions.cost.throttleStatus``
  (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits); status codes 401/403/429/5xx:
  https://shopify.dev/docs/api/usage/response-codes
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

import httpx
from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from pollen.clock import isoformat, utcnow
from pollen.domain.merchants import ShopifyConnection
from pollen.model import BaseModel

TIMEOUT_SECONDS = 10.0
CONTEXT_SINCE = "2025-10"  # first API version whose code discounts take `context` (see module docstring)

FailureKind = Literal["timeout", "transport", "server", "throttled", "rejected", "unauthorized", "unexpected"]
_RETRYABLE: frozenset[str] = frozenset({"timeout", "transport", "server", "throttled"})

_CUSTOMER_GID = re.compile(r"^gid://shopify/Customer/[1-9][0-9]*$")
_SEGMENT_GID = re.compile(r"^gid://shopify/Segment/[1-9][0-9]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_NUMERIC_ID = re.compile(r"^[1-9][0-9]*$")
_API_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")

_USER_ERRORS = "userErrors { field code message }"

BASIC_CREATE = (
    "mutation discountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {"
    " discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {"
    f" codeDiscountNode {{ id }} {_USER_ERRORS} }} }}"
)
FREE_SHIPPING_CREATE = (
    "mutation discountCodeFreeShippingCreate($freeShippingCodeDiscount: DiscountCodeFreeShippingInput!) {"
    " discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount) {"
    f" codeDiscountNode {{ id }} {_USER_ERRORS} }} }}"
)
SEGMENT_CREATE = (
    "mutation segmentCreate($name: String!, $query: String!) {"
    " segmentCreate(name: $name, query: $query) { segment { id } userErrors { field message } } }"
)
SHOP_CURRENCY = "query shopCurrency { shop { currencyCode } }"
FIND_BY_CODE = "query codeDiscountNodeByCode($code: String!) { codeDiscountNodeByCode(code: $code) { id } }"
DEACTIVATE = (
    "mutation discountCodeDeactivate($id: ID!) {"
    f" discountCodeDeactivate(id: $id) {{ codeDiscountNode {{ id }} {_USER_ERRORS} }} }}"
)
DELETE = (
    "mutation discountCodeDelete($id: ID!) {"
    f" discountCodeDelete(id: $id) {{ deletedCodeDiscountId {_USER_ERRORS} }} }}"
)


# --- the discount Pollen asks for ---------------------------------------------------------------------


class DiscountKind(StrEnum):
    FIXED_AMOUNT = "fixed_amount"
    PERCENTAGE = "percentage"
    FREE_SHIPPING = "free_shipping"


PositiveDecimal = Annotated[Decimal, Field(gt=0)]


class DiscountSpec(BaseModel):
    """One single-use code for one coupon. Amounts are in the shop currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^\S+$")]
    title: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    kind: DiscountKind
    amount: PositiveDecimal | None = None  # fixed_amount: amount off the order
    percentage: Annotated[Decimal, Field(gt=0, le=100)] | None = None  # percentage: Pollen's 0 < p <= 100
    min_subtotal: Annotated[Decimal, Field(ge=0)] | None = None  # 0 means no minimum, like None
    customer_gid: str | None = None  # gid://shopify/Customer/<id>: only that customer may use it
    segment_gid: str | None = None  # gid://shopify/Segment/<id>: only customers in it may use it
    usage_limit: int | None = 1  # None: unlimited (a referral code), still once per customer
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        wants = {
            DiscountKind.FIXED_AMOUNT: (True, False),
            DiscountKind.PERCENTAGE: (False, True),
            DiscountKind.FREE_SHIPPING: (False, False),
        }[self.kind]
        if (self.amount is not None, self.percentage is not None) != wants:
            raise ValueError(
                "fixed_amount takes an amount, percentage a percentage, free_shipping neither (and none both)"
            )
        if self.customer_gid is not None and self.segment_gid is not None:
            raise ValueError("a discount is for one customer or one segment, not both")
        if self.segment_gid is not None and not _SEGMENT_GID.match(self.segment_gid):
            raise ValueError("segment_gid must look like gid://shopify/Segment/<numeric id>")
        if self.customer_gid is not None and not _CUSTOMER_GID.match(self.customer_gid):
            raise ValueError("customer_gid must look like gid://shopify/Customer/<numeric id>")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


def customer_gid(customer_id: str) -> str | None:
    """The Shopify customer GID for a numeric Shopify customer id; ``None`` for any other id."""
    return f"gid://shopify/Customer/{customer_id}" if _NUMERIC_ID.match(customer_id) else None


# --- failures -------------------------------------------------------------------------------------------


class ShopifyFailure(Exception):
    """A Shopify call that did not succeed.

    ``retryable``: timeout, transport, server and throttled failures may succeed if tried again
    (after ``retry_after_seconds`` when Shopify said how long). ``maybe_applied``: the request may
    have reached Shopify and taken effect — check before assuming nothing happened.
    """

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        maybe_applied: bool = False,
        user_errors: list[dict[str, Any]] | None = None,
        retry_after_seconds: float | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message
        self.retryable = kind in _RETRYABLE
        self.maybe_applied = maybe_applied
        self.user_errors: list[dict[str, Any]] = user_errors or []
        self.retry_after_seconds = retry_after_seconds
        self.status_code = status_code

    @property
    def code_taken(self) -> bool:
        """Shopify refused the code because a discount with that code already exists (``TAKEN``)."""
        return self.kind == "rejected" and any(error.get("code") == "TAKEN" for error in self.user_errors)

    def __repr__(self) -> str:
        return (
            f"ShopifyFailure(kind={self.kind!r}, message={self.message!r}, retryable={self.retryable}, "
            f"maybe_applied={self.maybe_applied}, status_code={self.status_code})"
        )


# --- the client -----------------------------------------------------------------------------------------


def shopify_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The HTTP client for the Admin API: 10 s for each of connect, read, write and pool."""
    return httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport)


class ShopifyAdmin:
    """Discount codes in one shop, through the Admin GraphQL API."""

    def __init__(self, client: httpx.Client, connection: ShopifyConnection) -> None:
        if not connection.admin_access_token:
            raise ValueError(f"the Shopify connection of {connection.shop_domain} has no admin access token")
        if not _API_VERSION.match(connection.api_version):
            raise ValueError(f"unsupported Shopify API version {connection.api_version!r}")
        self._client = client
        self._url = f"https://{connection.shop_domain}/admin/api/{connection.api_version}/graphql.json"
        self._headers = {
            "X-Shopify-Access-Token": connection.admin_access_token,
            "Content-Type": "application/json",
        }
        self._shop = connection.shop_domain
        # `unstable` sorts after every dated version, which is what it is.
        self._uses_context = connection.api_version >= CONTEXT_SINCE

    def __repr__(self) -> str:
        return f"ShopifyAdmin(shop={self._shop!r})"

    def create_discount(self, spec: DiscountSpec) -> str:
        """Create the code in Shopify; the discount node's GID (``gid://shopify/DiscountCodeNode/…``)."""
        if spec.kind is DiscountKind.FREE_SHIPPING:
            root, query, variables = (
                "discountCodeFreeShippingCreate",
                FREE_SHIPPING_CREATE,
                {"freeShippingCodeDiscount": self._free_shipping_input(spec)},
            )
        else:
            root, query, variables = (
                "discountCodeBasicCreate",
                BASIC_CREATE,
                {"basicCodeDiscount": self._basic_input(spec)},
            )
        payload = self._mutate(root, query, variables)
        node = payload.get("codeDiscountNode")
        gid = node.get("id") if isinstance(node, dict) else None
        if not isinstance(gid, str) or not gid:
            raise ShopifyFailure(
                "unexpected",
                f"{root} answered without codeDiscountNode.id",
                maybe_applied=True,
                status_code=200,
            )
        return gid

    def find_discount(self, code: str) -> str | None:
        """The GID of the code discount with this code (Shopify matches case-insensitively), or None."""
        data = self._send(FIND_BY_CODE, {"code": code}, root="codeDiscountNodeByCode", mutation=False)
        if "codeDiscountNodeByCode" not in data:  # absent is not "no such code"
            raise ShopifyFailure("unexpected", "codeDiscountNodeByCode missing from data", status_code=200)
        node = data["codeDiscountNodeByCode"]
        if node is None:
            return None
        gid = node.get("id") if isinstance(node, dict) else None
        if not isinstance(gid, str) or not gid:
            raise ShopifyFailure(
                "unexpected", "codeDiscountNodeByCode answered without an id", status_code=200
            )
        return gid

    def shop_currency(self) -> str:
        """The shop's currency (``shop { currencyCode }``, an ISO 4217 code): what its orders are in."""
        data = self._send(SHOP_CURRENCY, {}, root="shop", mutation=False)
        shop = data.get("shop")
        code = shop.get("currencyCode") if isinstance(shop, dict) else None
        if not isinstance(code, str) or not _CURRENCY.match(code):
            raise ShopifyFailure("unexpected", "shop answered without a currencyCode", status_code=200)
        return code

    def create_segment(self, name: str, query: str) -> str:
        """Create a customer segment (``number_of_orders = 0`` for referral codes); its GID."""
        payload = self._mutate("segmentCreate", SEGMENT_CREATE, {"name": name, "query": query})
        segment = payload.get("segment")
        gid = segment.get("id") if isinstance(segment, dict) else None
        if not isinstance(gid, str) or not _SEGMENT_GID.match(gid):
            raise ShopifyFailure(
                "unexpected", "segmentCreate answered without segment.id", maybe_applied=True, status_code=200
            )
        return gid

    def deactivate_discount(self, discount_gid: str) -> None:
        """Stop the code from being redeemed; it stays in Shopify, marked expired."""
        self._mutate("discountCodeDeactivate", DEACTIVATE, {"id": discount_gid})

    def delete_discount(self, discount_gid: str) -> None:
        """Remove the code discount from the shop for good."""
        self._mutate("discountCodeDelete", DELETE, {"id": discount_gid})

    # --- request bodies ---------------------------------------------------------------------------------

    def _common_input(self, spec: DiscountSpec) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": spec.code,
            "title": spec.title,
            "startsAt": isoformat(spec.starts_at),
            "endsAt": isoformat(spec.ends_at),
            "appliesOncePerCustomer": True,
        }
        if spec.usage_limit is not None:
            body["usageLimit"] = spec.usage_limit
        body.update(
            self._segment(spec.segment_gid) if spec.segment_gid else self._eligibility(spec.customer_gid)
        )
        if spec.min_subtotal:  # None and 0 both mean "no minimum"
            minimum = {"greaterThanOrEqualToSubtotal": _decimal(spec.min_subtotal)}
            body["minimumRequirement"] = {"subtotal": minimum}
        return body

    def _eligibility(self, gid: str | None) -> dict[str, Any]:
        if self._uses_context:
            return {"context": {"customers": {"add": [gid]}} if gid else {"all": "ALL"}}
        return {"customerSelection": {"customers": {"add": [gid]}} if gid else {"all": True}}

    def _segment(self, gid: str) -> dict[str, Any]:
        selection = {"customerSegments": {"add": [gid]}}
        return {"context": selection} if self._uses_context else {"customerSelection": selection}

    def _basic_input(self, spec: DiscountSpec) -> dict[str, Any]:
        if spec.kind is DiscountKind.FIXED_AMOUNT:
            assert spec.amount is not None  # guaranteed by DiscountSpec
            amount = {"amount": _decimal(spec.amount), "appliesOnEachItem": False}
            value: dict[str, Any] = {"discountAmount": amount}
        else:
            assert spec.percentage is not None  # guaranteed by DiscountSpec
            # GraphQL Float, 0..1; a percentage is a ratio, not money, so a float is exact enough here.
            value = {"percentage": float(spec.percentage / 100)}
        return {**self._common_input(spec), "customerGets": {"value": value, "items": {"all": True}}}

    def _free_shipping_input(self, spec: DiscountSpec) -> dict[str, Any]:
        return {**self._common_input(spec), "destination": {"all": True}}

    # --- transport and classification -------------------------------------------------------------------

    def _mutate(self, root: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run a mutation; its payload object once it has no ``userErrors``."""
        payload = self._send(query, variables, root=root, mutation=True).get(root)
        if not isinstance(payload, dict):
            raise ShopifyFailure(
                "unexpected", f"{root} answered without a payload", maybe_applied=True, status_code=200
            )
        errors = payload.get("userErrors") or []
        if errors:
            kept = [
                {"field": e.get("field"), "message": e.get("message"), "code": e.get("code")}
                for e in errors
                if isinstance(e, dict)
            ]
            summary = "; ".join(f"{e['code']}: {e['message']}" for e in kept) or "invalid userErrors"
            raise ShopifyFailure("rejected", f"{root} rejected: {summary}", user_errors=kept, status_code=200)
        return payload

    def _send(self, query: str, variables: dict[str, Any], *, root: str, mutation: bool) -> dict[str, Any]:
        """POST one GraphQL document; the ``data`` object, or a :class:`ShopifyFailure`."""
        try:
            response = self._client.post(
                self._url, headers=self._headers, json={"query": query, "variables": variables}
            )
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # nothing was sent
            raise ShopifyFailure("timeout", f"{root}: {type(exc).__name__} to {self._shop}") from exc
        except httpx.TimeoutException as exc:  # read/write timeout: the request may have run
            raise ShopifyFailure(
                "timeout", f"{root}: {type(exc).__name__} from {self._shop}", maybe_applied=mutation
            ) from exc
        except (httpx.ConnectError, httpx.ProxyError) as exc:  # no connection to Shopify was made
            raise ShopifyFailure("transport", f"{root}: {type(exc).__name__} to {self._shop}") from exc
        except httpx.TransportError as exc:  # dropped mid-exchange (RemoteProtocolError, ReadError...)
            raise ShopifyFailure(
                "transport", f"{root}: {type(exc).__name__} from {self._shop}", maybe_applied=mutation
            ) from exc
        return self._data(response, root=root, mutation=mutation)

    def _data(self, response: httpx.Response, *, root: str, mutation: bool) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 403):
            raise ShopifyFailure(
                "unauthorized", f"{root}: HTTP {status} from {self._shop}", status_code=status
            )
        if status == 429:
            retry_after = _retry_after_header(response.headers.get("Retry-After"))
            if retry_after is None:
                retry_after = _throttle_wait(_json_object(response))
            raise ShopifyFailure(
                "throttled",
                f"{root}: HTTP 429 from {self._shop}",
                retry_after_seconds=retry_after,
                status_code=status,
            )
        if status >= 500:
            raise ShopifyFailure(
                "server",
                f"{root}: HTTP {status} from {self._shop}",
                maybe_applied=mutation,
                retry_after_seconds=_retry_after_header(response.headers.get("Retry-After")),
                status_code=status,
            )
        if not 200 <= status < 300:  # 400, 402 (frozen shop), 404, 423 (locked shop)...: not ours to retry
            raise ShopifyFailure("unexpected", f"{root}: HTTP {status} from {self._shop}", status_code=status)

        body = _json_object(response)
        if body is None:
            raise ShopifyFailure(
                "unexpected",
                f"{root}: HTTP {status} with a body that is not a JSON object",
                maybe_applied=mutation,
                status_code=status,
            )
        data = body.get("data")
        errors = body.get("errors")
        if errors:
            raise self._graphql_failure(errors, body, data, root=root, mutation=mutation, status=status)
        if not isinstance(data, dict):
            raise ShopifyFailure(
                "unexpected",
                f"{root}: HTTP {status} without data",
                maybe_applied=mutation,
                status_code=status,
            )
        return data

    def _graphql_failure(
        self, errors: Any, body: dict[str, Any], data: Any, *, root: str, mutation: bool, status: int
    ) -> ShopifyFailure:
        """Top-level GraphQL ``errors`` on a 2xx: throttling, missing scope, Shopify's own failure..."""
        listed = errors if isinstance(errors, list) else []
        extensions = [
            e["extensions"] for e in listed if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
        ]
        codes = {x["code"] for x in extensions if isinstance(x.get("code"), str)}
        messages = [str(e.get("message")) for e in listed if isinstance(e, dict)]
        summary = f"{root}: " + ("; ".join(messages) or "GraphQL errors")
        if "THROTTLED" in codes:  # the query was not run
            return ShopifyFailure(
                "throttled", summary, retry_after_seconds=_throttle_wait(body), status_code=status
            )
        if "ACCESS_DENIED" in codes:  # the token lacks a scope (write_discounts / read_discounts)
            return ShopifyFailure("unauthorized", summary, status_code=status)
        if "INTERNAL_SERVER_ERROR" in codes:
            return ShopifyFailure("server", summary, maybe_applied=mutation, status_code=status)
        # Anything else (a malformed document, an unknown field): execution stopped before the root
        # field ran unless Shopify still returned its result.
        ran = isinstance(data, dict) and data.get(root) is not None
        return ShopifyFailure("unexpected", summary, maybe_applied=mutation and ran, status_code=status)


# --- helpers -------------------------------------------------------------------------------------------


def _decimal(value: Decimal) -> str:
    """Shopify's ``Decimal`` scalar is sent as a string, never in exponent notation."""
    return format(value, "f")


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _retry_after_header(value: str | None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when: datetime = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - utcnow()).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _throttle_wait(body: dict[str, Any] | None) -> float | None:
    """Seconds until the bucket holds the requested cost: (requested - available) / restore rate."""
    extensions = (body or {}).get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    bucket = cost.get("throttleStatus") if isinstance(cost, dict) else None
    if not isinstance(cost, dict) or not isinstance(bucket, dict):
        return None
    requested = _number(cost.get("requestedQueryCost"))
    available = _number(bucket.get("currentlyAvailable"))
    rate = _number(bucket.get("restoreRate"))
    if requested is None or available is None or rate is None or rate <= 0:
        return None
    return max(0.0, requested - available) / rate
