"""The resolver every HTTP function uses: validation, problem errors and fail-closed auth."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder, Route
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

from pollen.api import gate, openapi
from pollen.api.auth import PUBLIC, Principal, requirement_of
from pollen.api.errors import register_error_handlers
from pollen.domain.errors import DomainError, Forbidden
from pollen.observability import logger
from pollen.services import api_keys
from pollen.services.container import container

PRINCIPAL = "principal"


class PollenResolver(APIGatewayHttpResolver):
    """Authenticates before anything else runs, request validation included.

    Powertools runs request validation ahead of user middlewares, so auth cannot be a middleware:
    an unauthenticated caller would learn about the body schema before being told 401. The hook is
    ``_call_route``, which runs after route matching (the route's declared scope is known) and
    before the middleware chain. Unmatched paths fall through to the 404 problem. Rate limits and
    the body checks run around authentication, in :mod:`pollen.api.gate`.
    """

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> ResponseBuilder:  # type: ignore[type-arg]
        if route in self._static_routes or route in self._dynamic_routes:
            refused = gate.before_auth(self, route)
            if refused is None:
                try:
                    self._authorize(route)
                except DomainError as exc:
                    refused = gate.auth_refused(self, exc)
                else:
                    caller = self.context.get(PRINCIPAL)
                    refused = gate.after_auth(self, route, getattr(caller, "merchant_id", None))
            if refused is not None:
                builder = self._response_builder_class
                return builder(response=refused, serializer=self._serializer, route=route)
        return super()._call_route(route, route_arguments)

    def get_openapi_json_schema(self, *args: Any, **kwargs: Any) -> str:
        """The document with each operation's real security, errors and success codes."""
        routes = [*self._static_routes, *self._dynamic_routes]
        return openapi.finish_json(super().get_openapi_json_schema(*args, **kwargs), routes)

    def _authorize(self, route: Route) -> None:
        requirement = requirement_of(route.func)
        if requirement is None:
            logger.error(
                "route declares no auth requirement", extra={"route": f"{route.method} {route.path}"}
            )
            raise Forbidden("This operation is not available.")
        if requirement == PUBLIC:
            return
        key = api_keys.authenticate(container(), self.current_event.headers.get("x-api-key"))
        if not key.scope.allows(requirement):
            raise Forbidden(f"This operation needs an API key with the '{requirement.value}' scope.")
        self.context[PRINCIPAL] = Principal(key.merchant_id, key.key_id, key.scope)
        logger.append_keys(merchant_id=key.merchant_id, key_id=key.key_id)


def create_app(*, title: str, description: str = "") -> PollenResolver:
    app = PollenResolver(enable_validation=True)
    app.configure_openapi(
        title=title,
        version="0.1.0",
        description=description,
        security_schemes={"ApiKey": APIKey(name="X-Api-Key", in_=APIKeyIn.header)},
    )
    register_error_handlers(app)
    return app


def principal(app: APIGatewayHttpResolver) -> Principal:
    """The authenticated caller of the current request (set by :class:`PollenResolver`)."""
    value: Any = app.context.get(PRINCIPAL)
    if not isinstance(value, Principal):
        raise RuntimeError("principal() used on a public route")
    return value
