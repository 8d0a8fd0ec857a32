"""Invoke HTTP functions in-process with the exact event API Gateway (and the local stack) builds."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from infra.apigw import (
    FakeLambdaContext,
    build_function_url_event,
    build_http_event,
    match_route,
    to_http_response,
)
from infra.aws_resources import LocalResources
from infra.template import FunctionSpec, HttpRoute, describe_functions


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(frozen=True)
class _Bound:
    route: HttpRoute
    spec: FunctionSpec

    @property
    def method(self) -> str:
        return self.route.method

    @property
    def path(self) -> str:
        return self.route.path


class InProcessApi:
    def __init__(self, template: Mapping[str, Any], resources: LocalResources) -> None:
        resolver = resources.resolver(template, parameters={"Stage": "dev"}, stack_name="pollen-test")
        self.functions = describe_functions(template, resolver)
        self.routes = [_Bound(route, spec) for spec in self.functions for route in spec.http_routes]
        self.last_function: str | None = None

    def handler(self, spec: FunctionSpec) -> Callable[[dict[str, Any], Any], Any]:
        module = importlib.import_module(spec.module)
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, spec.handler_attr)
        return handler

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        matched = match_route(self.routes, method, path)
        if matched is None:
            return ApiResponse(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
        bound, params = matched
        all_headers: list[tuple[str, str]] = [("user-agent", "pytest")]
        if key is not None:
            all_headers.append(("x-api-key", key))
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.append(("content-type", "application/json"))
        all_headers.extend((headers or {}).items())
        event = build_http_event(
            method=method,
            raw_path=path,
            route_key=bound.route.route_key,
            path_parameters=params or None,
            headers=all_headers,
            raw_query_string=urlencode(query or {}),
            body=body or b"",
        )
        return self._invoke(bound.spec, event)

    def function_url(
        self,
        logical_id: str,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """A request to ``logical_id``'s Lambda function URL: the payload 2.0 event Lambda builds for
        one (route key ``$default``, no path parameters, the ``lambda-url`` domain)."""
        spec = next(s for s in self.functions if s.logical_id == logical_id)
        if not spec.function_url:
            raise ValueError(f"{logical_id} has no FunctionUrlConfig in the template")
        event = build_function_url_event(
            method=method,
            raw_path=path,
            headers=[("user-agent", "pytest"), *(headers or {}).items()],
            body=body,
        )
        return self._invoke(spec, event)

    def _invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> ApiResponse:
        """Hand ``event`` to ``spec``'s handler as Lambda would, and read its HTTP answer."""
        self.last_function = spec.logical_id
        context = FakeLambdaContext(function_name=spec.function_name, timeout_seconds=spec.timeout)
        status, response_headers, response_body = to_http_response(self.handler(spec)(event, context))
        return ApiResponse(status, {k.lower(): v for k, v in response_headers}, response_body)

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)
