"""The admin API end to end in-process: handlers on moto, events as API Gateway sends them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest

from infra.inprocess import InProcessApi
from infra.seed import DemoStore, seed_demo_store
from pollen.storage.client import CallCounter
from tests.support.problems import problem as _problem

PROGRAM = {
    "currency": "INR",
    "earning": {
        "coins_per_unit": "1",
        "unit_amount": "100",
        "basis": "subtotal_after_discounts",
        "excluded_product_ids": ["gid-1"],
        "excluded_tags": ["gift-card"],
        "pending_days": 14,
    },
    "coin_value": "0.25",
    "expiry": {"days": 180, "reminder_days_before": 10},
}


def _scan(table_name: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=table_name)["Items"]


def test_health_needs_no_key(api: InProcessApi) -> None:
    response = api.get("/v1/health")
    assert response.status == 200
    assert response.json()["status"] == "ok"


def test_admin_key_reads_the_demo_program(api: InProcessApi, demo: DemoStore) -> None:
    response = api.get("/v1/admin/program", key=demo.api_keys.admin)
    assert response.status == 200
    body = response.json()
    assert body["currency"] == "USD"
    assert body["coin_value"] == "0.05"
    assert body["version"] == 1
    assert response.headers["etag"] == '"1"'


@pytest.mark.parametrize("scope", ["read", "write"])
def test_under_scoped_keys_are_403(api: InProcessApi, demo: DemoStore, scope: str) -> None:
    key = getattr(demo.api_keys, scope)
    _problem(api.get("/v1/admin/program", key=key), 403)
    _problem(api.put("/v1/admin/program", key=key, json_body=PROGRAM), 403)


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "nonsense",
        "pollen.demo-store.0123456789abcdef." + "a" * 43,  # well formed, unknown id
        "pollen.other-store.0123456789abcdef." + "a" * 43,  # unknown merchant
    ],
)
def test_missing_or_unknown_keys_are_401_and_all_look_the_same(
    api: InProcessApi, demo: DemoStore, key: str | None
) -> None:
    body = _problem(api.get("/v1/admin/program", key=key), 401)
    assert body["detail"] == "A valid API key is required in the X-Api-Key header."
    assert "demo-store" not in json.dumps(body)


def test_a_real_key_id_with_a_wrong_secret_is_401(api: InProcessApi, demo: DemoStore) -> None:
    prefix, _secret = demo.api_keys.admin.rsplit(".", 1)
    _problem(api.get("/v1/admin/program", key=f"{prefix}.{'b' * 43}"), 401)


def test_auth_runs_before_body_validation(api: InProcessApi, demo: DemoStore) -> None:
    _problem(api.put("/v1/admin/program", body=b"{not json"), 401)
    _problem(api.put("/v1/admin/program", key=demo.api_keys.read, body=b"{not json"), 403)


def test_malformed_json_is_400_and_writes_nothing(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = _scan(table_name)
    body = _problem(api.put("/v1/admin/program", key=demo.api_keys.admin, body=b'{"currency": '), 400)
    assert body["type"] == "urn:pollen:problem:malformed-json"
    assert _scan(table_name) == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe\x00", "application/octet-stream"),
        (b"\xff\xfe\x00", "application/json"),
        (b"[]", "application/json"),
        (b"null", "application/json"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_4xx(
    api: InProcessApi, demo: DemoStore, table_name: str, body: bytes, content_type: str
) -> None:
    before = _scan(table_name)
    response = api.put(
        "/v1/admin/program", key=demo.api_keys.admin, body=body, headers={"content-type": content_type}
    )
    assert 400 <= response.status < 500
    assert response.content_type == "application/problem+json"
    assert _scan(table_name) == before


def test_invalid_program_lists_field_errors_and_writes_nothing(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    before = _scan(table_name)
    bad = {**PROGRAM, "currency": "rupees", "expiry": {"days": 5, "reminder_days_before": 9}}
    body = _problem(api.put("/v1/admin/program", key=demo.api_keys.admin, json_body=bad), 422)
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"currency", "expiry"}
    assert _scan(table_name) == before


def test_program_update_round_trips_with_version_and_event(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    response = api.put("/v1/admin/program", key=demo.api_keys.admin, json_body=PROGRAM)
    assert response.status == 200
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'
    read_back = api.get("/v1/admin/program", key=demo.api_keys.admin).json()
    assert {k: read_back[k] for k in PROGRAM} == PROGRAM
    events = [i for i in _scan(table_name) if i.get("event_type", {}).get("S") == "program_updated"]
    assert len(events) == 1
    assert events[0]["entity"] == {"S": "outbox"}


def test_if_match_guards_against_lost_updates(api: InProcessApi, demo: DemoStore) -> None:
    admin = demo.api_keys.admin
    first = api.put("/v1/admin/program", key=admin, json_body=PROGRAM, headers={"if-match": '"1"'})
    assert first.status == 200
    stale = api.put("/v1/admin/program", key=admin, json_body=PROGRAM, headers={"if-match": '"1"'})
    _problem(stale, 412)
    assert api.get("/v1/admin/program", key=admin).json()["version"] == 2


def test_created_key_is_shown_once_and_stored_only_as_a_hash(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    created = api.post(
        "/v1/admin/api-keys", key=demo.api_keys.admin, json_body={"name": "App", "scope": "write"}
    )
    assert created.status == 201
    assert created.headers["cache-control"] == "no-store"
    plaintext = created.json()["key"]
    secret = plaintext.rsplit(".", 1)[1]

    raw_table = json.dumps(_scan(table_name))
    for key in (plaintext, demo.api_keys.admin, demo.api_keys.read, demo.api_keys.write):
        assert key.rsplit(".", 1)[1] not in raw_table
    assert hashlib.sha256(plaintext.encode()).hexdigest() in raw_table

    listed = api.get("/v1/admin/api-keys", key=demo.api_keys.admin).json()["items"]
    assert len(listed) == 5  # the app key (public), the three server keys, and this one
    assert all("key" not in item for item in listed)
    assert secret not in json.dumps(listed)
    assert api.get("/v1/health").status == 200
    # the new key works with its own scope
    assert api.get("/v1/admin/program", key=plaintext).status == 403


def test_revocation_is_effective_at_once_on_this_container(api: InProcessApi, demo: DemoStore) -> None:
    admin = demo.api_keys.admin
    created = api.post("/v1/admin/api-keys", key=admin, json_body={"name": "Ops", "scope": "admin"}).json()
    assert api.get("/v1/admin/program", key=created["key"]).status == 200  # now cached
    assert api.delete(f"/v1/admin/api-keys/{created['key_id']}", key=admin).status == 204
    _problem(api.get("/v1/admin/program", key=created["key"]), 401)
    assert api.delete(f"/v1/admin/api-keys/{created['key_id']}", key=admin).status == 204  # idempotent
    listed = {k["key_id"]: k for k in api.get("/v1/admin/api-keys", key=admin).json()["items"]}
    assert listed[created["key_id"]]["status"] == "revoked"


def test_revoking_an_unknown_or_malformed_key_id(api: InProcessApi, demo: DemoStore) -> None:
    _problem(api.delete("/v1/admin/api-keys/0123456789abcdef", key=demo.api_keys.admin), 404)
    body = _problem(api.delete("/v1/admin/api-keys/not-hex", key=demo.api_keys.admin), 422)
    assert body["errors"][0]["location"] == "path"


def test_create_key_validates_its_body(api: InProcessApi, demo: DemoStore) -> None:
    body = _problem(api.post("/v1/admin/api-keys", key=demo.api_keys.admin, json_body={"scope": "root"}), 422)
    assert {e["field"] for e in body["errors"]} == {"name", "scope"}


def test_merchants_cannot_reach_each_other(api: InProcessApi, demo: DemoStore) -> None:
    other = seed_demo_store("http://in-process", merchant_id="other-store")
    mine = api.get("/v1/admin/api-keys", key=demo.api_keys.admin).json()["items"]
    theirs = api.get("/v1/admin/api-keys", key=other.api_keys.admin).json()["items"]
    assert not {k["key_id"] for k in mine} & {k["key_id"] for k in theirs}
    victim = theirs[0]["key_id"]
    _problem(api.delete(f"/v1/admin/api-keys/{victim}", key=demo.api_keys.admin), 404)
    assert api.get("/v1/admin/program", key=other.api_keys.admin).status == 200


def test_unknown_route_is_a_gateway_404(api: InProcessApi, demo: DemoStore) -> None:
    assert api.get("/v1/admin/nothing-here", key=demo.api_keys.admin).status == 404


def test_warm_requests_cost_no_dynamodb_call_for_auth_or_config(
    api: InProcessApi, demo: DemoStore, calls: CallCounter
) -> None:
    admin = demo.api_keys.admin
    api.get("/v1/admin/program", key=admin)  # cold: key GetItem + config Query
    assert calls.snapshot() == {"GetItem": 1, "Query": 1}
    api.get("/v1/admin/program", key=admin)
    assert calls.total == 0
    api.get("/v1/admin/api-keys", key=admin)
    assert calls.snapshot() == {"Query": 1}
