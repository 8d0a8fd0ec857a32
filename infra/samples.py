"""(Re)generate the API Gateway HTTP API samples in ``events/`` for the wallet, orders, triggers and
events-configuration routes.

Run ``python -m infra.samples``. Each sample is the payload format 2.0 event
:func:`infra.apigw.build_http_event` builds (the shape AWS sends), with a fixed clock and ids derived
from the sample's name, so regenerating writes byte-identical files. Only the files listed here are
written; the older hand-written admin samples (health, API keys, program) are left alone.

API-key samples carry the placeholder key the other samples use. The Shopify webhook samples
(``order_webhooks_shopify_<topic>.json``) carry the exact bytes of ``tests/fixtures/shopify/<topic>.json``
as their body and are signed with the webhook secret ``"demo-webhook-secret"``: their
``x-shopify-hmac-sha256`` only verifies against a shop connected with that secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from infra.apigw import FUNCTION_URL_ID, build_http_event
from pollen.integrations.shopify import app_proxy
from pollen.integrations.shopify.webhooks import sign

ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = ROOT / "events"
FIXTURES_DIR = ROOT / "tests" / "fixtures" / "shopify"

WEBHOOK_SECRET = "demo-webhook-secret"  # noqa: S105 - a documented demo value, not a credential
SHOP_DOMAIN = "pollen-demo.myshopify.com"
SHOPIFY_API_VERSION = "2025-10"
API_KEY = "pollen.demo-store.0123456789abcdef.REPLACE-WITH-A-REAL-KEY"
API_ID = "a1b2c3d4e5"
HOST = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
FUNCTION_URL_HOST = f"{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws"  # the order function's URL
CLIENT_IP = "203.0.113.10"
SHOPIFY_IP = "198.51.100.23"
CLIENT_USER_AGENT = "curl/8.5.0"

CUSTOMER_ID = "115310627314723954"
ORDER_ID = "820982911946154508"
API_ORDER_ID = "5001"

# Fixed clock: the n-th sample is stamped START + n seconds.
START = datetime(2025, 11, 23, 10, 20, 0, 125000, tzinfo=UTC)
_NAMESPACE = uuid.UUID("0b5c7f4e-2a61-4d0e-9c3b-6f1e8a2d4c70")

SHOPIFY_TOPICS = ("orders_create", "orders_paid", "orders_cancelled", "refunds_create", "customers_create")
# Added later, stamped after every other sample so the older ones stay byte-identical.
MORE_SHOPIFY_TOPICS = ("customers_update", "customers_data_request", "customers_redact", "shop_redact")


@dataclass(frozen=True)
class Sample:
    name: str
    method: str
    route: str
    path_parameters: dict[str, str] = field(default_factory=dict)
    query: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    api_key: bool = True
    idempotent: bool = False
    content_type: str = "application/json"


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _uuid(name: str, purpose: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{name}:{purpose}"))


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def _request_id(name: str) -> str:
    """Shaped like API Gateway's: 16 characters of base64."""
    return base64.b64encode(_digest(name)[:11]).decode("ascii")


def _trace_id(name: str, now: datetime) -> str:
    return f"Root=1-{int(now.timestamp()):08x}-{_digest(name).hex()[:24]}"


def _fill(route: str, path_parameters: Mapping[str, str]) -> str:
    path = route
    for key, value in path_parameters.items():
        path = path.replace("{" + key + "}", value)
    return path


