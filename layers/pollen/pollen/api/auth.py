"""Route-level auth declarations. Every route states its scope or is explicitly public.

The resolver (:mod:`pollen.api.app`) refuses any route that declares neither, so a forgotten
declaration fails closed instead of exposing a route.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeVar

from pollen.domain.api_keys import Scope
from pollen.domain.values import value

F = TypeVar("F", bound=Callable[..., Any])

AUTH_ATTRIBUTE: Final = "__pollen_auth__"
CUSTOMER_ATTRIBUTE: Final = "__pollen_customer_bound__"
# The marker of routes that need no key at all (``@public``). Deliberately not a Scope value: the
# lowest key scope is also called "public" (app keys), and the two must never compare equal.
PUBLIC: Final = "no-key"
CUSTOMER_PARAMETER: Final = "customer_id"

Requirement = Scope | Literal["no-key"]
CustomerSource = Literal["path", "query"]


@value
class Principal:
    """Who is calling: the merchant the key belongs to, the key's scope and, when the caller presented
    a customer token (an app acting for its signed-in customer), that customer."""

    merchant_id: str
    key_id: str
    scope: Scope
    customer_id: str | None = None

    @property
    def acts_as_customer(self) -> bool:
        """True when the access came from a customer token, not from a server key's scope."""
        return self.customer_id is not None


def requires(scope: Scope) -> Callable[[F], F]:
    """Mark a route as needing a key of at least ``scope``. Place it under ``@app.get(...)``."""

    def mark(func: F) -> F:
        setattr(func, AUTH_ATTRIBUTE, scope)
        return func

    return mark


def for_customer(scope: Scope, *, source: CustomerSource = "path") -> Callable[[F], F]:
    """Mark a route as acting for the one customer named by its ``customer_id`` parameter.

    Server keys of at least ``scope`` may call it for any customer of their merchant. Any key of the
    merchant (the app key included) may call it with ``Authorization: Bearer <customer token>`` for
    exactly that customer (:mod:`pollen.services.customer_tokens`). Every route about one customer
    must use this, not :func:`requires`.

    ``source="query"`` is for routes where the customer is optional (``GET /v1/rewards?customer_id=``):
    without the parameter the route needs only the app key and answers nothing about any customer.
    """

    def mark(func: F) -> F:
        setattr(func, AUTH_ATTRIBUTE, scope)
        setattr(func, CUSTOMER_ATTRIBUTE, source)
        return func

    return mark


def customer_source(func: Callable[..., Any]) -> CustomerSource | None:
    """Where a customer-bound route names its customer, or ``None`` for other routes."""
    value = getattr(func, CUSTOMER_ATTRIBUTE, None)
    return value if value in ("path", "query") else None


RAW_BODY_ATTRIBUTE: Final = "__pollen_raw_body__"


def reads_raw_body(func: F) -> F:
    """Mark a route that reads its body itself (a signed Shopify webhook, a CSV import): the shared
    JSON body checks (:mod:`pollen.api.body`) do not run for it; the route bounds what it reads (a
    signed webhook Pollen cannot use is answered 200 and logged, never refused for its content)."""
    setattr(func, RAW_BODY_ATTRIBUTE, True)
    return func


def is_raw_body(func: Callable[..., Any]) -> bool:
    return getattr(func, RAW_BODY_ATTRIBUTE, False) is True


def is_customer_bound(func: Callable[..., Any]) -> bool:
    return customer_source(func) is not None


def public(func: F) -> F:
    """Mark a route as open to anyone (health, Shopify webhooks with their own HMAC)."""
    setattr(func, AUTH_ATTRIBUTE, PUBLIC)
    return func


FUNCTION_URL_ATTRIBUTE: Final = "__pollen_function_url__"


def answers_function_url(func: F) -> F:
    """Mark a route as answered through its function's Lambda function URL too (Shopify webhooks:
    no API Gateway request charge). Every other route refuses a function-URL request with the 404
    of an unknown route: the URL reaches the whole function, and it opens exactly what is marked."""
    setattr(func, FUNCTION_URL_ATTRIBUTE, True)
    return func


def is_function_url_route(func: Callable[..., Any]) -> bool:
    return getattr(func, FUNCTION_URL_ATTRIBUTE, False) is True


def via_function_url(event: Mapping[str, Any]) -> bool:
    """Whether the request came through a Lambda function URL (``<url-id>.lambda-url.<region>.on.aws``)
    rather than the HTTP API: Lambda sets the request context, a caller cannot."""
    context = event.get("requestContext") or {}
    return ".lambda-url." in str(context.get("domainName") or "")


def requirement_of(func: Callable[..., Any]) -> Requirement | None:
    value = getattr(func, AUTH_ATTRIBUTE, None)
    return value if isinstance(value, Scope) or value == PUBLIC else None
