"""What API Gateway (HTTP API, payload format 2.0) does around a Lambda function, done locally.

Three pieces: choosing the route for a request (:func:`match_route`), building the exact event the
function receives (:func:`build_http_event`), and turning the function's return value into an HTTP
response (:func:`to_http_response`). Plus a :class:`FakeLambdaContext` shaped like the real one.

Reference: "Create AWS Lambda proxy integrations for HTTP APIs" in the API Gateway developer guide.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl

DEFAULT_ACCOUNT_ID = "123456789012"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_SUBTYPES = ("json", "xml", "javascript", "yaml")

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


class RouteLike(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...


R = TypeVar("R", bound=RouteLike)


# ---- Routing ----------------------------------------------------------------------------------------


def match_route(routes: Sequence[R], method: str, path: str) -> tuple[R, dict[str, str]] | None:
    """The route API Gateway would pick for ``method`` and the (percent-decoded) ``path``.

    Most specific first: a full match (literal segments beating ``{variables}``, left to right)
    before a greedy ``{proxy+}`` match (longer fixed prefix first) before ``$default``; for the same
    path an explicit method beats ``ANY``. ``{name}`` takes one non-empty segment, ``{name+}`` one or
    more. Returns the route and its path parameters, or None (API Gateway's 404).
    """
    best: tuple[tuple[Any, ...], R, dict[str, str]] | None = None
    method = method.upper()
    for route in routes:
        route_method = route.method.upper()
        if route_method not in (method, "ANY"):
            continue
        matched = _match_path(route.path, path)
        if matched is None:
            continue
        params, specificity = matched
        key = (*specificity, route_method == "ANY")
        if best is None or key < best[0]:
            best = (key, route, params)
    return None if best is None else (best[1], best[2])


def _match_path(template: str, path: str) -> tuple[dict[str, str], tuple[Any, ...]] | None:  # noqa: PLR0911
    if template == "$default":
        return {}, (2, 0, ())
    template_segments = template[1:].split("/") if template.startswith("/") else template.split("/")
    path_segments = path[1:].split("/") if path.startswith("/") else path.split("/")
    params: dict[str, str] = {}
    kinds: list[int] = []
    for index, segment in enumerate(template_segments):
        is_variable = segment.startswith("{") and segment.endswith("}")
        if is_variable and segment.endswith("+}"):
            rest = "/".join(path_segments[index:])
            if index != len(template_segments) - 1 or not rest:
                return None
            params[segment[1:-2]] = rest
            return params, (1, -index, tuple(kinds))
        if index >= len(path_segments):
            return None
        if is_variable:
            if not path_segments[index]:
                return None
            params[segment[1:-1]] = path_segments[index]
            kinds.append(1)
        elif segment == path_segments[index]:
            kinds.append(0)
        else:
            return None
    if len(path_segments) != len(template_segments):
        return None
    return params, (0, 0, tuple(kinds))


# ---- Request event ---------------------------------------------------------------------------------


def build_http_event(
    *,
    method: str,
    raw_path: str,
    route_key: str,
    path_parameters: Mapping[str, str] | None,
    headers: Headers,
    raw_query_string: str = "",
    body: bytes = b"",
    source_ip: str = "127.0.0.1",
    stage: str = "$default",
    api_id: str = "local",
    account_id: str = DEFAULT_ACCOUNT_ID,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event for one request.

    ``raw_path`` is the path as HTTP APIs hand it over, percent-decoded; ``raw_query_string`` is
    as sent. Header names are lower-cased and repeated headers joined with commas; ``Cookie``
    headers move to ``cookies``. ``pathParameters``, ``queryStringParameters``, ``cookies`` and
    ``body`` are left out when there are none, as API Gateway does. The body is text when its
    content type is textual and it decodes as UTF-8, base64 otherwise.
    """
    now = now or datetime.now(UTC)
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            joined[lower] = f"{joined[lower]},{value}" if lower in joined else value
    host = joined.get("host", f"{api_id}.execute-api.us-east-1.amazonaws.com")
    domain_name = host.split(":", 1)[0]
    forwarded_for = joined.get("x-forwarded-for")
    joined["x-forwarded-for"] = f"{forwarded_for}, {source_ip}" if forwarded_for else source_ip
    joined.setdefault("x-forwarded-port", host.split(":", 1)[1] if ":" in host else "80")
    joined.setdefault("x-forwarded-proto", "http")
    joined.setdefault("x-amzn-trace-id", _trace_id(now))

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    if raw_query_string:
        query: dict[str, str] = {}
        for key, value in parse_qsl(raw_query_string, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route_key,
        "stage": stage,
        "time": _request_time(now),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if body:
        if _is_text(joined.get("content-type", "")):
            try:
                event["body"] = body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode("ascii")
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event.setdefault("isBase64Encoded", False)
    return event


FUNCTION_URL_ID = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"


def build_function_url_event(
    *, method: str, raw_path: str, headers: Headers, body: bytes = b"", source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """The event Lambda builds for a function URL request: payload format 2.0 with route key
    ``$default``, no path parameters, and the ``<url-id>.lambda-url.<region>.on.aws`` domain."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    host = f"{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws"
    return build_http_event(
        method=method,
        raw_path=raw_path,
        route_key="$default",
        path_parameters=None,
        headers=[("host", host), ("x-forwarded-proto", "https"), ("x-forwarded-port", "443"), *pairs],
        body=body,
        source_ip=source_ip,
        api_id=FUNCTION_URL_ID,
    )


def _is_text(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.startswith("text/"):
        return True
    return media_type.startswith("application/") and any(kind in media_type for kind in _TEXT_SUBTYPES)


def _request_time(now: datetime) -> str:
    """``23/Nov/2026:10:00:00 +0000``, locale-independent."""
    utc = now.astimezone(UTC)
    return f"{utc.day:02d}/{_MONTHS[utc.month - 1]}/{utc.year}:{utc:%H:%M:%S} +0000"


def _trace_id(now: datetime) -> str:
    return f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}"


# ---- Response ---------------------------------------------------------------------------------------


class InvalidResponseError(ValueError):
    """A function result API Gateway would answer with a 500."""


def to_http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for a function's (JSON round-tripped) return value.

    A dict with ``statusCode`` is a full response: ``headers`` (values already comma-joined in
    format 2.0), ``cookies`` (each a ``Set-Cookie`` header), ``body`` and ``isBase64Encoded``.
    Anything else is taken as a JSON body with status 200, as API Gateway does for format 2.0.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        body = json.dumps(result).encode()
        return 200, [("content-type", "application/json")], body
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidResponseError(f"statusCode must be an integer HTTP status, not {status!r}")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        if value is not None:
            headers.append((str(name), _header_value(value)))
    headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw_body = result.get("body")
    if raw_body is None:
        payload = b""
    elif not isinstance(raw_body, str):
        raise InvalidResponseError("body must be a string")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(raw_body, validate=True)
        except binascii.Error as exc:
            raise InvalidResponseError("isBase64Encoded is true but body is not base64") from exc
    else:
        payload = raw_body.encode("utf-8")
    return status, headers, payload


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---- Lambda context ---------------------------------------------------------------------------------


@dataclass
class FakeLambdaContext:
    """The context object the Python runtime passes, with a deadline from the function's Timeout."""

    function_name: str
    timeout_seconds: float = 3.0
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    account_id: str = DEFAULT_ACCOUNT_ID
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: Any = None
    client_context: Any = None
    invoked_function_arn: str = field(default="", init=False)
    log_group_name: str = field(default="", init=False)
    log_stream_name: str = field(default="", init=False)
    _deadline: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.invoked_function_arn = (
            f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[{self.function_version}]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