def _api_samples() -> list[Sample]:
    customer = {"customer_id": CUSTOMER_ID}
    return [
        # admin: triggers, adjustments, orders
        Sample("admin_list_triggers", "GET", "/v1/admin/triggers"),
        Sample("admin_get_trigger", "GET", "/v1/admin/triggers/{trigger_id}", {"trigger_id": "signup"}),
        Sample(
            "admin_put_trigger",
            "PUT",
            "/v1/admin/triggers/{trigger_id}",
            {"trigger_id": "signup"},
            body=_json({"name": "Signed up", "coins": 100, "frequency": "once", "enabled": True}),
        ),
        Sample("admin_delete_trigger", "DELETE", "/v1/admin/triggers/{trigger_id}", {"trigger_id": "signup"}),
        Sample(
            "admin_adjust_coins",
            "POST",
            "/v1/admin/customers/{customer_id}/adjustments",
            customer,
            body=_json({"coins": 50, "reason": "Goodwill for a late parcel"}),
            idempotent=True,
        ),
        Sample("admin_get_order", "GET", "/v1/admin/orders/{order_id}", {"order_id": ORDER_ID}),
        # wallet: customers, wallet, transactions, triggers, cart
        Sample(
            "wallet_put_customer",
            "PUT",
            "/v1/customers/{customer_id}",
            customer,
            body=_json(
                {"email": "jon@example.com", "phone": "+16135551111", "first_name": "Jon", "last_name": "Doe"}
            ),
        ),
        Sample("wallet_get_wallet", "GET", "/v1/customers/{customer_id}/wallet", customer),
        Sample(
            "wallet_list_transactions",
            "GET",
            "/v1/customers/{customer_id}/transactions",
            customer,
            query="limit=10&type=reward",
        ),
        Sample(
            "wallet_complete_trigger",
            "POST",
            "/v1/customers/{customer_id}/triggers/{trigger_id}",
            {**customer, "trigger_id": "app_install"},
            idempotent=True,
        ),
        Sample(
            "wallet_cart_coins",
            "POST",
            "/v1/cart/coins",
            body=_json(
                {
                    "customer_id": CUSTOMER_ID,
                    "currency": "USD",
                    "lines": [
                        {
                            "product_id": "632910392",
                            "variant_id": "808950810",
                            "quantity": 2,
                            "unit_price": "120.00",
                            "tags": ["sweaters"],
                        }
                    ],
                    "discount_total": "24.00",
                }
            ),
        ),
        # order_webhooks: the orders API for custom platforms
        Sample(
            "order_webhooks_create_order",
            "POST",
            "/v1/orders",
            body=_json(
                {
                    "order_id": API_ORDER_ID,
                    "customer_id": "c-42",
                    "email": "jon@example.com",
                    "currency": "USD",
                    "lines": [
                        {
                            "line_id": "l-1",
                            "product_id": "p-1",
                            "quantity": 2,
                            "unit_price": "40.00",
                            "discount": "0.00",
                        }
                    ],
                    "total": "80.00",
                    "paid": False,
                }
            ),
            idempotent=True,
        ),
        Sample(
            "order_webhooks_order_paid",
            "POST",
            "/v1/orders/{order_id}/paid",
            {"order_id": API_ORDER_ID},
            idempotent=True,
        ),
        Sample(
            "order_webhooks_cancel_order",
            "POST",
            "/v1/orders/{order_id}/cancel",
            {"order_id": API_ORDER_ID},
            idempotent=True,
        ),
        Sample(
            "order_webhooks_refund_order",
            "POST",
            "/v1/orders/{order_id}/refunds",
            {"order_id": API_ORDER_ID},
            body=_json(
                {"refund_id": "r-1", "lines": [{"line_id": "l-1", "quantity": 1, "subtotal": "40.00"}]}
            ),
            idempotent=True,
        ),
        # redemption: the rewards catalogue (admin), offers, redemptions, coupons
        Sample("redemption_list_rewards", "GET", "/v1/admin/rewards"),
        Sample("redemption_get_reward", "GET", "/v1/admin/rewards/{reward_id}", {"reward_id": "five-off"}),
        Sample(
            "redemption_put_reward",
            "PUT",
            "/v1/admin/rewards/{reward_id}",
            {"reward_id": "five-off"},
            body=_json({"type": "fixed_amount", "name": "$5 off", "coins": 100, "amount": "5.00"}),
        ),
        Sample(
            "redemption_delete_reward", "DELETE", "/v1/admin/rewards/{reward_id}", {"reward_id": "five-off"}
        ),
        Sample(
            "redemption_list_offers",
            "GET",
            "/v1/rewards",
            query=f"customer_id={CUSTOMER_ID}&cart_total=80.00",
        ),
        Sample(
            "redemption_redeem",
            "POST",
            "/v1/customers/{customer_id}/redemptions",
            customer,
            body=_json(
                {"reward_id": "pay-with-coins", "coins": 100, "cart_total": "80.00", "channel": "widget"}
            ),
            idempotent=True,
        ),
        Sample(
            "redemption_list_coupons",
            "GET",
            "/v1/customers/{customer_id}/coupons",
            customer,
            query="status=issued",
        ),
        Sample(
            "redemption_cancel_coupon",
            "DELETE",
            "/v1/customers/{customer_id}/coupons/{code}",
            {**customer, "code": "K7QX-M4TR-9BWE"},
        ),
        # admin: the Shopify connection
        Sample(
            "admin_put_shopify",
            "PUT",
            "/v1/admin/shopify",
            body=_json(
                {
                    "shop_domain": SHOP_DOMAIN,
                    "webhook_secret": WEBHOOK_SECRET,
                    "admin_access_token": "shpat_REPLACE_WITH_A_REAL_TOKEN",
                    "api_version": SHOPIFY_API_VERSION,
                }
            ),
        ),
        Sample("admin_get_shopify", "GET", "/v1/admin/shopify"),
    ]


