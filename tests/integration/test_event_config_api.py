"""The events configuration admin API, in-process on moto: event types, integrations, subscriptions
and the switch, and that what it writes is what routing reads (``events_config``)."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
import pytest

from infra.inprocess import ApiResponse, InProcessApi
from infra.seed import DemoStore
from pollen.domain.integrations import IntegrationKind, PrimarySelector, webhook_secret_key
from pollen.events.catalogue import DELIVERABLE, sample_event
from pollen.services.container import container
from pollen.storage.event_config import events_config
from tests.support.integrations import NOW, WEBHOOK_SECRET, customer
from tests.support.problems import problem as _problem

KLAVIYO_KEY = "pk_live_0123456789abcdef0123456789wxyz"
SUBS = "/v1/admin/event-subscriptions"


def _fields(response: ApiResponse) -> list[str]:
    return [e["field"] for e in _problem(response, 422)["errors"]]


def _config(demo: DemoStore) -> Any:
    config = container().config.get(demo.merchant_id)
    assert config is not None
    return events_config(config)


def _outbox(table_name: str, event_type: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [i for i in items if i.get("event_type", {}).get("S") == event_type]


def _klaviyo(api: InProcessApi, demo: DemoStore, integration_id: str = "klaviyo", **body: Any) -> ApiResponse:
    payload = {"kind": "klaviyo", "api_key": KLAVIYO_KEY, "primary_selector": "email", **body}
    return api.put(f"/v1/admin/integrations/{integration_id}", key=demo.api_keys.admin, json_body=payload)


def _subscribe(api: InProcessApi, demo: DemoStore, **body: Any) -> ApiResponse:
    payload = {"event": "wallet_transaction", "integration_id": "klaviyo", **body}
    return api.post(SUBS, key=demo.api_keys.admin, json_body=payload)


# ---- event types ---------------------------------------------------------------------------------


def test_event_types_list_the_catalogue(api: InProcessApi, demo: DemoStore) -> None:
    response = api.get("/v1/admin/event-types", key=demo.api_keys.admin)
    assert response.status == 200
    items = {item["name"]: item for item in response.json()["items"]}
    assert set(items) == {
        "wallet_transaction",
        "coupon_created",
        "coupon_used",
        "coins_expiring",
        "customer_created",
        "profile_updated",
        "tier_changed",
        "tier_expiring",
        "referral_invited",
        "referral_signed_up",
        "referral_completed",
        "referral_rejected",
        "referral_incomplete",
        "review_request",
    }
    wallet = items["wallet_transaction"]
    assert wallet["display_name"] == "Wallet Transaction"
    assert wallet["filters"] == ["transaction_types", "operations"]
    assert "transaction_type" in wallet["fields"]
    assert items["coupon_created"]["display_name"] == "Coupon Is Created"
    assert items["coupon_created"]["filters"] == []


# ---- integrations --------------------------------------------------------------------------------


def test_a_klaviyo_integration_is_created_read_masked_and_replaced(
    api: InProcessApi, demo: DemoStore, table_name: str
) -> None:
    created = _klaviyo(api, demo)
    assert created.status == 201, created.body
    assert created.headers["location"] == "/v1/admin/integrations/klaviyo"
    body = created.json()
    assert body["kind"] == "klaviyo"
    assert body["masked_api_key"] == "pk_…wxyz"
    assert body["primary_selector"] == "email"
    assert body["secret"] is None
    assert KLAVIYO_KEY not in created.body.decode()

    read = api.get("/v1/admin/integrations/klaviyo", key=demo.api_keys.admin)
    assert read.status == 200
    assert KLAVIYO_KEY not in read.body.decode()
    assert read.json()["masked_api_key"] == "pk_…wxyz"
    listed = api.get("/v1/admin/integrations", key=demo.api_keys.admin)
    assert [i["integration_id"] for i in listed.json()["items"]] == ["klaviyo"]
    assert KLAVIYO_KEY not in listed.body.decode()

    # toggled off without re-entering the key: the stored key is kept
    toggled = api.put(
        "/v1/admin/integrations/klaviyo",
        key=demo.api_keys.admin,
        json_body={"kind": "klaviyo", "primary_selector": "mobile", "enabled": False},
    )
    assert toggled.status == 200, toggled.body
    assert toggled.json()["enabled"] is False
    assert toggled.json()["created_at"] == body["created_at"]
    stored = _config(demo).integrations["klaviyo"]
    assert stored.api_key == KLAVIYO_KEY
    assert stored.enabled is False
    assert stored.primary_selector == PrimarySelector.MOBILE

    # the outbox tells of both writes, never with the key
    audit = _outbox(table_name, "integration_updated")
    assert len(audit) == 2
    assert all(KLAVIYO_KEY not in str(item) for item in audit)


def test_a_webhook_secret_is_generated_and_shown_once(api: InProcessApi, demo: DemoStore) -> None:
    created = api.put(
        "/v1/admin/integrations/hook",
        key=demo.api_keys.admin,
        json_body={"kind": "webhook", "url": "https://hooks.example.com/pollen"},
    )
    assert created.status == 201, created.body
    assert created.headers["cache-control"] == "no-store"
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    assert len(webhook_secret_key(secret)) == 32
    assert created.json()["masked_secret"] == f"whsec_…{secret[-4:]}"

    read = api.get("/v1/admin/integrations/hook", key=demo.api_keys.admin).json()
    assert "secret" not in read
    assert read["masked_secret"] == f"whsec_…{secret[-4:]}"
    assert secret not in api.get("/v1/admin/integrations", key=demo.api_keys.admin).body.decode()

    # replacing without a secret keeps it and shows nothing
    moved = api.put(
        "/v1/admin/integrations/hook",
        key=demo.api_keys.admin,
        json_body={"kind": "webhook", "url": "http://localhost:9000/hook", "enabled": True},
    )
    assert moved.status == 200
    assert moved.json()["secret"] is None
    assert _config(demo).integrations["hook"].secret == secret
    assert _config(demo).integrations["hook"].url == "http://localhost:9000/hook"

    # a secret the merchant brings is stored, never echoed
    chosen = api.put(
        "/v1/admin/integrations/hook",
        key=demo.api_keys.admin,
        json_body={"kind": "webhook", "url": "https://hooks.example.com/pollen", "secret": WEBHOOK_SECRET},
    )
    assert chosen.json()["secret"] is None
    assert WEBHOOK_SECRET not in chosen.body.decode()
    assert _config(demo).integrations["hook"].secret == WEBHOOK_SECRET


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "mailchimp", "api_key": "k"}, None),
        ({"kind": "klaviyo"}, "api_key"),
        ({"kind": "omnisend", "api_key": "k", "primary_selector": "sms"}, "primary_selector"),
        ({"kind": "webhook", "url": "http://hooks.example.com/x"}, "url"),
        ({"kind": "webhook", "url": "https://hooks.example.com/x", "secret": "whsec_dG9vIHNob3J0"}, "secret"),
        ({"kind": "klaviyo", "api_key": "k", "surprise": 1}, "surprise"),
    ],
)
def test_bad_integrations_are_422_and_write_nothing(
    api: InProcessApi, demo: DemoStore, body: dict[str, Any], field: str | None
) -> None:
    response = api.put("/v1/admin/integrations/x", key=demo.api_keys.admin, json_body=body)
    fields = _fields(response)
    if field is not None:
        assert any(f.endswith(field) for f in fields), fields
    assert _config(demo).integrations == {}


def test_changing_kind_needs_the_new_kinds_credentials(api: InProcessApi, demo: DemoStore) -> None:
    assert _klaviyo(api, demo).status == 201
    assert _fields(
        api.put("/v1/admin/integrations/klaviyo", key=demo.api_keys.admin, json_body={"kind": "omnisend"})
    ) == ["api_key"]
    assert _config(demo).integrations["klaviyo"].kind == IntegrationKind.KLAVIYO


def test_unknown_integrations_are_404(api: InProcessApi, demo: DemoStore) -> None:
    _problem(api.get("/v1/admin/integrations/nope", key=demo.api_keys.admin), 404)
    _problem(api.delete("/v1/admin/integrations/nope", key=demo.api_keys.admin), 404)
    _fields(api.get("/v1/admin/integrations/Not%23Valid", key=demo.api_keys.admin))


def test_an_integration_in_use_cannot_be_deleted(api: InProcessApi, demo: DemoStore) -> None:
    assert _klaviyo(api, demo).status == 201
    sub_id = _subscribe(api, demo).json()["subscription_id"]
    refused = _problem(api.delete("/v1/admin/integrations/klaviyo", key=demo.api_keys.admin), 409)
    assert sub_id in refused["detail"]
    assert "klaviyo" in _config(demo).integrations

    assert api.delete(f"{SUBS}/{sub_id}", key=demo.api_keys.admin).status == 204
    assert api.delete("/v1/admin/integrations/klaviyo", key=demo.api_keys.admin).status == 204
    _problem(api.get("/v1/admin/integrations/klaviyo", key=demo.api_keys.admin), 404)
    assert _config(demo).integrations == {}


# ---- subscriptions -------------------------------------------------------------------------------


def test_subscriptions_are_created_read_replaced_and_deleted(api: InProcessApi, demo: DemoStore) -> None:
    assert _klaviyo(api, demo).status == 201
    created = _subscribe(
        api, demo, name_prefix="VIP ", filters={"transaction_types": ["reward"], "operations": ["credit"]}
    )
    assert created.status == 201, created.body
    sub = created.json()
    sub_id = sub["subscription_id"]
    assert len(sub_id) == 26
    assert created.headers["location"] == f"{SUBS}/{sub_id}"
    assert sub["filters"] == {
        "transaction_types": ["reward"],
        "operations": ["credit"],
        "directions": None,  # tier events' filters: unset
        "tiers": None,
        "referral_roles": None,
        "referral_reasons": None,
    }
    assert sub["enabled"] is True
    assert sub["name_prefix"] == "VIP "

    assert api.get(f"{SUBS}/{sub_id}", key=demo.api_keys.admin).json() == sub
    assert api.get(SUBS, key=demo.api_keys.admin).json()["items"] == [sub]

    replaced = api.put(
        f"{SUBS}/{sub_id}",
        key=demo.api_keys.admin,
        json_body={"event": "coupon_created", "integration_id": "klaviyo", "enabled": False},
    )
    assert replaced.status == 200, replaced.body
    assert replaced.json()["event"] == "coupon_created"
    assert replaced.json()["filters"] == {
        "transaction_types": None,
        "operations": None,
        "directions": None,
        "tiers": None,
        "referral_roles": None,
        "referral_reasons": None,
    }
    assert replaced.json()["created_at"] == sub["created_at"]
    stored = _config(demo).subscriptions
    assert [(s.subscription_id, s.event, s.enabled) for s in stored] == [(sub_id, "coupon_created", False)]

    assert api.delete(f"{SUBS}/{sub_id}", key=demo.api_keys.admin).status == 204
    _problem(api.get(f"{SUBS}/{sub_id}", key=demo.api_keys.admin), 404)
    _problem(api.delete(f"{SUBS}/{sub_id}", key=demo.api_keys.admin), 404)
    assert _config(demo).subscriptions == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"event": "coupon_created", "filters": {"transaction_types": ["reward"]}},
            ["filters.transaction_types"],
        ),
        ({"event": "customer_created", "filters": {"operations": ["credit"]}}, ["filters.operations"]),
        ({"event": "no_such_event"}, ["event"]),
        ({"event": "order_updated"}, ["event"]),
        ({"integration_id": "ghost"}, ["integration_id"]),
        ({"event": "nope", "integration_id": "ghost"}, ["event", "integration_id"]),
    ],
)
def test_bad_subscriptions_are_422_naming_the_field(
    api: InProcessApi, demo: DemoStore, body: dict[str, Any], fields: list[str]
) -> None:
    assert _klaviyo(api, demo).status == 201
    assert _fields(_subscribe(api, demo, **body)) == fields
    assert _config(demo).subscriptions == []


@pytest.mark.parametrize(
    "body",
    [
        {"filters": {"transaction_types": ["gift"]}},
        {"filters": {"tiers": ["gold"]}},
        {"name_prefix": "x" * 101},
        {"integration_id": None},
    ],
)
def test_malformed_subscriptions_are_422(api: InProcessApi, demo: DemoStore, body: dict[str, Any]) -> None:
    assert _klaviyo(api, demo).status == 201
    _problem(_subscribe(api, demo, **body), 422)


def test_replacing_an_unknown_subscription_is_404(api: InProcessApi, demo: DemoStore) -> None:
    assert _klaviyo(api, demo).status == 201
    body = {"event": "wallet_transaction", "integration_id": "klaviyo"}
    _problem(api.put(f"{SUBS}/01KAQ6Z1C3M5V8T2R4N6P8W0XY", key=demo.api_keys.admin, json_body=body), 404)
    _problem(api.get(f"{SUBS}/01KAQ6Z1C3M5V8T2R4N6P8W0XY", key=demo.api_keys.admin), 404)


def test_a_subscription_to_an_integration_deleted_meanwhile_is_refused(
    api: InProcessApi, demo: DemoStore
) -> None:
    """The cached config still shows the integration; the transaction's condition check does not."""
    assert _klaviyo(api, demo).status == 201
    _config(demo)  # warm the cache with the integration in it
    boto3.client("dynamodb").delete_item(
        TableName=container().table.name,
        Key={"PK": {"S": f"M#{demo.merchant_id}#CONFIG"}, "SK": {"S": "INTEGRATION#klaviyo"}},
    )
    assert _fields(_subscribe(api, demo)) == ["integration_id"]


