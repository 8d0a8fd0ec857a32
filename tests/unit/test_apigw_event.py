"""API Gateway HTTP API emulation: the v2 event, route selection, response conversion, the local API."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.apigw import (
    FakeLambdaContext,
    InvalidResponseError,
    build_http_event,
    match_route,
    to_http_response,
)
from infra.local.server import CorsConfig, LocalApi, LocalRequest, merge_openapi
from infra.template import FunctionSpec, HttpRoute

NOW = datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC)


def _event(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "method": "POST",
        "raw_path": "/v1/things/t-1",
        "route_key": "POST /v1/things/{thing_id}",
        "path_parameters": {"thing_id": "t-1"},
        "headers": [
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("X-Api-Key", "k"),
            ("Accept", "text/html"),
            ("accept", "application/json"),
            ("Cookie", "a=1; b=2"),
            ("User-Agent", "pytest"),
        ],
        "raw_query_string": "tag=x&tag=y&limit=5&empty=",
        "body": b'{"name": "caf\xc3\xa9"}',
        "now": NOW,
    }
    arguments.update(overrides)
    return build_http_event(**arguments)


# ---- Event -------------------------------------------------------------------------------------------


def test_event_has_the_payload_format_2_shape() -> None:
    event = _event()
    APIGatewayProxyEventV2Model.model_validate(event)  # the shape Powertools' parser expects
    assert list(event) == [
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "cookies",
        "headers",
        "queryStringParameters",
        "requestContext",
        "body",
        "isBase64Encoded",
        "pathParameters",
    ]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/things/{thing_id}"
    assert event["rawPath"] == "/v1/things/t-1"
    assert event["rawQueryString"] == "tag=x&tag=y&limit=5&empty="
    assert event["pathParameters"] == {"thing_id": "t-1"}


def test_headers_are_lower_cased_joined_and_cookies_split_out() -> None:
    event = _event()
    headers = event["headers"]
    assert headers["accept"] == "text/html,application/json"
    assert headers["x-api-key"] == "k"
    assert "cookie" not in headers
    assert event["cookies"] == ["a=1", "b=2"]
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-port"] == "3000"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-amzn-trace-id"].startswith("Root=1-")
    assert all(name == name.lower() for name in headers)


def test_query_string_parameters_join_repeated_keys() -> None:
    assert _event()["queryStringParameters"] == {"tag": "x,y", "limit": "5", "empty": ""}


def test_request_context() -> None:
    context = _event()["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "local"
    assert context["domainName"] == "127.0.0.1"
    assert context["domainPrefix"] == "127"
    assert context["http"] == {
        "method": "POST",
        "path": "/v1/things/t-1",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert re.fullmatch(r"[0-9a-f-]{36}", context["requestId"])
    assert context["routeKey"] == "POST /v1/things/{thing_id}"
    assert context["stage"] == "$default"
    assert context["time"] == "23/Nov/2026:10:00:00 +0000"
    assert context["timeEpoch"] == 1795428000123


def test_json_body_is_text_and_binary_body_is_base64() -> None:
    text = _event()
    assert (text["body"], text["isBase64Encoded"]) == ('{"name": "café"}', False)

    binary = _event(headers=[("content-type", "application/octet-stream")], body=b"\x00\xff")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x00\xff"

    undecodable = _event(headers=[("content-type", "text/plain")], body=b"\xff\xfe")
    assert undecodable["isBase64Encoded"] is True


def test_absent_parts_are_left_out_as_api_gateway_does() -> None:
    event = _event(headers=[], raw_query_string="", body=b"", path_parameters=None, method="get")
    for key in ("cookies", "queryStringParameters", "pathParameters", "body"):
        assert key not in event
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["userAgent"] == ""
    APIGatewayProxyEventV2Model.model_validate(event)


def test_headers_may_be_a_mapping() -> None:
    assert _event(headers={"X-One": "1"})["headers"]["x-one"] == "1"


# ---- Routing ---------------------------------------------------------------------------------------

ROUTES = [
    HttpRoute("GET", "/v1/items"),
    HttpRoute("GET", "/v1/items/{item_id}"),
    HttpRoute("GET", "/v1/items/special"),
    HttpRoute("ANY", "/v1/items/{item_id}/notes"),
    HttpRoute("POST", "/v1/items/{item_id}/notes"),
    HttpRoute("GET", "/v1/{proxy+}"),
    HttpRoute("GET", "/v1/files/{path+}"),
    HttpRoute("ANY", "$default"),
]


@pytest.mark.parametrize(
    ("method", "path", "expected", "params"),
    [
        ("GET", "/v1/items", "/v1/items", {}),
        ("GET", "/v1/items/special", "/v1/items/special", {}),  # literal beats {variable}
        ("GET", "/v1/items/i-1", "/v1/items/{item_id}", {"item_id": "i-1"}),
        ("POST", "/v1/items/i-1/notes", "/v1/items/{item_id}/notes", {"item_id": "i-1"}),
        ("GET", "/v1/files/a/b.txt", "/v1/files/{path+}", {"path": "a/b.txt"}),  # longer prefix wins
        ("GET", "/v1/other/deep/path", "/v1/{proxy+}", {"proxy": "other/deep/path"}),
        ("GET", "/v1/items/i-1/extra", "/v1/{proxy+}", {"proxy": "items/i-1/extra"}),  # full match first
        ("DELETE", "/v1/items", "$default", {}),
        ("GET", "/v1", "$default", {}),  # a greedy variable needs at least one segment
        ("GET", "/v1/items/", "/v1/{proxy+}", {"proxy": "items/"}),
    ],
)
def test_match_route_follows_api_gateway_precedence(
    method: str, path: str, expected: str, params: dict[str, str]
) -> None:
    matched = match_route(ROUTES, method, path)
    assert matched is not None
    route, found = matched
    assert (route.path, found) == (expected, params)


def test_explicit_method_beats_any() -> None:
    matched = match_route(ROUTES, "post", "/v1/items/i-1/notes")
    assert matched is not None
    assert matched[0].method == "POST"
    any_matched = match_route(ROUTES, "PATCH", "/v1/items/i-1/notes")
    assert any_matched is not None
    assert any_matched[0].method == "ANY"


def test_no_match_without_default_route() -> None:
    routes = [route for route in ROUTES if route.path != "$default"]
    assert match_route(routes, "DELETE", "/v1/items") is None
    assert match_route(routes, "GET", "/v2/items") is None
    assert match_route([HttpRoute("GET", "/v1/items/{item_id}")], "GET", "/v1/items/") is None


# ---- Response ----------------------------------------------------------------------------------------


def test_full_response_with_headers_and_cookies() -> None:
    status, headers, body = to_http_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Flag": True, "X-Skip": None},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": '{"ok":true}',
            "isBase64Encoded": False,
        }
    )
    assert status == 201
    assert headers == [
        ("Content-Type", "application/json"),
        ("X-Flag", "true"),
        ("set-cookie", "a=1; Path=/"),
        ("set-cookie", "b=2"),
    ]
    assert body == b'{"ok":true}'


def test_base64_body_is_decoded() -> None:
    payload = base64.b64encode(b"\x89PNG").decode()
    assert to_http_response({"statusCode": 200, "body": payload, "isBase64Encoded": True})[2] == b"\x89PNG"
    with pytest.raises(InvalidResponseError):
        to_http_response({"statusCode": 200, "body": "not base64!", "isBase64Encoded": True})


def test_anything_without_status_code_is_a_json_body() -> None:
    assert to_http_response({"hello": "world"}) == (
        200,
        [("content-type", "application/json")],
        b'{"hello": "world"}',
    )
    assert to_http_response("text")[2] == b'"text"'
    assert to_http_response(None)[2] == b"null"


@pytest.mark.parametrize("status", ["200", 99, 600, True])
def test_invalid_status_codes_are_refused(status: Any) -> None:
    with pytest.raises(InvalidResponseError):
        to_http_response({"statusCode": status})


def test_missing_body_is_empty() -> None:
    assert to_http_response({"statusCode": 204}) == (204, [], b"")


# ---- Powertools round trip ---------------------------------------------------------------------------

resolver = APIGatewayHttpResolver()


@resolver.post("/v1/things/<thing_id>")
def _create(thing_id: str) -> Response[Any]:
    event = resolver.current_event
    return Response(
        status_code=201,
        content_type="application/json",
        body=json.dumps(
            {
                "thing_id": thing_id,
                "name": event.json_body["name"],
                "tags": event.get_query_string_value("tag"),
                "cookies": event.cookies,
            }
        ),
        cookies=[],
        headers={"X-Multi": ["a", "b"]},
    )


def test_powertools_routes_the_event_and_its_response_converts() -> None:
    context = cast(LambdaContext, FakeLambdaContext(function_name="things", timeout_seconds=3))
    status, headers, body = to_http_response(json.loads(json.dumps(resolver.resolve(_event(), context))))
    assert status == 201
    assert ("X-Multi", "a, b") in headers
    assert json.loads(body) == {"thing_id": "t-1", "name": "café", "tags": "x,y", "cookies": ["a=1", "b=2"]}


# ---- Lambda context ----------------------------------------------------------------------------------


def test_fake_context_counts_down_from_the_timeout() -> None:
    context = FakeLambdaContext(function_name="pollen-local-Fn", timeout_seconds=2, memory_limit_in_mb=512)
    first = context.get_remaining_time_in_millis()
    assert 1900 < first <= 2000
    time.sleep(0.02)
    assert context.get_remaining_time_in_millis() < first
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:pollen-local-Fn"
    assert context.log_group_name == "/aws/lambda/pollen-local-Fn"
    assert context.log_stream_name == context.log_stream_name  # stable for the invocation
    assert re.fullmatch(r"[0-9a-f-]{36}", context.aws_request_id)
    assert FakeLambdaContext(function_name="f", timeout_seconds=0).get_remaining_time_in_millis() == 0


# ---- The local API (no sockets) ----------------------------------------------------------------------


def _spec(logical_id: str, *routes: HttpRoute) -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        function_name=f"pollen-local-{logical_id}",
        code_dir=logical_id.lower(),
        module=f"functions.{logical_id.lower()}.app",
        handler_attr="lambda_handler",
        env={},
        http_routes=routes,
    )


class _Recorder:
    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.result = result if result is not None else {"statusCode": 200, "body": "ok"}
        self.error = error

    def __call__(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        self.events.append((spec.logical_id, event))
        if self.error:
            raise self.error
        return self.result


def _api(invoke: _Recorder, **kwargs: Any) -> LocalApi:
    functions = [
        _spec("Things", HttpRoute("GET", "/v1/things/{thing_id}")),
        _spec("Admin", HttpRoute("POST", "/v1/admin/keys")),
    ]
    return LocalApi(functions, invoke, **kwargs)


def _request(method: str, target: str, *headers: tuple[str, str], body: bytes = b"") -> LocalRequest:
    return LocalRequest(
        method=method, target=target, headers=[("Host", "localhost:3000"), *headers], body=body
    )


def test_local_api_routes_to_the_declaring_function() -> None:
    invoke = _Recorder()
    status, headers, body = _api(invoke).handle(_request("GET", "/v1/things/caf%C3%A9?x=1"))
    assert (status, body) == (200, b"ok")
    (function_id, event), *_ = invoke.events
    assert function_id == "Things"
    assert event["pathParameters"] == {"thing_id": "café"}  # HTTP APIs decode the path
    assert event["rawQueryString"] == "x=1"
    assert any(name == "apigw-requestid" for name, _ in headers)


def test_local_api_answers_like_api_gateway_when_nothing_matches_or_the_function_fails() -> None:
    assert _api(_Recorder()).handle(_request("GET", "/nope"))[::2] == (404, b'{"message":"Not Found"}')
    failing = _api(_Recorder(error=RuntimeError("boom")))
    assert failing.handle(_request("GET", "/v1/things/1"))[::2] == (
        500,
        b'{"message":"Internal Server Error"}',
    )
    bad_result = _api(_Recorder(result={"statusCode": "200"}))
    assert bad_result.handle(_request("GET", "/v1/things/1"))[0] == 500


def test_local_api_cors_preflight_and_response_headers() -> None:
    cors = CorsConfig(
        allow_origins=("*",), allow_headers=("x-api-key",), allow_methods=("GET", "POST"), max_age=600
    )
    invoke = _Recorder(
        result={"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "evil"}, "body": ""}
    )
    api = _api(invoke, cors=cors)
    status, headers, _ = api.handle(
        _request(
            "OPTIONS",
            "/v1/admin/keys",
            ("Origin", "http://shop.test"),
            ("Access-Control-Request-Method", "POST"),
        )
    )
    assert status == 204
    assert dict(headers) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "x-api-key",
        "access-control-max-age": "600",
    }
    assert not invoke.events  # API Gateway answers preflights itself
    _, headers, _ = api.handle(_request("GET", "/v1/things/1", ("Origin", "http://shop.test")))
    assert [value for name, value in headers if name.lower() == "access-control-allow-origin"] == ["*"]


def test_local_api_extras() -> None:
    documents = [
        {
            "openapi": "3.1.0",
            "info": {"title": "Things", "version": "0.1.0"},
            "paths": {"/v1/things/{thing_id}": {"get": {"operationId": "get_thing"}}},
            "components": {"schemas": {"Thing": {"type": "object"}}},
        },
        {
            "openapi": "3.1.0",
            "info": {"title": "Admin", "version": "0.1.0"},
            "paths": {"/v1/admin/keys": {"post": {"operationId": "create_key"}}},
            "components": {
                "schemas": {"Key": {"type": "object"}},
                "securitySchemes": {"ApiKey": {"type": "apiKey"}},
            },
        },
    ]
    triggered: list[tuple[str, str]] = []

    def trigger(function_id: str, event_name: str) -> Any:
        if function_id != "Jobs":
            raise KeyError(function_id)
        triggered.append((function_id, event_name))
        return {"ran": event_name}

    api = _api(_Recorder(), openapi_source=lambda: documents, trigger_schedule=trigger)
    status, _, body = api.handle(_request("GET", "/openapi.json"))
    document = json.loads(body)
    assert status == 200
    assert document["info"]["title"] == "Pollen API"
    assert set(document["paths"]) == {"/v1/things/{thing_id}", "/v1/admin/keys"}
    assert set(document["components"]["schemas"]) == {"Thing", "Key"}
    assert document["servers"] == [{"url": "http://localhost:3000"}]
    assert merge_openapi(documents)["components"]["securitySchemes"] == {"ApiKey": {"type": "apiKey"}}

    status, headers, body = api.handle(_request("GET", "/docs"))
    assert status == 200
    assert b"/openapi.json" in body
    assert b"swagger-ui" in body
    assert ("content-type", "text/html; charset=utf-8") in headers

    assert api.handle(_request("POST", "/_local/schedules/Jobs/Hourly"))[::2] == (200, b'{"ran":"Hourly"}')
    assert triggered == [("Jobs", "Hourly")]
    assert api.handle(_request("POST", "/_local/schedules/Nope/Hourly"))[0] == 404
    assert api.handle(_request("GET", "/_local/schedules/Jobs/Hourly"))[0] == 404


def test_two_functions_may_not_declare_the_same_route() -> None:
    route = HttpRoute("GET", "/v1/x")
    with pytest.raises(ValueError, match="two functions"):
        LocalApi([_spec("A", route), _spec("B", route)], _Recorder())