SUBSCRIPTION_ID = "01KAQ6Z1C3M5V8T2R4N6P8W0XY"


def _event_config_samples() -> list[Sample]:
    """Admin: event types, integrations, subscriptions, the events switch. Stamped after the others,
    so adding them left the older samples byte-identical."""
    klaviyo = {"integration_id": "klaviyo"}
    subscription = {"subscription_id": SUBSCRIPTION_ID}
    subscription_body = _json(
        {
            "event": "wallet_transaction",
            "integration_id": "klaviyo",
            "name_prefix": "Pollen ",
            "filters": {"transaction_types": ["reward"], "operations": ["credit"]},
            "enabled": True,
        }
    )
    return [
        Sample("admin_list_event_types", "GET", "/v1/admin/event-types"),
        Sample("admin_list_integrations", "GET", "/v1/admin/integrations"),
        Sample("admin_get_integration", "GET", "/v1/admin/integrations/{integration_id}", klaviyo),
        Sample(
            "admin_put_integration",
            "PUT",
            "/v1/admin/integrations/{integration_id}",
            klaviyo,
            body=_json(
                {
                    "kind": "klaviyo",
                    "api_key": "pk_REPLACE_WITH_A_KLAVIYO_PRIVATE_KEY",
                    "primary_selector": "email",
                    "enabled": True,
                }
            ),
        ),
        Sample("admin_delete_integration", "DELETE", "/v1/admin/integrations/{integration_id}", klaviyo),
        Sample("admin_get_events_settings", "GET", "/v1/admin/events/settings"),
        Sample(
            "admin_put_events_settings", "PUT", "/v1/admin/events/settings", body=_json({"enabled": True})
        ),
        Sample(
            "admin_create_event_subscription", "POST", "/v1/admin/event-subscriptions", body=subscription_body
        ),
        Sample("admin_list_event_subscriptions", "GET", "/v1/admin/event-subscriptions"),
        Sample(
            "admin_get_event_subscription",
            "GET",
            "/v1/admin/event-subscriptions/{subscription_id}",
            subscription,
        ),
        Sample(
            "admin_put_event_subscription",
            "PUT",
            "/v1/admin/event-subscriptions/{subscription_id}",
            subscription,
            body=subscription_body,
        ),
        Sample(
            "admin_delete_event_subscription",
            "DELETE",
            "/v1/admin/event-subscriptions/{subscription_id}",
            subscription,
        ),
    ]


SUBSCRIPTION_ID = "01JNF40B7C2M8Q5T1V9X3Z6K4D"
DELIVERY_ID = "01JNF3Z8X6Q4M2V7T9K1R5W3YB.01JNF40B7C2M8Q5T1V9X3Z6K4D"


def _delivery_samples() -> list[Sample]:
    """The delivery log, dead letters and test events (admin)."""
    return [
        Sample("admin_list_deliveries", "GET", "/v1/admin/deliveries", query="status=dead&limit=25"),
        Sample("admin_list_dead_letters", "GET", "/v1/admin/deliveries/dead-letters"),
        Sample(
            "admin_replay_dead_letters",
            "POST",
            "/v1/admin/deliveries/dead-letters/replay",
            body=_json({"delivery_ids": [DELIVERY_ID]}),
        ),
        Sample(
            "admin_send_test_event",
            "POST",
            "/v1/admin/event-subscriptions/{subscription_id}/test",
            {"subscription_id": SUBSCRIPTION_ID},
            body=_json({"email": "jon@example.com"}),
        ),
    ]


