"""Mint, verify and rotate customer tokens (see :mod:`pollen.domain.customer_tokens`).

Verification reads the keyring from the merchant's cached config: 0 DynamoDB calls on a warm
container. A token whose ``kid`` this container does not know yet (another container just rotated)
re-reads the config at most once per :data:`REFRESH_SECONDS` per merchant, so forged ``kid``s
cannot turn into a flood of reads.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from pollen.domain import customer_tokens as rules
from pollen.domain.customer_tokens import InvalidToken, Keyring
from pollen.domain.errors import RetryableConflict, Unauthenticated
from pollen.services.container import Container
from pollen.services.merchants import merchant_config
from pollen.storage.customer_tokens import keyring_of
from pollen.storage.errors import ConditionFailed

REFRESH_SECONDS = 5.0
BAD_TOKEN = "A valid customer token is required in the Authorization header (Bearer)."  # noqa: S105


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None`` when there is none."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(BAD_TOKEN)
    return token.strip()


def verify_token(c: Container, merchant_id: str, token: str, *, now: datetime) -> str:
    """The customer the token was minted for; any failure is the same 401."""
    try:
        kid = rules.kid_of(token)
        config = merchant_config(c, merchant_id)
        secret = keyring_of(config).find(kid, now)
        if secret is None:
            fresh = c.config.refresh(merchant_id, min_interval_seconds=REFRESH_SECONDS)
            secret = keyring_of(fresh).find(kid, now) if fresh else None
        if secret is None:
            raise InvalidToken("unknown kid")
        return rules.verify(secret, merchant_id, token, now=now)
    except InvalidToken as exc:
        raise Unauthenticated(BAD_TOKEN) from exc


def mint_token(
    c: Container, merchant_id: str, customer_id: str, *, ttl_seconds: int, now: datetime
) -> tuple[str, datetime]:
    """A token for ``customer_id``. The first token of a merchant creates its keyring (one write)."""
    ring = keyring_of(merchant_config(c, merchant_id))
    signing = ring.signing or _first_secret(c, merchant_id, now)
    return rules.mint(signing, merchant_id, customer_id, ttl_seconds=ttl_seconds, now=now)


def _first_secret(c: Container, merchant_id: str, now: datetime) -> rules.TokenSecret:
    uow = c.units.begin(merchant_id)
    uow.keyring.save(Keyring(secrets=[rules.new_secret(now)], version=1))
    with contextlib.suppress(ConditionFailed):  # another request created it first: use theirs
        uow.commit()
    c.config.invalidate(merchant_id)
    signing = keyring_of(merchant_config(c, merchant_id)).signing
    if signing is None:  # pragma: no cover - the keyring always has a signing secret once written
        raise RetryableConflict("The token keyring is being created; retry the request.")
    return signing


def rotate_secret(c: Container, merchant_id: str, *, grace_seconds: int, now: datetime) -> Keyring:
    """A new signing secret; older ones keep verifying for ``grace_seconds`` (0 revokes every token)."""
    from pollen.events.internal import CustomerTokenSecretRotatedPayload  # noqa: PLC0415 - admin's rare write

    merchant_config(c, merchant_id)  # 404 for an unknown merchant
    uow = c.units.begin(merchant_id)
    ring = uow.keyring.fetch().rotated(now, timedelta(seconds=grace_seconds))
    uow.keyring.save(ring)
    rotated = CustomerTokenSecretRotatedPayload(kid=ring.secrets[0].kid, grace_seconds=grace_seconds)
    uow.emit("customer_token_secret_rotated", rotated, customer_id=None, now=now)
    try:
        uow.commit(now=now)
    except ConditionFailed as exc:
        raise RetryableConflict("The token secrets were rotated concurrently; retry the request.") from exc
    finally:
        c.config.invalidate(merchant_id)
    return ring


def token_from_app_proxy(c: Container, raw_query: str, *, now: datetime) -> tuple[str, datetime]:
    """A token for the customer signed in on the storefront, from a verified App Proxy request.

    The proxy is signed with the app's client secret, which is also the key Shopify signs webhooks
    with (the connection's ``webhook_secret``). Unknown shop, bad signature, stale timestamp and no
    signed-in customer all get the same 401."""
    from pollen.integrations.shopify import app_proxy  # noqa: PLC0415 - only this route needs it

    refusal = Unauthenticated("The App Proxy signature could not be verified for a signed-in customer.")
    params = app_proxy.parse_query(raw_query)
    shop = params.get("shop", [""])[0]
    merchant_id = c.config.merchant_for_shop(shop) if len(params.get("shop", [])) == 1 else None
    config = c.config.get(merchant_id) if merchant_id else None
    if merchant_id is None or config is None or config.shopify is None or config.shopify.redacted_at:
        raise refusal
    request = app_proxy.verify(config.shopify.webhook_secret, params, now=now)
    if request is None or request.customer_id is None or request.shop.lower() != config.shopify.shop_domain:
        raise refusal
    return mint_token(c, merchant_id, request.customer_id, ttl_seconds=APP_PROXY_TTL_SECONDS, now=now)


APP_PROXY_TTL_SECONDS = 900
