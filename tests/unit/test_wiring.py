"""template.yaml, the handlers and events/ describe the same system, and every route declares auth."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from pollen.api.app import PollenResolver
from pollen.api.auth import PUBLIC, requirement_of
from tests.support.events import load_event, sample_names

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_ROUTES = {"GET /v1/health", "POST /webhooks/shopify", "GET /v1/shopify/app-proxy/customer-token"}
# Declared in the template but not yet wired to any event: their issues add routes (and samples),
# and must remove them from this set when they do.
AWAITING_ROUTES: set[str] = set()
# Invoked by CloudFormation as custom resources (the template checks it below), never by events.
CUSTOM_RESOURCES = {"dashboard_publisher"}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Function code dir → its template properties."""
    found = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            props = resource["Properties"]
            found[props["CodeUri"].strip("/").removeprefix("functions/")] = props
    return found


def _template_routes(props: dict[str, Any]) -> set[str]:
    return {
        f"{e['Properties']['Method'].upper()} {e['Properties']['Path']}"
        for e in (props.get("Events") or {}).values()
        if e["Type"] == "HttpApi"
    }


def _handler_routes(module: Any) -> dict[str, Any]:
    app = getattr(module, "app", None)
    if app is None:
        return {}
    assert isinstance(app, PollenResolver), "HTTP functions build their resolver with create_app()"
    app.include_all()  # the routers a function includes on first use too
    routes = {}
    for route in [*app._static_routes, *app._dynamic_routes]:
        path = re.sub(r"<(\w+)>", r"{\1}", route.path)
        routes[f"{route.method.upper()} {path}"] = route.func
    return routes


def test_every_function_dir_is_declared_and_every_declared_function_exists(template: dict[str, Any]) -> None:
    declared = set(_functions(template))
    on_disk = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")}
    assert declared == on_disk
    for name, props in _functions(template).items():
        assert props["Handler"] == "app.lambda_handler"
        module = importlib.import_module(f"functions.{name}.app")
        assert callable(module.lambda_handler)


def test_template_routes_match_handler_routes(template: dict[str, Any]) -> None:
    for name, props in _functions(template).items():
        module = importlib.import_module(f"functions.{name}.app")
        assert _template_routes(props) == set(_handler_routes(module)), name


def test_every_route_has_a_sample_event_and_every_http_sample_a_route(template: dict[str, Any]) -> None:
    without_events = {name for name, props in _functions(template).items() if not props.get("Events")}
    assert without_events - CUSTOM_RESOURCES == AWAITING_ROUTES
    for name, props in _functions(template).items():
        samples = [n for n in sample_names() if n.startswith(f"{name}_")]
        assert samples or name in AWAITING_ROUTES | CUSTOM_RESOURCES, f"{name} has no sample in events/"
        http_samples = {_route_of(load_event(n)) for n in samples if load_event(n).get("version") == "2.0"}
        assert http_samples == _template_routes(props), name


def _route_of(event: dict[str, Any]) -> str:
    """An HTTP API event's route key; a function URL's event (``$default``: Shopify's webhooks) is
    the same route the HTTP API also serves."""
    if event["routeKey"] == "$default":
        return f"{event['requestContext']['http']['method']} {event['rawPath']}"
    return str(event["routeKey"])


@pytest.mark.parametrize("sample", sample_names())
def test_every_sample_belongs_to_a_function(template: dict[str, Any], sample: str) -> None:
    assert any(sample.startswith(f"{name}_") for name in _functions(template))


def test_every_route_declares_auth_and_only_health_and_webhooks_are_public(template: dict[str, Any]) -> None:
    public = set()
    for name in _functions(template):
        for route_key, func in _handler_routes(importlib.import_module(f"functions.{name}.app")).items():
            requirement = requirement_of(func)
            assert requirement is not None, f"{route_key} declares no auth"
            if requirement == PUBLIC:
                public.add(route_key)
    assert public == PUBLIC_ROUTES


def test_custom_resource_functions_are_service_tokens_of_custom_resources(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    tokens = {
        r["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
        for r in resources.values()
        if r["Type"].startswith("Custom::")
    }
    dirs = {resources[t]["Properties"]["CodeUri"].strip("/").removeprefix("functions/") for t in tokens}
    assert dirs == CUSTOM_RESOURCES
    for name in CUSTOM_RESOURCES:
        assert not _functions(template)[name].get("Events"), name