def _analytics_samples() -> list[Sample]:
    """Analytics reports (admin), the rebuild job, and event tracking (widgets and apps)."""
    job = {"job_id": "01JNF5A1B2C3D4E5F6G7H8J9K0"}
    return [
        Sample("analytics_summary", "GET", "/v1/admin/analytics/summary", query="range=30d&offset=-1"),
        Sample(
            "analytics_series",
            "GET",
            "/v1/admin/analytics/series",
            query="metrics=orders,revenue,attributed_revenue&range=90d&granularity=week",
        ),
        Sample(
            "analytics_export",
            "GET",
            "/v1/admin/analytics/export",
            query="format=csv&range=custom&from=2025-11-01&to=2025-11-22",
        ),
        Sample(
            "analytics_start_rebuild",
            "POST",
            "/v1/admin/analytics/rebuild",
            body=_json({"from": "2025-10-01", "to": "2025-11-22"}),
        ),
        Sample("analytics_get_rebuild", "GET", "/v1/admin/analytics/rebuild/{job_id}", job),
        Sample("analytics_resume_rebuild", "POST", "/v1/admin/analytics/rebuild/{job_id}/resume", job),
        Sample(
            "analytics_track_events",
            "POST",
            "/v1/events/track",
            body=_json(
                {
                    "events": [
                        {"id": "5b0f8f9e-2c1d-4c5e-9a51-1f3b0c6d7e80", "type": "widget_opened"},
                        {
                            "id": "5b0f8f9e-2c1d-4c5e-9a51-1f3b0c6d7e81",
                            "type": "referral_link_copied",
                            "customer_id": CUSTOMER_ID,
                            "channel": "widget",
                        },
                    ]
                }
            ),
        ),
    ]


def _access_samples() -> list[Sample]:
    """Customer tokens (mint, App Proxy, rotate) and the program apps read with the app key alone."""
    proxy = {
        "shop": SHOP_DOMAIN,
        "logged_in_customer_id": CUSTOMER_ID,
        "path_prefix": "/apps/pollen",
        "timestamp": str(int(START.timestamp())),
    }
    proxy_signature = app_proxy.signature(WEBHOOK_SECRET, {k: [v] for k, v in proxy.items()})
    return [
        Sample(
            "admin_mint_customer_token",
            "POST",
            "/v1/customer-tokens",
            body=_json({"customer_id": CUSTOMER_ID, "ttl_seconds": 3600}),
        ),
        Sample(
            "admin_app_proxy_customer_token",
            "GET",
            "/v1/shopify/app-proxy/customer-token",
            query=urlencode({**proxy, "signature": proxy_signature}),
            api_key=False,
        ),
        Sample(
            "admin_rotate_customer_token_secret",
            "POST",
            "/v1/admin/customer-tokens/rotate",
            body=_json({"grace_seconds": 86400}),
        ),
        Sample("wallet_get_public_program", "GET", "/v1/program"),
        Sample(
            "admin_get_data_request",
            "GET",
            "/v1/admin/privacy/data-requests/{request_id}",
            {"request_id": "9999"},
        ),
    ]


IMPORT_CSV = b"customer_id,email,first_name,last_name,balance,expires_on\n" + (
    f"{CUSTOMER_ID},jon@example.com,Jon,Doe,1250,2027-06-30\n".encode()
)


def _customer_ops_samples() -> list[Sample]:
    """Customer profile, admin search and export, migration imports, rejected webhooks."""
    return [
        Sample("wallet_get_customer", "GET", "/v1/customers/{customer_id}", {"customer_id": CUSTOMER_ID}),
        Sample("admin_search_customers", "GET", "/v1/admin/customers", query="query=jon%40example.com"),
        Sample("admin_export_customers", "GET", "/v1/admin/customers/export", query="limit=500"),
        Sample(
            "admin_import_customers", "POST", "/v1/admin/imports", body=IMPORT_CSV, content_type="text/csv"
        ),
        Sample(
            "admin_get_import",
            "GET",
            "/v1/admin/imports/{import_id}",
            {"import_id": hashlib.sha256(IMPORT_CSV).hexdigest()[:32]},
        ),
        Sample(
            "admin_list_rejected_webhooks", "GET", "/v1/admin/shopify/rejected-webhooks", query="limit=25"
        ),
    ]


