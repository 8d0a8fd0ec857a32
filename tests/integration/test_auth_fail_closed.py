"""A route that forgets to declare its auth is refused, not exposed."""

from __future__ import annotations

import json
from typing import Any, cast

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.apigw import FakeLambdaContext, build_http_event, to_http_response
from infra.seed import DemoStore
from pollen.api.app import create_app, principal
from pollen.api.auth import requires
from pollen.api.deps import Caller, MerchantId
from pollen.domain.api_keys import Scope


def _context() -> LambdaContext:
    return cast("LambdaContext", FakeLambdaContext("t"))


def _event(path: str, key: str | None) -> dict[str, Any]:
    headers = [("x-api-key", key)] if key else []
    return build_http_event(
        method="GET", raw_path=path, route_key=f"GET {path}", path_parameters=None, headers=headers
    )


def test_undeclared_route_is_refused_even_with_an_admin_key(demo: DemoStore) -> None:
    app = create_app(title="t")

    @app.get("/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {"secret": "data"}

    for key in (None, demo.api_keys.admin):
        status, _, body = to_http_response(app.resolve(_event("/v1/forgotten", key), _context()))
        assert status == 403
        assert b"secret" not in body


def test_declared_route_sees_the_callers_merchant(demo: DemoStore) -> None:
    app = create_app(title="t")

    @app.get("/v1/whoami")
    @requires(Scope.READ)
    def whoami() -> dict[str, str]:
        return {"merchant_id": principal(app).merchant_id, "scope": principal(app).scope.value}

    status, _, body = to_http_response(app.resolve(_event("/v1/whoami", demo.api_keys.write), _context()))
    assert status == 200
    assert b'"merchant_id":"demo-store"' in body.replace(b" ", b"")


def test_a_router_route_gets_the_callers_merchant_through_depends_and_the_openapi_does_not_show_it(
    demo: DemoStore,
) -> None:
    router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]
    reached: list[str] = []

    @router.get("/v1/whoami")
    @requires(Scope.READ)
    def whoami(merchant_id: MerchantId, caller: Caller) -> dict[str, str]:
        reached.append(merchant_id)
        return {"merchant_id": merchant_id, "scope": caller.scope.value}

    app = create_app(title="t")
    app.include_router(router)
    status, _, body = to_http_response(app.resolve(_event("/v1/whoami", demo.api_keys.write), _context()))
    assert status == 200
    assert json.loads(body) == {"merchant_id": "demo-store", "scope": "write"}
    status, _, _ = to_http_response(app.resolve(_event("/v1/whoami", None), _context()))
    assert status == 401
    assert reached == ["demo-store"]  # a refused caller never reaches the route's dependencies
    operation = json.loads(app.get_openapi_json_schema())["paths"]["/v1/whoami"]["get"]
    assert not operation.get("parameters")
    assert "requestBody" not in operation
