"""The acceptance checks of the foundation, over HTTP against `make dev`'s stack."""

from __future__ import annotations

import hashlib
import json
import time

import boto3
import httpx
import pytest

from tests.e2e.conftest import LocalStack
from tests.support.problems import problem as _problem

pytestmark = pytest.mark.e2e


def test_demo_store_file_has_the_documented_shape(stack: LocalStack) -> None:
    assert set(stack.demo) == {"base_url", "merchant_id", "api_keys", "shopify"}
    assert stack.demo["base_url"] == stack.base_url
    assert set(stack.demo["api_keys"]) == {"public", "read", "write", "admin"}
    assert set(stack.demo["shopify"]) == {"shop_domain", "webhook_secret"}


def test_health(http: httpx.Client) -> None:
    response = http.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_program_by_scope(http: httpx.Client, stack: LocalStack) -> None:
    response = http.get("/v1/admin/program", headers={"X-Api-Key": stack.key("admin")})
    assert response.status_code == 200
    assert response.json()["currency"] == "USD"
    _problem(http.get("/v1/admin/program", headers={"X-Api-Key": stack.key("read")}), 403)
    _problem(http.get("/v1/admin/program"), 401)


def test_malformed_json_is_a_400_problem(http: httpx.Client, stack: LocalStack) -> None:
    response = http.put(
        "/v1/admin/program",
        content=b'{"currency": "USD",',
        headers={"X-Api-Key": stack.key("admin"), "Content-Type": "application/json"},
    )
    _problem(response, 400)


def test_a_program_change_flows_through_the_outbox_stream(http: httpx.Client, stack: LocalStack) -> None:
    admin = {"X-Api-Key": stack.key("admin")}
    current = http.get("/v1/admin/program", headers=admin)
    body = {k: current.json()[k] for k in ("currency", "earning", "coin_value", "expiry")}
    body["coin_value"] = "0.07"
    updated = http.put("/v1/admin/program", json=body, headers={**admin, "If-Match": current.headers["etag"]})
    assert updated.status_code == 200
    assert updated.json()["coin_value"] == "0.07"
    deadline = time.monotonic() + 20
    while "program_updated" not in stack.log():
        assert time.monotonic() < deadline, "event_router never saw the outbox event"
        time.sleep(0.2)


def test_keys_are_stored_only_as_hashes(http: httpx.Client, stack: LocalStack) -> None:
    created = http.post(
        "/v1/admin/api-keys",
        json={"name": "e2e", "scope": "write"},
        headers={"X-Api-Key": stack.key("admin")},
    )
    assert created.status_code == 201
    plaintext = created.json()["key"]
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=stack.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (table,) = [t for t in ddb.list_tables()["TableNames"] if "PollenTable" in t]
    dump = json.dumps(ddb.scan(TableName=table)["Items"])
    assert plaintext.rsplit(".", 1)[1] not in dump
    assert hashlib.sha256(plaintext.encode()).hexdigest() in dump


def test_openapi_and_docs(http: httpx.Client) -> None:
    spec = http.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"/v1/health", "/v1/admin/api-keys", "/v1/admin/api-keys/{key_id}", "/v1/admin/program"} <= set(
        paths
    )
    docs = http.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


BAD_REQUESTS = [
    ("GET", "/v1/admin/program", {"X-Api-Key": "x" * 5000}, None),
    ("PUT", "/v1/admin/program", {}, b"\xff\xfe"),
    ("PUT", "/v1/admin/program", {"Content-Type": "application/json"}, b"[]"),
    ("PUT", "/v1/admin/program", {"Content-Type": "application/json"}, b'{"currency": 5}'),
    ("PUT", "/v1/admin/program", {"Content-Type": "text/plain"}, b"hello"),
    ("POST", "/v1/admin/api-keys", {"Content-Type": "application/json"}, b'{"name": "", "scope": "read"}'),
    ("POST", "/v1/admin/api-keys", {"Content-Type": "application/json"}, b"null"),
    ("DELETE", "/v1/admin/api-keys/%00%00", {}, None),
    ("DELETE", "/v1/admin/api-keys/" + "a" * 300, {}, None),
    ("GET", "/v1/nowhere", {}, None),
    ("POST", "/v1/health", {}, None),
]


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=[f"{m} {p[:40]}" for m, p, _, _ in BAD_REQUESTS])
def test_bad_input_is_never_a_500(
    http: httpx.Client, stack: LocalStack, case: tuple[str, str, dict[str, str], bytes | None]
) -> None:
    method, path, extra, body = case
    headers = {"X-Api-Key": stack.key("admin"), **extra}
    response = http.request(method, path, headers=headers, content=body)
    assert 400 <= response.status_code < 500, response.text
