"""Routers included on first use (``PollenResolver.include_lazily``, docs/design.md "Cold start"):
each function's declared path prefixes must cover every route of the router they name and no route of
another, so the areas a process happens to have included never change which route a path matches;
a cold start imports none of them; a request includes the areas its path needs and no other; the
document is the same whatever came first."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Route, Router

from infra.apigw import FakeLambdaContext
from infra.cold_start import functions
from pollen.api.app import PollenResolver, create_app, prefix_pattern
from pollen.api.auth import public

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "TABLE_NAME": "pollen",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "Pollen",
    "POWERTOOLS_SERVICE_NAME": "pollen",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
HTTP = [f"functions.{f.name}.app" for f in functions() if f.kind == "http"]


def app_of(module: str) -> PollenResolver:
    app = importlib.import_module(module).app
    assert isinstance(app, PollenResolver)
    return app


def sample_path(rule: str) -> str:
    """A concrete path the rule matches (each ``<name>`` segment filled in)."""
    return re.sub(r"<\w+>", "x1", rule)


def test_a_prefix_covers_itself_and_what_is_below_it_and_a_star_one_segment() -> None:
    pattern = prefix_pattern(("/v1/admin/shopify", "/v1/customers/*/tier"))
    for path in ("/v1/admin/shopify", "/v1/admin/shopify/rejected-webhooks", "/v1/customers/c-1/tier"):
        assert pattern.match(path), path
    for path in (
        "/v1/admin/shopifyx",
        "/v1/admin",
        "/v1/customers/c-1",
        "/v1/customers/a/b/tier",
        "/x/v1/admin/shopify",
    ):
        assert not pattern.match(path), path


def test_concurrent_first_requests_include_an_area_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sixteen threads asking for a not yet included area at once (the local server's document route
    and a request can): one router include, and every request then answered. The requests themselves
    run one at a time, as in Lambda: Powertools keeps the current request on its router class."""
    router = Router()  # type: ignore[no-untyped-call]
    area = types.ModuleType("lazy_area_for_test")
    area.__dict__["router"] = router
    imports = []

    @router.get("/v1/lazy-test/ping")
    @public
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    def slow_import(name: str) -> types.ModuleType:
        imports.append(name)
        time.sleep(0.05)  # a real router's import takes long enough for the others to arrive
        return area

    monkeypatch.setattr("pollen.api.app.import_module", slow_import)
    for name, setting in ENV.items():
        monkeypatch.setenv(name, setting)
    app = create_app(title="lazy test")
    app.include_lazily("lazy_area_for_test", "/v1/lazy-test")
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/v1/lazy-test/ping",
        "rawQueryString": "",
        "headers": {},
        "isBase64Encoded": False,
        "requestContext": {
            "http": {"method": "GET", "path": "/v1/lazy-test/ping", "sourceIp": "127.0.0.1"},
            "stage": "$default",
            "requestId": "r",
        },
    }
    start = threading.Barrier(16)

    def first_use() -> None:
        start.wait()
        app.include_for("/v1/lazy-test/ping")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _n: first_use(), range(16)))
    answers = [
        int(app.resolve(event, cast("Any", FakeLambdaContext("pollen-test")))["statusCode"])
        for _ in range(16)
    ]
    assert answers == [200] * 16
    assert imports == ["lazy_area_for_test"]
    assert [r.path for r in [*app._static_routes, *app._dynamic_routes]] == ["/v1/lazy-test/ping"]


@pytest.mark.parametrize("module", HTTP)
def test_each_lazy_router_is_covered_by_its_prefixes_and_no_route_is_shared(module: str) -> None:
    app = app_of(module)
    lazy = dict(app._lazy)
    for area, pattern in lazy.items():
        router = importlib.import_module(area).router
        for rule, *_ in router._routes:
            assert pattern.match(sample_path(rule)), f"{area}: {rule} is outside {pattern.pattern}"
        for route_key, func in router._routes.items():
            assert func.__module__ == area, f"{route_key}: declared in {func.__module__}, not {area}"
    app.include_all()
    routes: list[Route] = [*app._static_routes, *app._dynamic_routes]
    for route in routes:
        path = sample_path(route.path)
        owner = route.func.__module__
        others = {r.func.__module__ for r in routes if r.func.__module__ != owner and r.rule.match(path)}
        assert not others, f"{route.method} {route.path} ({owner}) also matches routes of {others}"
        if owner not in lazy:  # an eager route: no lazy area may be included for its path
            assert not [m for m, p in lazy.items() if p.match(path)], route.path


def test_the_admin_cold_start_imports_no_area_and_a_request_only_its_own() -> None:
    code = """
import sys
import app
from infra.inprocess import FakeLambdaContext

areas = list(app.app._lazy)
assert not [m for m in areas if m in sys.modules], "imported at init"
event = {
    "version": "2.0", "routeKey": "$default", "rawPath": "/v1/admin/orders/o-1", "rawQueryString": "",
    "headers": {}, "isBase64Encoded": False,
    "requestContext": {"http": {"method": "GET", "path": "/v1/admin/orders/o-1", "sourceIp": "127.0.0.1"},
                       "stage": "$default", "requestId": "r"},
}
answer = app.lambda_handler(event, FakeLambdaContext("pollen-admin"))
assert answer["statusCode"] == 401, answer
assert [m for m in areas if m in sys.modules] == ["pollen.api.routers.orders"], sys.modules.keys()
"""
    paths = [str(ROOT / "functions" / "admin"), str(ROOT / "layers" / "pollen"), str(ROOT)]
    env = {"PYTHONPATH": ":".join(paths), **ENV}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_document_does_not_depend_on_which_areas_requests_included_first() -> None:
    code = """
import json, sys
import app
from infra.inprocess import FakeLambdaContext

if sys.argv[1] == "after-requests":
    for path in ("/v1/admin/tiers", "/v1/admin/widget", "/v1/admin/api-keys"):
        event = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
                 "headers": {}, "isBase64Encoded": False,
                 "requestContext": {"http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
                                    "stage": "$default", "requestId": "r"}}
        app.lambda_handler(event, FakeLambdaContext("pollen-admin"))
print(app.app.get_openapi_json_schema())
"""
    paths = [str(ROOT / "functions" / "admin"), str(ROOT / "layers" / "pollen"), str(ROOT)]
    env = {"PYTHONPATH": ":".join(paths), **ENV}
    documents = []
    for order in ("fresh", "after-requests"):
        done = subprocess.run(
            [sys.executable, "-c", code, order], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr[-3000:]
        documents.append(done.stdout.splitlines()[-1])  # the metrics lines come first
    assert documents[0] == documents[1]
    assert len(json.loads(documents[0])["paths"]) > 25