def _tier_samples() -> list[Sample]:
    """VIP tiers: the program (admin), the re-evaluation status, a customer's tier."""
    program = {
        "tiers": [
            {
                "tier_id": "silver",
                "name": "Silver",
                "threshold": {"metric": "spend", "value": "100"},
                "benefits": {
                    "earn_multiplier": "1.5",
                    "entry_reward": {"coins": 50},
                    "perks": ["Early access"],
                },
            },
            {
                "tier_id": "gold",
                "name": "Gold",
                "threshold": {"metric": "spend", "value": "500"},
                "benefits": {"earn_multiplier": "2", "perks": ["Free shipping"]},
            },
        ],
        "window": {"kind": "rolling_days", "days": 365},
        "retention_days": 30,
        "downgrade_warning_days": 7,
    }
    return [
        Sample("admin_get_tiers", "GET", "/v1/admin/tiers"),
        Sample("admin_put_tiers", "PUT", "/v1/admin/tiers", body=_json(program)),
        Sample("admin_get_tiers_status", "GET", "/v1/admin/tiers/status"),
        Sample(
            "wallet_get_customer_tier",
            "GET",
            "/v1/customers/{customer_id}/tier",
            {"customer_id": CUSTOMER_ID},
        ),
    ]


REFERRAL_ID = "01KB2R7M4Q8X3T5V9N2P6W8Y0Z"


def _referral_samples() -> list[Sample]:
    """Referrals: program settings, invitations, the referral page, history, shares, admin lists
    (stamped last, so adding them left the older samples byte-identical)."""
    customer = {"customer_id": CUSTOMER_ID}
    return [
        Sample("referrals_get_program", "GET", "/v1/admin/referral-program"),
        Sample(
            "referrals_put_program",
            "PUT",
            "/v1/admin/referral-program",
            body=_json(
                {
                    "enabled": True,
                    "referrer_reward": {"type": "coins", "coins": 500},
                    "friend_reward": {"type": "fixed_amount", "value": "10.00", "validity_days": 30},
                    "qualifying": {"min_order_subtotal": "25.00", "completes_on": "paid"},
                    "limits": {"max_rewarded": {"count": 20, "per": "month"}},
                    "reminder": {"after_days": 3, "max_reminders": 2},
                }
            ),
        ),
        Sample("referrals_list", "GET", "/v1/admin/referrals", query="status=completed"),
        Sample("referrals_get", "GET", "/v1/admin/referrals/{referral_id}", {"referral_id": REFERRAL_ID}),
        Sample("referrals_page", "GET", "/v1/customers/{customer_id}/referral", customer),
        Sample(
            "referrals_invite",
            "POST",
            "/v1/customers/{customer_id}/referrals",
            customer,
            body=_json({"email": "friend@example.com", "name": "Sam"}),
        ),
        Sample("referrals_history", "GET", "/v1/customers/{customer_id}/referrals", customer),
        Sample(
            "referrals_share",
            "POST",
            "/v1/customers/{customer_id}/referral/shares",
            customer,
            body=_json({"channel": "whatsapp"}),
        ),
    ]


def _widget_samples() -> list[Sample]:
    """The storefront widget's settings: the admin document and the widget's app-key read (stamped last)."""
    settings = {
        "colors": {"primary": "#0a7d32", "text": "#1f2328", "background": "#ffffff"},
        "launcher": {"position": "bottom-left", "offset_x": 24, "offset_y": 24},
        "locales": ["en", "fr"],
        "default_locale": "en",
        "texts": {"en": {"launcher": "Perks"}, "fr": {"launcher": "Avantages"}},
        "sections": {"referral": False},
    }
    return [
        Sample("admin_get_widget_settings", "GET", "/v1/admin/widget"),
        Sample("admin_put_widget_settings", "PUT", "/v1/admin/widget", body=_json(settings)),
        Sample("admin_get_public_widget_settings", "GET", "/v1/widget/settings"),
    ]


