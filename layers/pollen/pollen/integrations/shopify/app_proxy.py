"""Shopify App Proxy requests, pure: the ``signature`` Shopify adds to every proxied query.

Shopify forwards a storefront request (``https://<shop>/apps/<prefix>/...``) to the app's proxy URL
and appends ``shop``, ``logged_in_customer_id`` (blank when nobody is signed in), ``path_prefix``,
``timestamp`` and ``signature``: the hex HMAC-SHA256, keyed with the app's client secret, of every
other query parameter written ``key=value`` (values of a repeated key joined with ``,``), sorted,
and concatenated with no separator.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import parse_qs

from pollen.domain.values import value

MAX_AGE_SECONDS = 300  # a proxied request is signed as it passes through Shopify


@value
class ProxyRequest:
    shop: str
    customer_id: str | None  # the signed-in customer, or None for a guest


def signature(secret: str, params: dict[str, list[str]]) -> str:
    message = "".join(
        sorted(f"{key}={','.join(values)}" for key, values in params.items() if key != "signature")
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def parse_query(raw_query: str) -> dict[str, list[str]]:
    return parse_qs(raw_query, keep_blank_values=True)


def verify(secret: str, params: dict[str, list[str]], *, now: datetime) -> ProxyRequest | None:
    """The verified request, or ``None`` when the signature, shop or timestamp does not hold."""
    presented = params.get("signature", [])
    shop = params.get("shop", [])
    stamp = params.get("timestamp", [])
    if not secret or len(presented) != 1 or len(shop) != 1 or len(stamp) != 1:
        return None
    if not hmac.compare_digest(signature(secret, params).encode(), presented[0].encode()):
        return None
    try:
        age = now.timestamp() - int(stamp[0])
    except ValueError:
        return None
    if not -MAX_AGE_SECONDS <= age <= MAX_AGE_SECONDS:
        return None
    customer = params.get("logged_in_customer_id", [""])
    return ProxyRequest(shop=shop[0], customer_id=customer[0] if len(customer) == 1 and customer[0] else None)
