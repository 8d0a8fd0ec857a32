"""What runs around authentication for every matched route: rate limits, then the body checks.

Order, per request: a public route takes from the public budget; a request with no key at all is
refused at once when its IP has no anonymous budget left (no look-up spent on it); authentication
(:class:`pollen.api.app.PollenResolver`); a failed authentication takes from the anonymous budget
(429 once it is empty, else the same 401/403 as always); a valid key takes from its merchant's
budget; then the body is checked (:mod:`pollen.api.body`) before anything parses it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver, Route

from pollen.api import body, limits
from pollen.api.auth import PUBLIC, is_raw_body, requirement_of
from pollen.api.errors import domain_problem
from pollen.domain.errors import DomainError, Unauthenticated


def _source_ip(app: APIGatewayHttpResolver) -> str:
    context: Any = app.current_event.raw_event.get("requestContext") or {}
    return str((context.get("http") or {}).get("sourceIp") or "unknown")


def before_auth(app: APIGatewayHttpResolver, route: Route) -> Response[str] | None:
    ip = _source_ip(app)
    if requirement_of(route.func) == PUBLIC:
        wait = limits.budgets().public.take(ip)
        return limits.too_many_requests(wait, "from this address") if wait else None
    if not app.current_event.headers.get("x-api-key") and limits.budgets().anonymous.empty(ip):
        return limits.too_many_requests(1, "without a valid API key")
    return None


def auth_refused(app: APIGatewayHttpResolver, exc: DomainError) -> Response[str]:
    """No valid key (401): the caller's IP pays from the anonymous budget. A valid key refused for
    its scope (403) pays from its store's budget, like any other request of that store."""
    merchant = _key_merchant(app) if not isinstance(exc, Unauthenticated) else None
    if merchant is not None:
        wait = limits.budgets().merchant.take(merchant)
        return limits.too_many_requests(wait, "for this store") if wait else domain_problem(exc)
    wait = limits.budgets().anonymous.take(_source_ip(app))
    return limits.too_many_requests(wait, "without a valid API key") if wait else domain_problem(exc)


def _key_merchant(app: APIGatewayHttpResolver) -> str | None:
    """The store named by an authenticated key (``pollen.<merchant>.<key_id>.<secret>``)."""
    parts = str(app.current_event.headers.get("x-api-key") or "").split(".")
    return parts[1] if len(parts) == 4 and parts[0] == "pollen" and parts[1] else None


def after_auth(app: APIGatewayHttpResolver, route: Route, merchant_id: str | None) -> Response[str] | None:
    if merchant_id is not None:
        wait = limits.budgets().merchant.take(merchant_id)
        if wait:
            return limits.too_many_requests(wait, "for this store")
    if is_raw_body(route.func):  # the route reads its own body: only its size is checked here
        return body.check_size(app.current_event.raw_event, body.MAX_RAW_BODY_BYTES)
    return body.check_body(app.current_event.raw_event, takes_body=bool(route.dependant.body_params))
