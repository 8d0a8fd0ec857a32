"""The resolver every HTTP function uses: validation, problem errors and fail-closed auth."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, ResponseBuilder, Route
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.api import gate, openapi
from pollen.api.auth import (
    CUSTOMER_PARAMETER,
    PUBLIC,
    Principal,
    customer_source,
    is_function_url_route,
    requirement_of,
    via_function_url,
)
from pollen.api.errors import no_such_route, register_error_handlers
from pollen.clock import utcnow
from pollen.domain.api_keys import ApiKey, Scope
from pollen.domain.errors import FORBIDDEN_DETAIL as FORBIDDEN
from pollen.domain.errors import DomainError, Forbidden, Unauthenticated
from pollen.observability import logger
from pollen.services import api_keys
from pollen.services.container import container

PRINCIPAL = "principal"
# The caller of the request this thread is handling. A Router's context is its *last* including
# app's: when one router module is included by two resolvers in one process (the local stack and
# the tests load every function together), ``router.context`` can be the other app's. Lambda runs one
# request per container at a time, so this is exact there; locally it is per thread.
_current = threading.local()


def prefix_pattern(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    """Matches a path that is one of ``prefixes`` or below one; ``*`` stands for one path segment
    (``/v1/customers/*/tier`` covers ``/v1/customers/c-1/tier``)."""
    alternatives = "|".join(re.escape(p).replace(r"\*", "[^/]+") for p in prefixes)
    return re.compile(f"(?:{alternatives})(?:/|$)")


class PollenResolver(APIGatewayHttpResolver):
    """Authenticates before anything else runs, request validation included.

    Powertools runs request validation ahead of user middlewares, so auth cannot be a middleware:
    an unauthenticated caller would learn about the body schema before being told 401. The hook is
    ``_call_route``, which runs after route matching (the route's declared scope is known) and
    before the middleware chain. Unmatched paths fall through to the 404 problem. Rate limits and
    the body checks run around authentication, in :mod:`pollen.api.gate`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lazy: dict[str, re.Pattern[str]] = {}  # router module → the paths it serves (prefix_pattern)
        self._included: set[str] = set()
        self._including = threading.Lock()
        self._slots: list[str] = []  # modules in the order their routes were declared (the document's order)

    # ---- routers included on first use ----
    def include_lazily(self, module: str, *prefixes: str) -> None:
        """Include ``module``'s ``router`` on the first request whose path is one of ``prefixes`` or
        below one (``*`` stands for any one segment), and for the OpenAPI document: a cold start
        imports no area's models and services until a request needs them. The prefixes must cover
        every route of that router and no route of another (tests/unit/test_lazy_routers.py holds
        each function's declarations to it), so which areas a process has included never changes
        which route a path matches."""
        self._lazy[module] = prefix_pattern(prefixes)
        self._slots.append(module)

    def route(self, rule: str, method: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        register = super().route(rule, method, *args, **kwargs)

        def noted(func: Any) -> Any:
            if func.__module__ not in self._slots:
                self._slots.append(func.__module__)
            return register(func)

        return noted

    def _include(self, wanted: Callable[[str], bool]) -> None:
        if all(module in self._included or not wanted(module) for module in self._lazy):
            return
        with self._including:
            for module in self._lazy:
                if module not in self._included and wanted(module):
                    self.include_router(import_module(module).router)
                    self._included.add(module)

    def include_all(self) -> None:
        """Every lazily declared router, the routes then in the order they were declared (as if all
        had been included at import), so the document does not depend on which requests came first."""
        if not self._lazy:
            return
        self._include(lambda _module: True)
        slot = {module: n for n, module in enumerate(self._slots)}

        def declared(route: Route) -> int:
            return slot.get(route.func.__module__, len(slot))

        self._static_routes = sorted(self._static_routes, key=declared)  # new lists: a concurrent
        self._dynamic_routes = sorted(self._dynamic_routes, key=declared)  # match sees old or new

    def include_for(self, path: str) -> None:
        """Include every lazily declared router that serves ``path`` (once, whoever asks first)."""
        if self._lazy:
            self._include(lambda module: self._lazy[module].match(path) is not None)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        self.include_for(str(event.get("rawPath") or event.get("path") or ""))
        return super().resolve(event, context)

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> ResponseBuilder:  # type: ignore[type-arg]
        _current.principal = None  # never a previous request's caller
        if route in self._static_routes or route in self._dynamic_routes:
            refused: Response[str] | None
            if via_function_url(self.current_event.raw_event) and not is_function_url_route(route.func):
                refused = no_such_route()  # the function URL opens only the routes marked for it
            else:
                refused = gate.before_auth(self, route)
            if refused is None:
                try:
                    self._authorize(route, route_arguments)
                except DomainError as exc:
                    refused = gate.auth_refused(self, exc)
                else:
                    caller = self.context.get(PRINCIPAL)
                    refused = gate.after_auth(self, route, getattr(caller, "merchant_id", None))
            if refused is not None:
                builder = self._response_builder_class
                return builder(response=refused, serializer=self._serializer, route=route)
        return super()._call_route(route, route_arguments)

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """The document; its security schemes are built here, not at import: Powertools' OpenAPI
        models cost more to import than the rest of the resolver, and only the document needs them."""
        self.include_all()
        if self.openapi_config.security_schemes is None:
            from aws_lambda_powertools.event_handler.openapi.models import (  # noqa: PLC0415 - document only
                APIKey,
                APIKeyIn,
                HTTPBearer,
            )

            self.openapi_config.security_schemes = {
                "ApiKey": APIKey(name="X-Api-Key", in_=APIKeyIn.header),
                "CustomerToken": HTTPBearer(bearerFormat="JWT"),
            }
        return super().get_openapi_schema(*args, **kwargs)

    def get_openapi_json_schema(self, *args: Any, **kwargs: Any) -> str:
        """The document with each operation's real security, errors and success codes."""
        self.include_all()
        routes = [*self._static_routes, *self._dynamic_routes]
        return openapi.finish_json(super().get_openapi_json_schema(*args, **kwargs), routes)

    def _authorize(self, route: Route, route_arguments: dict[str, str] | None = None) -> None:
        """The route's declared requirement, or a customer token for the route's customer.

        Server keys of the required scope act for any customer of their merchant. On a
        customer-bound route (:func:`pollen.api.auth.for_customer`) any key of the merchant, the app
        key included, may instead present ``Authorization: Bearer <customer token>`` for exactly the
        customer the route names: another customer's route is 403 (the body of every 403), a bad or
        expired token 401 (the body of every 401). Warm, this costs 0 DynamoDB calls.
        """
        requirement = requirement_of(route.func)
        if requirement is None:
            logger.error(
                "route declares no auth requirement", extra={"route": f"{route.method} {route.path}"}
            )
            raise Forbidden(FORBIDDEN)
        if requirement == PUBLIC or not isinstance(requirement, Scope):
            return
        c = container()
        key = api_keys.authenticate(c, self.current_event.headers.get("x-api-key"))
        logger.append_keys(merchant_id=key.merchant_id, key_id=key.key_id)
        source = customer_source(route.func)
        if source is None:
            self._grant(key, requirement)
            return
        if source == "path":
            customer_id = (route_arguments or {}).get(CUSTOMER_PARAMETER)
        else:
            customer_id = (self.current_event.query_string_parameters or {}).get(CUSTOMER_PARAMETER)
            requirement = requirement if customer_id else Scope.PUBLIC  # no customer: the app key will do
        if key.scope.allows(requirement) and (key.scope.is_server or customer_id is None):
            self._grant(key, requirement)
            return
        # The customer-token path: functions with customer routes import it at init; the order
        # webhooks and admin never come here with a customer, and do not load it.
        from pollen.services import customer_tokens  # noqa: PLC0415

        token = customer_tokens.bearer_token(self.current_event.headers.get("authorization"))
        if token is None:
            if key.scope.is_server:
                raise Forbidden(FORBIDDEN)  # an under-scoped server key: the usual 403
            raise Unauthenticated(customer_tokens.BAD_TOKEN)
        subject = customer_tokens.verify_token(c, key.merchant_id, token, now=utcnow())
        if customer_id is None or subject != customer_id:
            raise Forbidden(FORBIDDEN)
        self.context[PRINCIPAL] = _current.principal = Principal(
            key.merchant_id, key.key_id, key.scope, customer_id=subject
        )

    def _grant(self, key: ApiKey, requirement: Scope) -> None:
        if not key.scope.allows(requirement):
            raise Forbidden(FORBIDDEN)
        self.context[PRINCIPAL] = _current.principal = Principal(key.merchant_id, key.key_id, key.scope)


def create_app(*, title: str, description: str = "") -> PollenResolver:
    app = PollenResolver(enable_validation=True)
    app.configure_openapi(
        title=title,
        version="0.1.0",
        description=description,  # security schemes: added by get_openapi_schema
    )
    register_error_handlers(app)
    return app


def current_principal() -> Principal:
    """The authenticated caller of the request this thread is handling (the ``Caller`` dependency,
    :mod:`pollen.api.deps`)."""
    value: Any = getattr(_current, "principal", None)
    if not isinstance(value, Principal):
        raise RuntimeError("the caller is unknown on a public route")
    return value


def principal(app: BaseRouter) -> Principal:
    """The authenticated caller of the current request (set by :class:`PollenResolver`); works with
    the resolver and with the routers it includes."""
    value: Any = getattr(_current, "principal", None)  # this request's, whatever the router's context
    if not isinstance(value, Principal):
        value = app.context.get(PRINCIPAL)
    if not isinstance(value, Principal):
        raise RuntimeError("principal() used on a public route")
    return value
