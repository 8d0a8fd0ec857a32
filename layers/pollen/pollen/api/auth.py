"""Route-level auth declarations. Every route states its scope or is explicitly public.

The resolver (:mod:`pollen.api.app`) refuses any route that declares neither, so a forgotten
declaration fails closed instead of exposing a route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

from pollen.domain.api_keys import Scope

F = TypeVar("F", bound=Callable[..., Any])

AUTH_ATTRIBUTE: Final = "__pollen_auth__"
CUSTOMER_ATTRIBUTE: Final = "__pollen_customer_bound__"
PUBLIC: Final = "public"

Requirement = Scope | Literal["public"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the merchant the key belongs to, and the key's scope."""

    merchant_id: str
    key_id: str
    scope: Scope


def requires(scope: Scope) -> Callable[[F], F]:
    """Mark a route as needing a key of at least ``scope``. Place it under ``@app.get(...)``."""

    def mark(func: F) -> F:
        setattr(func, AUTH_ATTRIBUTE, scope)
        return func

    return mark


def for_customer(scope: Scope) -> Callable[[F], F]:
    """Mark a route as acting for the one customer named by its ``customer_id`` path parameter.

    Server keys of at least ``scope`` may call it for any customer of their merchant. The route is
    also marked customer-bound, so the customer-token access model (app keys plus a token for that
    customer) applies to it: every route about one customer must use this, not :func:`requires`.
    """

    def mark(func: F) -> F:
        setattr(func, AUTH_ATTRIBUTE, scope)
        setattr(func, CUSTOMER_ATTRIBUTE, True)
        return func

    return mark


def is_customer_bound(func: Callable[..., Any]) -> bool:
    return getattr(func, CUSTOMER_ATTRIBUTE, False) is True


def public(func: F) -> F:
    """Mark a route as open to anyone (health, Shopify webhooks with their own HMAC)."""
    setattr(func, AUTH_ATTRIBUTE, PUBLIC)
    return func


def requirement_of(func: Callable[..., Any]) -> Requirement | None:
    value = getattr(func, AUTH_ATTRIBUTE, None)
    return value if isinstance(value, Scope) or value == PUBLIC else None
