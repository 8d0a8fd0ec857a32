"""The OpenAPI document tells the truth: every operation, sent its sample request (events/) and the
usual wrong ones, answers only statuses the document declares for it, errors as problem+json.

The document is the one ``make dev`` serves at ``/openapi.json`` (every HTTP function's, merged).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from infra.inprocess import ApiResponse, InProcessApi
from infra.local.server import merge_openapi
from infra.seed import DemoStore
from pollen.api.problems import PROBLEM_CONTENT_TYPE, Problem

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = {
    # a function URL's sample (route key ``$default``: Shopify's webhooks) stands for the route of its path
    (
        event["requestContext"]["http"]["method"].lower(),
        event["routeKey"].partition(" ")[2] or event["rawPath"],
    ): event
    for event in (json.loads(p.read_text()) for p in sorted((ROOT / "events").glob("*.json")))
    if isinstance(event, dict) and "http" in event.get("requestContext", {})
}


@pytest.fixture
def spec(api: InProcessApi) -> dict[str, Any]:
    documents = []
    for function in api.functions:
        if function.http_routes:
            app = importlib.import_module(function.module).app
            documents.append(json.loads(app.get_openapi_json_schema()))
    return merge_openapi(documents)


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def _send(api: InProcessApi, event: dict[str, Any], **change: Any) -> ApiResponse:
    headers = {k: v for k, v in event["headers"].items() if k not in ("content-length", "x-api-key")}
    headers.update(change.pop("headers", {}))
    body = change.pop("body", (event.get("body") or "").encode())
    query = dict(event.get("queryStringParameters") or {})
    return api.request(
        event["requestContext"]["http"]["method"],
        event["rawPath"],
        key=change.pop("key", None),
        body=body,
        headers=headers,
        query=query,
    )


def _declared(operation: dict[str, Any], response: ApiResponse, what: str) -> None:
    declared = operation["responses"]
    assert str(response.status) in declared, f"{what}: {response.status} not declared ({sorted(declared)})"
    if response.status >= 400 and response.content_type == PROBLEM_CONTENT_TYPE:
        Problem.model_validate_json(response.body)
        assert PROBLEM_CONTENT_TYPE in declared[str(response.status)]["content"]
    elif response.status >= 400:
        pytest.fail(f"{what}: {response.status} is not a problem: {response.body[:200]!r}")


def test_every_operation_has_a_sample_and_says_how_it_is_secured(spec: dict[str, Any]) -> None:
    for method, path, operation in _operations(spec):
        assert (method, path) in SAMPLES, f"no sample event for {method.upper()} {path}"
        assert "security" in operation, f"{method.upper()} {path} declares no security"
        for status, answer in operation["responses"].items():
            assert answer.get("description"), f"{method.upper()} {path} {status} has no description"
    secured = [op for _, _, op in _operations(spec) if op["security"]]
    assert secured
    assert all(op["security"] == [{"ApiKey": []}] for op in secured)
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }


def test_every_operation_answers_what_it_declares(
    spec: dict[str, Any], api: InProcessApi, demo: DemoStore
) -> None:
    """Sample request with an admin key, then no key, an under-scoped key, and four bad bodies."""
    for method, path, operation in _operations(spec):
        event = SAMPLES[(method, path)]
        what = f"{method.upper()} {path}"
        key = demo.api_keys.admin if operation["security"] else None
        _declared(operation, _send(api, event, key=key), what)
        if operation["security"]:
            _declared(operation, _send(api, event), f"{what} without a key")
            _declared(operation, _send(api, event, key=demo.api_keys.read), f"{what} with a read key")
        for name, body, headers in [
            ("duplicate keys", b'{"a": 1, "a": 2}', {"content-type": "application/json"}),
            ("deep JSON", b"[" * 5000 + b"]" * 5000, {"content-type": "application/json"}),
            ("a huge body", b'"' + b"x" * 300_000 + b'"', {"content-type": "application/json"}),
            ("multipart without boundary", b"--x\r\n", {"content-type": "multipart/form-data"}),
        ]:
            response = _send(api, event, key=key, body=body, headers=headers)
            assert 400 <= response.status < 500, f"{what} with {name}: {response.status}"
            _declared(operation, response, f"{what} with {name}")
