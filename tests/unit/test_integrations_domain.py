"""Integrations and subscriptions: input rules, credentials kept or generated, masking, routing."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from pollen.domain.errors import ValidationFailed
from pollen.domain.event_filters import EventFilters
from pollen.domain.integrations import (
    EventsConfig,
    IntegrationInput,
    IntegrationKind,
    PrimarySelector,
    Subscription,
    SubscriptionInput,
    ToolIntegrationInput,
    WebhookIntegrationInput,
    build_integration,
    build_subscription,
    check_subscription,
    check_webhook_url,
    generate_webhook_secret,
    mask,
    webhook_secret_key,
)
from pollen.domain.merchants import Merchant
from pollen.events.catalogue import DELIVERABLE, sample_event
from pollen.storage.event_config import (
    events_config,
    events_settings_item,
    integration_item,
    subscription_item,
)
from pollen.storage.merchant_config import MerchantConfig, merchant_item
from tests.support.integrations import (
    KLAVIYO_KEY,
    NOW,
    OCCURRED,
    WEBHOOK_SECRET,
    customer,
    integration,
    wallet_event,
)

BODY: TypeAdapter[ToolIntegrationInput | WebhookIntegrationInput] = TypeAdapter(IntegrationInput)


def _body(value: dict[str, Any]) -> ToolIntegrationInput | WebhookIntegrationInput:
    return BODY.validate_python(value)


# ---- webhook secrets and URLs --------------------------------------------------------------------


def test_generated_secrets_are_standard_webhooks_secrets() -> None:
    first, second = generate_webhook_secret(), generate_webhook_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(webhook_secret_key(first)) == 32
    assert webhook_secret_key(WEBHOOK_SECRET) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "whsec_not base64!",
        "whsec_" + base64.b64encode(b"x" * 23).decode(),  # too short
        "whsec_" + base64.b64encode(b"x" * 65).decode(),  # too long
    ],
)
def test_bad_webhook_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        webhook_secret_key(secret)
    with pytest.raises(ValidationError):
        _body({"kind": "webhook", "url": "https://example.com/h", "secret": secret})


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/pollen",
        "https://hooks.example.com:8443/p?x=1",
        "http://localhost:8080/hook",
        "http://127.0.0.1:9000/hook",
        "http://[::1]:9000/hook",
    ],
)
def test_good_webhook_urls(url: str) -> None:
    assert check_webhook_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/pollen", "https"),
        ("http://10.0.0.5/hook", "https"),
        ("ftp://example.com/x", "absolute https"),
        ("hooks.example.com/pollen", "absolute https"),
        ("https://user:pw@example.com/h", "credentials"),
        ("https://example.com/h#frag", "fragment"),
        ("https://0.0.0.0/h", "not an address"),
    ],
)
def test_bad_webhook_urls(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_webhook_url(url)


def test_mask_keeps_a_short_prefix_and_the_last_four() -> None:
    assert mask(KLAVIYO_KEY) == "pk_…abcd"
    assert mask(WEBHOOK_SECRET) == "whsec_…LaSw"
    assert mask("0123456789abcdefXYZW") == "…XYZW"
    assert mask("short") == "…"  # too short to show any of it
    assert mask("verylongprefix_0123456789abcdef") == "…cdef"


# ---- integration input ---------------------------------------------------------------------------


def test_the_kind_picks_the_body() -> None:
    tool = _body(
        {"kind": "klaviyo", "api_key": " pk_x1234567890 ", "primary_selector": "mobile", "enabled": False}
    )
    assert isinstance(tool, ToolIntegrationInput)
    assert tool.api_key == "pk_x1234567890"
    assert tool.primary_selector == PrimarySelector.MOBILE
    omnisend = _body({"kind": "omnisend", "api_key": "61f2748bc26ea0-AbCdEf0123"})
    assert isinstance(omnisend, ToolIntegrationInput)
    assert omnisend.primary_selector == PrimarySelector.EMAIL
    hook = _body({"kind": "webhook", "url": "https://example.com/h"})
    assert isinstance(hook, WebhookIntegrationInput)
    assert hook.enabled is True


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "mailchimp", "api_key": "k"},
        {"api_key": "k"},
        {"kind": "klaviyo", "api_key": "k", "url": "https://example.com"},  # fields of another kind
        {"kind": "webhook", "url": "https://example.com/h", "api_key": "k"},
        {"kind": "webhook"},
        {"kind": "klaviyo", "api_key": ""},
        {"kind": "klaviyo", "api_key": "pk_…abcd"},  # a masked key sent back
        {"kind": "klaviyo", "api_key": "pk_0123456789 abcdef"},  # published formats: no spaces
        {"kind": "klaviyo", "api_key": "pk_0123456789ábcdef"},  # nor non-ASCII
        {"kind": "klaviyo", "api_key": "sk_0123456789abcdef"},  # a Klaviyo private key starts with pk_
        {"kind": "omnisend", "api_key": "61f2748bc26ea0 AbCdEf"},
        {"kind": "omnisend", "api_key": "61f2748bc26ea0_AbCdEf"},
        {"kind": "webhook", "url": "https://exämple.com/hook"},
        {"kind": "webhook", "url": "https://example.com/a hook"},
        {"kind": "webhook", "url": "https://example.com:99999/hook"},
        {"kind": "klaviyo", "api_key": "k", "primary_selector": "sms"},
    ],
)
def test_bad_integration_bodies(value: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _body(value)


def test_a_new_tool_integration_needs_its_key() -> None:
    with pytest.raises(ValidationFailed) as caught:
        build_integration("k", _body({"kind": "klaviyo"}), None, now=NOW)
    assert [e.field for e in caught.value.errors] == ["api_key"]


def test_a_replaced_tool_integration_keeps_its_key_when_omitted() -> None:
    existing = integration(IntegrationKind.KLAVIYO)
    later = NOW + timedelta(hours=1)
    updated, generated = build_integration(
        "klaviyo",
        _body({"kind": "klaviyo", "enabled": False, "primary_selector": "mobile"}),
        existing,
        now=later,
    )
    assert generated is None
    assert updated.api_key == existing.api_key
    assert updated.enabled is False
    assert updated.primary_selector == PrimarySelector.MOBILE
    assert (updated.created_at, updated.updated_at) == (existing.created_at, later)
    replaced, _ = build_integration(
        "klaviyo", _body({"kind": "klaviyo", "api_key": "pk_new0123456789"}), existing, now=later
    )
    assert replaced.api_key == "pk_new0123456789"


def test_changing_kind_does_not_carry_credentials_over() -> None:
    existing = integration(IntegrationKind.KLAVIYO)
    with pytest.raises(ValidationFailed):
        build_integration("klaviyo", _body({"kind": "omnisend"}), existing, now=NOW)
    hook, generated = build_integration(
        "klaviyo", _body({"kind": "webhook", "url": "https://e.com/h"}), existing, now=NOW
    )
    assert generated is not None
    assert hook.secret == generated
    assert hook.api_key is None
    assert hook.primary_selector is None


def test_webhook_secret_is_generated_once_then_kept() -> None:
    created, generated = build_integration(
        "h", _body({"kind": "webhook", "url": "https://e.com/h"}), None, now=NOW
    )
    assert generated is not None
    assert created.secret == generated
    again, generated_again = build_integration(
        "h", _body({"kind": "webhook", "url": "https://e.com/other", "enabled": False}), created, now=NOW
    )
    assert generated_again is None
    assert again.secret == created.secret
    assert again.url == "https://e.com/other"
    chosen, none = build_integration(
        "h", _body({"kind": "webhook", "url": "https://e.com/h", "secret": WEBHOOK_SECRET}), created, now=NOW
    )
    assert none is None
    assert chosen.secret == WEBHOOK_SECRET


def test_the_stored_form_refuses_credentials_of_another_kind() -> None:
    with pytest.raises(ValidationError):
        integration(IntegrationKind.KLAVIYO, url="https://e.com/h")
    with pytest.raises(ValidationError):
        integration(IntegrationKind.WEBHOOK, secret=None)
    with pytest.raises(ValidationError):
        integration(IntegrationKind.OMNISEND, primary_selector=None)


# ---- subscriptions -------------------------------------------------------------------------------


def _sub_input(**fields: Any) -> SubscriptionInput:
    return SubscriptionInput.model_validate(
        {"event": "wallet_transaction", "integration_id": "klaviyo", **fields}
    )


def _fields_of(exc: ValidationFailed) -> list[str]:
    return [e.field for e in exc.errors]


def test_a_valid_subscription_passes() -> None:
    body = _sub_input(name_prefix="VIP ", filters={"transaction_types": ["reward"], "operations": ["credit"]})
    check_subscription(body, {"klaviyo": integration(IntegrationKind.KLAVIYO)}, DELIVERABLE)
    sub = build_subscription("01JNF3Z8X6Q4M2V7T9K1R5W3YD", body, None, now=NOW)
    assert sub.name_prefix == "VIP "
    assert sub.filters.used() == {"transaction_types": ["reward"], "operations": ["credit"]}


def test_filters_that_do_not_apply_to_the_event_are_named() -> None:
    body = _sub_input(
        event="coupon_created", filters={"transaction_types": ["reward"], "operations": ["debit"]}
    )
    with pytest.raises(ValidationFailed) as caught:
        check_subscription(body, {"klaviyo": integration(IntegrationKind.KLAVIYO)}, DELIVERABLE)
    assert _fields_of(caught.value) == ["filters.transaction_types", "filters.operations"]


def test_unknown_or_internal_events_and_unknown_integrations_are_refused() -> None:
    for event in ("order_updated", "wallet_transactions"):
        with pytest.raises(ValidationFailed) as caught:
            check_subscription(
                _sub_input(event=event), {"klaviyo": integration(IntegrationKind.KLAVIYO)}, DELIVERABLE
            )
        assert _fields_of(caught.value) == ["event"]
    with pytest.raises(ValidationFailed) as caught:
        check_subscription(_sub_input(), {}, DELIVERABLE)
    assert _fields_of(caught.value) == ["integration_id"]


def test_subscription_body_is_strict() -> None:
    with pytest.raises(ValidationError):
        _sub_input(filters={"regions": ["eu"]})
    with pytest.raises(ValidationError):
        _sub_input(integration_id="Not#Valid")
    with pytest.raises(ValidationError):
        _sub_input(name_prefix="x" * 101)
    with pytest.raises(ValidationError):
        _sub_input(surprise=True)


# ---- routing -------------------------------------------------------------------------------------


def _sub(sub_id: str, integration_id: str, event: str = "wallet_transaction", **fields: Any) -> Subscription:
    return Subscription(
        subscription_id=sub_id,
        event=event,
        integration_id=integration_id,
        created_at=OCCURRED,
        updated_at=OCCURRED,
        **fields,
    )


def _config(enabled: bool = True, **subs: Subscription) -> EventsConfig:
    return EventsConfig(
        enabled=enabled,
        integrations={
            "klaviyo": integration(IntegrationKind.KLAVIYO),
            "hook": integration(IntegrationKind.WEBHOOK, integration_id="hook"),
            "off": integration(IntegrationKind.OMNISEND, integration_id="off", enabled=False),
        },
        subscriptions=list(subs.values()),
    )


def test_routes_pick_enabled_matching_subscriptions_of_enabled_integrations() -> None:
    rewards = _sub("S1", "klaviyo", filters=EventFilters.model_validate({"transaction_types": ["reward"]}))
    debits = _sub("S2", "hook", filters=EventFilters.model_validate({"operations": ["debit"]}))
    everything = _sub("S3", "hook", name_prefix="All ")
    disabled = _sub("S4", "klaviyo", enabled=False)
    to_disabled_integration = _sub("S5", "off")
    to_missing_integration = _sub("S6", "gone")
    coupons = _sub("S7", "klaviyo", event="coupon_created")
    config = _config(a=rewards, b=debits, c=everything, d=disabled, e=to_disabled_integration,
                     f=to_missing_integration, g=coupons)  # fmt: skip

    reward = config.routes(wallet_event("reward", "credit"), DELIVERABLE)
    assert [(s.subscription_id, i.integration_id) for s, i in reward] == [("S1", "klaviyo"), ("S3", "hook")]
    redeem = config.routes(wallet_event("redeem", "debit"), DELIVERABLE)
    assert [s.subscription_id for s, _ in redeem] == ["S2", "S3"]
    coupon = config.routes(sample_event("coupon_created", "m1", customer(), NOW), DELIVERABLE)
    assert [s.subscription_id for s, _ in coupon] == ["S7"]


def test_the_switch_and_internal_events_route_nowhere() -> None:
    everything = _sub("S1", "hook")
    assert _config(False, a=everything).routes(wallet_event(), DELIVERABLE) == []
    internal = wallet_event().model_copy(update={"event_type": "order_updated"})
    internal_sub = _sub("S2", "hook", event="order_updated")
    assert _config(True, a=internal_sub).routes(internal, DELIVERABLE) == []


# ---- storage -------------------------------------------------------------------------------------


def _merchant_config(*items: dict[str, Any]) -> MerchantConfig:
    merchant = Merchant(merchant_id="m1", name="M", created_at=OCCURRED)
    by_sk = {item["SK"]: item for item in (merchant_item(merchant), *items)}
    return MerchantConfig(merchant=merchant, program=None, shopify=None, items=by_sk)


def test_events_config_reads_back_what_the_item_builders_write() -> None:
    klaviyo = integration(IntegrationKind.KLAVIYO)
    hook = integration(IntegrationKind.WEBHOOK, integration_id="hook")
    second = _sub("01JNF3Z8X6Q4M2V7T9K1R5W3YF", "hook", name_prefix="P ")
    filters = EventFilters.model_validate({"transaction_types": ["reward"], "operations": ["credit"]})
    first = _sub("01JNF3Z8X6Q4M2V7T9K1R5W3YE", "klaviyo", filters=filters)
    items = [integration_item("m1", klaviyo), integration_item("m1", hook)]
    items += [subscription_item("m1", second), subscription_item("m1", first)]
    assert items[0]["SK"] == "INTEGRATION#klaviyo"
    assert items[0]["PK"] == "M#m1#CONFIG"
    assert items[2]["SK"] == "SUBSCRIPTION#01JNF3Z8X6Q4M2V7T9K1R5W3YF"

    config = events_config(_merchant_config(*items))
    assert config.enabled is True
    assert config.integrations == {"klaviyo": klaviyo, "hook": hook}
    assert config.subscriptions == [first, second]

    off = events_settings_item("m1", enabled=False, updated_at=NOW)
    assert off["SK"] == "EVENTS"
    assert events_config(_merchant_config(*items, off)).enabled is False


def test_a_merchant_without_event_items_has_an_empty_config_switched_on() -> None:
    config = events_config(_merchant_config())
    assert config == EventsConfig(enabled=True, integrations={}, subscriptions=[])
