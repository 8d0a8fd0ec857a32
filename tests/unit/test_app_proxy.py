"""Shopify App Proxy signatures, checked against the worked example on shopify.dev
("Authenticate app proxies": shared secret ``hush``, query ``extra=1&extra=2&shop=shop-name.myshopify.com
&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from pollen.integrations.shopify import app_proxy

SECRET = "hush"
SIGNED_AT = datetime.fromtimestamp(1317327555, UTC)
DOCUMENTED = "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"
QUERY = (
    "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1"
    "&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555"
)


def test_the_documented_example_signs_to_the_documented_signature() -> None:
    params = app_proxy.parse_query(QUERY)
    assert app_proxy.signature(SECRET, params) == DOCUMENTED  # repeated keys joined with ","
    verified = app_proxy.verify(
        SECRET, app_proxy.parse_query(f"{QUERY}&signature={DOCUMENTED}"), now=SIGNED_AT
    )
    assert verified == app_proxy.ProxyRequest(shop="shop-name.myshopify.com", customer_id="1")


def test_tampered_forged_and_incomplete_queries_are_refused() -> None:
    signed = f"{QUERY}&signature={DOCUMENTED}"
    refused = [
        signed.replace("logged_in_customer_id=1", "logged_in_customer_id=2"),  # another customer
        signed.replace("extra=2", "extra=3"),
        signed.replace("shop-name", "other-shop"),
        f"{QUERY}&signature={DOCUMENTED.upper()}",
        f"{QUERY}&signature={'0' * 64}",
        QUERY,  # unsigned
        f"{QUERY}&signature={DOCUMENTED}&signature={DOCUMENTED}",
        signed.replace("&timestamp=1317327555", ""),
    ]
    for query in refused:
        assert app_proxy.verify(SECRET, app_proxy.parse_query(query), now=SIGNED_AT) is None, query
    assert app_proxy.verify("another-secret", app_proxy.parse_query(signed), now=SIGNED_AT) is None


def test_the_freshness_window_is_five_minutes_either_way() -> None:
    params = app_proxy.parse_query(f"{QUERY}&signature={DOCUMENTED}")
    window = timedelta(seconds=app_proxy.MAX_AGE_SECONDS)
    assert app_proxy.MAX_AGE_SECONDS == 300
    assert app_proxy.verify(SECRET, params, now=SIGNED_AT + window) is not None
    assert app_proxy.verify(SECRET, params, now=SIGNED_AT + window + timedelta(seconds=1)) is None  # replayed
    assert (
        app_proxy.verify(SECRET, params, now=SIGNED_AT - window - timedelta(seconds=1)) is None
    )  # clock skew


def test_a_guest_has_no_customer() -> None:
    fields = {
        "shop": "shop-name.myshopify.com",
        "logged_in_customer_id": "",
        "path_prefix": "/apps/pollen",
        "timestamp": "1317327555",
    }
    signature = app_proxy.signature(SECRET, {k: [v] for k, v in fields.items()})
    params = app_proxy.parse_query(urlencode({**fields, "signature": signature}))
    assert app_proxy.verify(SECRET, params, now=SIGNED_AT) == app_proxy.ProxyRequest(
        shop="shop-name.myshopify.com", customer_id=None
    )
