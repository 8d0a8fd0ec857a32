"""The local HTTP API: every ``HttpApi`` route of the template, served the way API Gateway serves it.

A request is matched against all routes (API Gateway's precedence), turned into the payload format
2.0 event, run by the function in this process, and its result turned back into HTTP. Unmatched
requests get API Gateway's ``404 {"message":"Not Found"}``; a function that raises gets its
``500 {"message":"Internal Server Error"}`` (with the traceback printed here). CORS follows the
API's ``CorsConfiguration``: preflights are answered without calling a function and the
configured headers replace any a function sets, as on AWS.

Local extras (:attr:`LocalApi.local_routes`; add more with :meth:`LocalApi.add_route`):
``GET /openapi.json`` (every HTTP function's OpenAPI document merged), ``GET /docs`` (Swagger UI),
``GET /_local/schedules`` (the schedules and how to run each), ``POST
/_local/schedules/{FunctionLogicalId}/{EventName}`` (run a schedule now), ``GET|POST /_local/clock``
(see :mod:`infra.local.clock`). ``GET /v1/health`` is the function's answer plus a ``local`` section
(each poller's state, lag and progress, the clock, the saved state); a stalled, dead or lagging
poller turns it into ``503 {"status": "degraded"}``.

The server holds load: a listen backlog of 1024, a thread per connection, and a read timeout, so a
client that sends less body than its ``Content-Length`` is dropped after :data:`READ_TIMEOUT_SECONDS`,
and one that idles on a keep-alive connection after :data:`IDLE_TIMEOUT_SECONDS`, instead of holding a
thread forever.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from infra.apigw import build_http_event, match_route, to_http_response
from infra.local import swagger
from infra.local.demo_store import DemoStorefront
from infra.local.static import StaticSite
from infra.template import FunctionSpec, HttpRoute, Resolver

log = logging.getLogger("pollen.local.http")

Invoker = Callable[[FunctionSpec, Any], Any]
ScheduleTrigger = Callable[[str, str], Any]
OpenApiSource = Callable[[], Iterable[dict[str, Any]]]
HealthSource = Callable[[], dict[str, Any]]

JSON = "application/json"
SCHEDULE_PREFIX = "/_local/schedules/"
CLOCK_PATH = "/_local/clock"
HEALTH_PATH = "/v1/health"
# Seconds each socket read may wait (POLLEN_LOCAL_READ_TIMEOUT; the e2e tests shorten it).
READ_TIMEOUT_SECONDS = float(os.environ.get("POLLEN_LOCAL_READ_TIMEOUT", "10"))
# Seconds a keep-alive connection may idle between requests (nginx's default). Longer than a client
# pool keeps an idle connection (httpx 5 s): a server that closed sooner would race the client's next
# request on that connection, which then fails with no answer ("server disconnected").
IDLE_TIMEOUT_SECONDS = 75.0
LISTEN_BACKLOG = 1024

ResponseParts = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class CorsConfig:
    allow_origins: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_template(cls, template: Mapping[str, Any], resolver: Resolver) -> CorsConfig | None:
        """The first ``AWS::Serverless::HttpApi``'s ``CorsConfiguration``, if it has one."""
        for resource in (template.get("Resources") or {}).values():
            if resource.get("Type") != "AWS::Serverless::HttpApi":
                continue
            config = resolver.resolve((resource.get("Properties") or {}).get("CorsConfiguration"))
            if config is True:
                return cls(allow_origins=("*",), allow_headers=("*",), allow_methods=("*",))
            if isinstance(config, dict):
                return cls(
                    allow_origins=tuple(config.get("AllowOrigins", ())),
                    allow_headers=tuple(str(h).lower() for h in config.get("AllowHeaders", ())),
                    allow_methods=tuple(str(m).upper() for m in config.get("AllowMethods", ())),
                    expose_headers=tuple(config.get("ExposeHeaders", ())),
                    max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
                    allow_credentials=str(config.get("AllowCredentials", False)).lower() == "true",
                )
        return None

    def origin_header(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if "*" in self.allow_origins:
            return origin if self.allow_credentials else "*"
        return origin if origin in self.allow_origins else None

    def preflight(self, origin: str, request_headers: str) -> list[tuple[str, str]]:
        allowed = self.origin_header(origin)
        if allowed is None:
            return []
        headers = [("access-control-allow-origin", allowed)]
        if self.allow_methods:
            headers.append(("access-control-allow-methods", ",".join(self.allow_methods)))
        if "*" in self.allow_headers and request_headers:
            headers.append(("access-control-allow-headers", request_headers))
        elif self.allow_headers:
            headers.append(("access-control-allow-headers", ",".join(self.allow_headers)))
        if self.max_age is not None:
            headers.append(("access-control-max-age", str(self.max_age)))
        if self.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        return headers

    def response_headers(self, origin: str | None) -> list[tuple[str, str]]:
        allowed = self.origin_header(origin)
        if allowed is None:
            return []
        headers = [("access-control-allow-origin", allowed)]
        if self.expose_headers:
            headers.append(("access-control-expose-headers", ",".join(self.expose_headers)))
        if self.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        return headers


@dataclass(frozen=True)
class LocalRequest:
    method: str
    target: str  # path and query string, as on the request line
    headers: Sequence[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


LocalHandler = Callable[["LocalRequest", str], ResponseParts]


@dataclass(frozen=True)
class LocalRoute:
    """A route the local server answers itself: ``path`` exactly, or every path under it (``prefix``)."""

    method: str
    path: str
    handler: LocalHandler
    prefix: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (method, "*"):
            return False
        return path.startswith(self.path) if self.prefix else path == self.path


def merge_openapi(documents: Iterable[dict[str, Any]], *, title: str = "Pollen API") -> dict[str, Any]:
    """One OpenAPI document from several resolvers' documents: paths, components and tags unioned."""
    merged: dict[str, Any] = {"openapi": "3.1.0", "info": {"title": title, "version": "0.1.0"}, "paths": {}}
    components: dict[str, dict[str, Any]] = {}
    tags: dict[str, Any] = {}
    security: list[Any] = []
    for index, document in enumerate(documents):
        if index == 0:
            merged["openapi"] = document.get("openapi", merged["openapi"])
            merged["info"]["version"] = document.get("info", {}).get("version", "0.1.0")
        for path, operations in (document.get("paths") or {}).items():
            merged["paths"].setdefault(path, {}).update(operations)
        for section, entries in (document.get("components") or {}).items():
            for name, entry in entries.items():
                components.setdefault(section, {}).setdefault(name, entry)
        for tag in document.get("tags") or []:
            tags.setdefault(tag["name"] if isinstance(tag, dict) else str(tag), tag)
        security.extend(item for item in document.get("security") or [] if item not in security)
    merged["paths"] = dict(sorted(merged["paths"].items()))
    if components:
        merged["components"] = components
    if tags:
        merged["tags"] = list(tags.values())
    if security:
        merged["security"] = security
    return merged


@dataclass
class LocalApi:
    """Everything the server does for a request, independent of the socket handling."""

    functions: Sequence[FunctionSpec]
    invoke: Invoker
    openapi_source: OpenApiSource | None = None
    trigger_schedule: ScheduleTrigger | None = None
    schedules: Sequence[tuple[str, str, str]] = ()  # (function, event, expression)
    clock: Any = None  # an infra.local.clock.LocalClock
    health: HealthSource | None = None
    cors: CorsConfig | None = None
    stage: str = "$default"
    account_id: str = "123456789012"
    static: StaticSite | None = None  # the built dashboard under /dashboard
    demo_store: DemoStorefront | None = None  # /demo-store and the built widget under /widget
    _routes: list[HttpRoute] = field(default_factory=list, init=False)
    _owners: dict[HttpRoute, FunctionSpec] = field(default_factory=dict, init=False)
    _openapi: dict[str, Any] | None = field(default=None, init=False)
    _openapi_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    local_routes: list[LocalRoute] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        for spec in self.functions:
            for route in spec.http_routes:
                if route in self._owners:
                    raise ValueError(f"route {route.route_key} is declared by two functions")
                self._routes.append(route)
                self._owners[route] = spec
        if self.openapi_source is not None:
            self.add_route(
                "GET",
                "/openapi.json",
                lambda request, _: _json_response(200, self.openapi(request.header("host"))),
            )
        self.add_route("GET", "/docs", self._docs, prefix=True)  # Swagger UI, assets from a package
        if self.trigger_schedule is not None:
            self.add_route("GET", SCHEDULE_PREFIX.rstrip("/"), self._list_schedules)
            self.add_route("*", SCHEDULE_PREFIX, self._schedule_route, prefix=True)
        if self.clock is not None:
            self.add_route("GET", CLOCK_PATH, lambda *_: _json_response(200, self.clock.status()))
            self.add_route("POST", CLOCK_PATH, self._move_clock)

    @staticmethod
    def _docs(request: LocalRequest, path: str) -> ResponseParts:
        return swagger.serve(path) or _json_response(404, {"message": "Not Found"})

    def add_route(self, method: str, path: str, handler: LocalHandler, *, prefix: bool = False) -> None:
        """Answer ``method path`` (``*``: any method) locally, before the template's routes."""
        self.local_routes.append(LocalRoute(method.upper(), path, handler, prefix))

    @property
    def routes(self) -> list[HttpRoute]:
        return list(self._routes)

    def handle(self, request: LocalRequest) -> ResponseParts:
        raw_path, _, query = request.target.partition("?")
        path = unquote(raw_path)
        method = request.method.upper()
        local = self._local_route(method, path, request)
        if local is not None:
            return local
        origin = request.header("origin")
        if self.cors and method == "OPTIONS" and origin and request.header("access-control-request-method"):
            headers = self.cors.preflight(origin, request.header("access-control-request-headers") or "")
            return 204, headers, b""
        matched = match_route(self._routes, method, path)
        if matched is None:
            status, headers, body = _json_response(404, {"message": "Not Found"})
        else:
            route, params = matched
            status, headers, body = self._call(
                self._owners[route], route=route, params=params, path=path, query=query, request=request
            )
            if method == "GET" and path == HEALTH_PATH:
                status, headers, body = self._with_local_health((status, headers, body))
        if self.cors:
            headers = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            headers += self.cors.response_headers(origin)
        return status, headers, body

    def _call(
        self,
        spec: FunctionSpec,
        *,
        route: HttpRoute,
        params: dict[str, str],
        path: str,
        query: str,
        request: LocalRequest,
    ) -> ResponseParts:
        event = build_http_event(
            method=request.method,
            raw_path=path,
            route_key=route.route_key,
            path_parameters=params,
            headers=request.headers,
            raw_query_string=query,
            body=request.body,
            source_ip=request.source_ip,
            stage=self.stage,
            account_id=self.account_id,
        )
        request_id = event["requestContext"]["requestId"]
        try:
            status, headers, body = to_http_response(self.invoke(spec, event))
        except Exception:
            log.exception("%s failed on %s %s", spec.logical_id, request.method, path)
            status, headers, body = _json_response(500, {"message": "Internal Server Error"})
        return status, [*headers, ("apigw-requestid", request_id)], body

    def _internal(self, method: str, target: str, headers: dict[str, str], body: bytes) -> ResponseParts:
        """A request from the local extras (the demo store's token endpoint) through the API."""
        return self.handle(LocalRequest(method, target, list(headers.items()), body))

    def _site(self, method: str, path: str, request: LocalRequest) -> ResponseParts | None:
        """Static files: the dashboard, the demo store and the widget."""
        if self.static is not None and (served := self.static.serve(method, path)) is not None:
            return served
        if self.demo_store is not None:
            return self.demo_store.serve(method, path, request.target.partition("?")[2], self._internal)
        return None

    def _local_route(self, method: str, path: str, request: LocalRequest) -> ResponseParts | None:
        if (served := self._site(method, path, request)) is not None:
            return served
        for route in self.local_routes:
            if route.matches(method, path):
                return route.handler(request, path)
        return None

    def _list_schedules(self, request: LocalRequest, path: str) -> ResponseParts:
        return _json_response(
            200,
            [
                {
                    "function": function,
                    "event": event,
                    "schedule": expression,
                    "run_now": f"POST {SCHEDULE_PREFIX}{function}/{event}",
                }
                for function, event, expression in self.schedules
            ],
        )

    def _schedule_route(self, request: LocalRequest, path: str) -> ResponseParts:
        parts = path[len(SCHEDULE_PREFIX) :].split("/")
        if request.method.upper() != "POST" or len(parts) != 2 or self.trigger_schedule is None:
            return _json_response(404, {"message": "Not Found"})
        return self._run_schedule(self.trigger_schedule, parts[0], parts[1])

    def _move_clock(self, request: LocalRequest, path: str) -> ResponseParts:
        from infra.local.clock import ClockError  # noqa: PLC0415 - the clock is optional

        try:
            return _json_response(200, self.clock.move(json.loads(request.body or b"null")))
        except (ClockError, json.JSONDecodeError) as exc:
            return _problem(400, "Invalid clock request", str(exc))

    def _with_local_health(self, response: ResponseParts) -> ResponseParts:
        status, headers, body = response
        if self.health is None or status != 200:
            return response
        try:
            document = json.loads(body)
        except ValueError:
            return response
        local = self.health()
        document["local"] = local
        if not local.get("healthy", True):
            document["status"] = "degraded"
            status = 503
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        return status, headers, json.dumps(document, separators=(",", ":")).encode()

    @staticmethod
    def _run_schedule(trigger: ScheduleTrigger, function_id: str, event_name: str) -> ResponseParts:
        try:
            result = trigger(function_id, event_name)
        except KeyError:
            return _json_response(404, {"message": "Not Found"})
        except Exception as exc:
            log.exception("schedule %s.%s failed", function_id, event_name)
            return _json_response(500, {"message": "Internal Server Error", "error": str(exc)})
        return _json_response(200, result)

    def openapi(self, host: str | None = None) -> dict[str, Any]:
        """The merged document (built once), with ``servers`` pointing at this server."""
        with self._openapi_lock:
            if self._openapi is None and self.openapi_source is not None:
                self._openapi = merge_openapi(self.openapi_source())
            document = dict(self._openapi or merge_openapi([]))
        if host:
            document["servers"] = [{"url": f"http://{host}"}]
        return document


def _json_response(status: int, payload: Any) -> ResponseParts:
    return status, [("content-type", JSON)], json.dumps(payload, separators=(",", ":")).encode()


def _problem(status: int, title: str, detail: str) -> ResponseParts:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return status, [("content-type", "application/problem+json")], json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway offers
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stalls
    timeout = READ_TIMEOUT_SECONDS  # every socket read: request line, headers, body
    server: LocalHttpServer

    def handle_one_request(self) -> None:
        """Wait up to :data:`IDLE_TIMEOUT_SECONDS` for a request to begin, then read it under the
        read timeout."""
        self.connection.settimeout(IDLE_TIMEOUT_SECONDS)
        try:
            if not self.rfile.peek(1):  # type: ignore[attr-defined]
                self.close_connection = True
                return
        except OSError:  # idle too long (TimeoutError) or reset by the client
            self.close_connection = True
            return
        self.connection.settimeout(self.timeout)
        super().handle_one_request()

    def _serve(self) -> None:
        started = time.monotonic()
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(400, [("content-type", JSON)], b'{"message":"Bad Request"}')
            return
        except TimeoutError:
            log.warning("%s %s: the body did not arrive within %.0f s", self.command, self.path, self.timeout)
            self.close_connection = True
            self._send(408, [("content-type", JSON)], b'{"message":"Request Timeout"}')
            return
        request = LocalRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            status, headers, payload = self.server.api.handle(request)
        except Exception:
            log.exception("local server error on %s %s", self.command, self.path)
            status, headers, payload = _json_response(500, {"message": "Internal Server Error"})
        self._send(status, headers, payload)
        elapsed_ms = (time.monotonic() - started) * 1000
        log.info("%s %s %d %.1fms", self.command, self.path.split("?", 1)[0], status, elapsed_ms)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length < 0:
            raise ValueError("negative content-length")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise ValueError("the connection closed before the whole body arrived")
        return body

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, QUERY...) is routed too: no route matches it, so 404, as on AWS."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: :meth:`_serve` logs one line per request."""

    def send_response(self, code: int, message: str | None = None) -> None:
        # No Server/Date noise beyond what API Gateway sends.
        self.send_response_only(code, message)
        self.send_header("date", self.date_time_string())


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG  # socketserver's default of 5 resets bursts of connections

    def __init__(self, address: tuple[str, int], api: LocalApi) -> None:
        self.api = api
        super().__init__(address, _Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        """Serve on a daemon thread; the socket is already listening when this returns."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.name = "http"
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)