def _shopify_samples(first: datetime, topics: tuple[str, ...] = SHOPIFY_TOPICS) -> list[Sample]:
    samples = []
    for index, topic in enumerate(topics):
        name = f"order_webhooks_shopify_{topic}"
        body = (FIXTURES_DIR / f"{topic}.json").read_bytes()
        triggered_at = first + timedelta(seconds=index) - timedelta(milliseconds=250)
        headers = {
            "accept": "*/*",
            "accept-encoding": "gzip;q=1.0,deflate;q=0.6,identity;q=0.3",
            "content-length": str(len(body)),
            "content-type": "application/json",
            "host": HOST,
            "user-agent": "Shopify-Captain-Hook",
            "x-shopify-api-version": SHOPIFY_API_VERSION,
            "x-shopify-event-id": _uuid(name, "event"),
            "x-shopify-hmac-sha256": sign(WEBHOOK_SECRET, body),
            "x-shopify-shop-domain": SHOP_DOMAIN,
            "x-shopify-topic": topic.replace("_", "/", 1),
            "x-shopify-triggered-at": triggered_at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "x-shopify-webhook-id": _uuid(name, "webhook"),
        }
        samples.append(Sample(name, "POST", "/webhooks/shopify", body=body, headers=headers, api_key=False))
    return samples


def _event(sample: Sample, now: datetime) -> dict[str, Any]:
    via_url = sample.route == "/webhooks/shopify"  # Shopify delivers to the function URL (template.yaml)
    if sample.headers:
        headers = dict(sample.headers)
        if via_url:
            headers["host"] = FUNCTION_URL_HOST
        source_ip = SHOPIFY_IP
    else:
        headers = {"accept": "application/json"}
        if sample.body:
            headers["content-length"] = str(len(sample.body))
            headers["content-type"] = sample.content_type
        headers["host"] = HOST
        if sample.idempotent:
            headers["idempotency-key"] = _uuid(sample.name, "idempotency-key")
        headers["user-agent"] = CLIENT_USER_AGENT
        if sample.api_key:
            headers["x-api-key"] = API_KEY
        source_ip = CLIENT_IP
    headers["x-amzn-trace-id"] = _trace_id(sample.name, now)
    headers["x-forwarded-port"] = "443"
    headers["x-forwarded-proto"] = "https"
    event = build_http_event(
        method=sample.method,
        raw_path=_fill(sample.route, sample.path_parameters),
        route_key="$default" if via_url else f"{sample.method} {sample.route}",
        path_parameters=sample.path_parameters or None,
        headers=headers,
        raw_query_string=sample.query,
        body=sample.body,
        source_ip=source_ip,
        api_id=FUNCTION_URL_ID if via_url else API_ID,
        now=now,
    )
    event["requestContext"]["requestId"] = _request_id(sample.name)  # build_http_event's is random
    # The headers API Gateway adds go last, as in the samples captured from AWS.
    added = ("x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
    sent = {key: value for key, value in event["headers"].items() if key not in added}
    event["headers"] = {**sent, **{key: event["headers"][key] for key in added}}
    return event


def samples() -> dict[str, dict[str, Any]]:
    """Sample name → its event, in a fixed order with a fixed clock."""
    api = _api_samples()
    shopify = _shopify_samples(START + timedelta(seconds=len(api)))
    later = _event_config_samples()
    ordered = [
        *api,
        *shopify,
        *later,
        *_delivery_samples(),
        *_analytics_samples(),
        *_access_samples(),
        *_customer_ops_samples(),
        *_tier_samples(),
        *_referral_samples(),
    ]
    ordered += _shopify_samples(START + timedelta(seconds=len(ordered)), MORE_SHOPIFY_TOPICS)
    ordered += _widget_samples()
    return {
        sample.name: _event(sample, START + timedelta(seconds=index)) for index, sample in enumerate(ordered)
    }


def main() -> None:
    for name, event in samples().items():
        path = EVENTS_DIR / f"{name}.json"
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
