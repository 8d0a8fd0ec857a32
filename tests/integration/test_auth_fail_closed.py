"""A route that forgets to declare its auth is refused, not exposed."""

from __future__ import annotations

from typing import Any, cast

from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.apigw import FakeLambdaContext, build_http_event, to_http_response
from infra.seed import DemoStore
from pollen.api.app import create_app, principal
from pollen.api.auth import requires
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