# ---- the switch, and what routing reads ----------------------------------------------------------


def test_the_switch_defaults_on_and_is_set(api: InProcessApi, demo: DemoStore) -> None:
    initial = api.get("/v1/admin/events/settings", key=demo.api_keys.admin)
    assert initial.json() == {"enabled": True, "updated_at": None}
    off = api.put("/v1/admin/events/settings", key=demo.api_keys.admin, json_body={"enabled": False})
    assert off.status == 200
    assert off.json()["enabled"] is False
    assert api.get("/v1/admin/events/settings", key=demo.api_keys.admin).json() == off.json()
    assert _config(demo).enabled is False
    _problem(
        api.put("/v1/admin/events/settings", key=demo.api_keys.admin, json_body={"enabled": "maybe"}), 422
    )
    _problem(api.put("/v1/admin/events/settings", key=demo.api_keys.admin, json_body={}), 422)


def test_routing_reads_what_the_api_wrote(api: InProcessApi, demo: DemoStore) -> None:
    assert _klaviyo(api, demo).status == 201
    hook = api.put(
        "/v1/admin/integrations/hook",
        key=demo.api_keys.admin,
        json_body={"kind": "webhook", "url": "https://hooks.example.com/p"},
    )
    assert hook.status == 201
    rewards = _subscribe(api, demo, name_prefix="Shop ", filters={"transaction_types": ["reward"]}).json()
    debits = _subscribe(api, demo, integration_id="hook", filters={"operations": ["debit"]}).json()

    cust = customer()
    reward = sample_event("wallet_transaction", demo.merchant_id, cust, NOW)
    redeem = reward.model_copy(
        update={"payload": {**reward.payload, "transaction_type": "redeem", "operation": "debit"}}
    )
    config = _config(demo)
    assert [(s.subscription_id, s.name_prefix, i.kind) for s, i in config.routes(reward, DELIVERABLE)] == [
        (rewards["subscription_id"], "Shop ", IntegrationKind.KLAVIYO)
    ]
    assert [s.subscription_id for s, _ in config.routes(redeem, DELIVERABLE)] == [debits["subscription_id"]]

    api.put("/v1/admin/events/settings", key=demo.api_keys.admin, json_body={"enabled": False})
    assert _config(demo).routes(reward, DELIVERABLE) == []
    api.put("/v1/admin/events/settings", key=demo.api_keys.admin, json_body={"enabled": True})
    api.put(
        "/v1/admin/integrations/klaviyo",
        key=demo.api_keys.admin,
        json_body={"kind": "klaviyo", "enabled": False},
    )
    assert _config(demo).routes(reward, DELIVERABLE) == []


# ---- auth ----------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/v1/admin/event-types", None),
    ("GET", "/v1/admin/integrations", None),
    ("GET", "/v1/admin/integrations/klaviyo", None),
    ("PUT", "/v1/admin/integrations/klaviyo", {"kind": "klaviyo", "api_key": "k"}),
    ("DELETE", "/v1/admin/integrations/klaviyo", None),
    ("GET", "/v1/admin/events/settings", None),
    ("PUT", "/v1/admin/events/settings", {"enabled": False}),
    ("POST", SUBS, {"event": "wallet_transaction", "integration_id": "klaviyo"}),
    ("GET", SUBS, None),
    ("GET", f"{SUBS}/01KAQ6Z1C3M5V8T2R4N6P8W0XY", None),
    (
        "PUT",
        f"{SUBS}/01KAQ6Z1C3M5V8T2R4N6P8W0XY",
        {"event": "wallet_transaction", "integration_id": "klaviyo"},
    ),
    ("DELETE", f"{SUBS}/01KAQ6Z1C3M5V8T2R4N6P8W0XY", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_only_admin_keys_configure_events(
    api: InProcessApi, demo: DemoStore, method: str, path: str, body: dict[str, Any] | None
) -> None:
    for scope in ("read", "write"):
        key = getattr(demo.api_keys, scope)
        _problem(api.request(method, path, key=key, json_body=body), 403)
    _problem(api.request(method, path, key=None, json_body=body), 401)
    assert _config(demo).integrations == {}
    assert _config(demo).enabled is True


def test_a_key_the_service_refuses_is_a_422_and_a_toggle_does_not_check_again(
    api: InProcessApi, demo: DemoStore
) -> None:
    answers = {"status": 401}
    calls: list[str] = []

    def klaviyo(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(answers["status"])

    container().http.install(httpx.MockTransport(klaviyo))
    admin = demo.api_keys.admin
    body = {"kind": "klaviyo", "api_key": "pk_typo_0123456789abcdef", "primary_selector": "email"}
    refused = api.put("/v1/admin/integrations/klaviyo", key=admin, json_body=body)
    problem = _problem(refused, 422)
    assert "refused this API key" in problem["detail"]
    assert api.get("/v1/admin/integrations/klaviyo", key=admin).status == 404  # nothing written

    answers["status"] = 200
    saved = api.put("/v1/admin/integrations/klaviyo", key=admin, json_body=body)
    assert saved.status == 201, saved.body
    assert saved.json()["key_check"] == "verified"
    toggled = api.put(
        "/v1/admin/integrations/klaviyo",
        key=admin,
        json_body={"kind": "klaviyo", "primary_selector": "email", "enabled": False},
    )
    assert toggled.status == 200
    assert toggled.json()["key_check"] == "verified"  # kept from when the key was checked
    assert calls == ["https://a.klaviyo.com/api/accounts"] * 2  # the toggle made no call
