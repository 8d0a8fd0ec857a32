"""Payloads of the internal events: written to the outbox like the others (the stream routes and
audits them) but not in the catalogue, so never delivered to a merchant's tools. ``coupon_cancelled``
extends the catalogue's coupon payload, so it lives in :mod:`pollen.events.internal_coupons` and this
module does not load the catalogue."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from pollen.model import BaseModel


class _Internal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class ApiKeyCreatedPayload(_Internal):
    """``api_key_created`` (never the key or its hash)."""

    key_id: str
    name: str
    scope: str


class CustomerTokenSecretRotatedPayload(_Internal):
    """``customer_token_secret_rotated``: the new signing secret's id (never the secret)."""

    kid: str
    grace_seconds: int


class TiersUpdatedPayload(_Internal):
    """``tiers_updated``: the tier program's new version and its settings as the merchant set them."""

    version: int
    settings: dict[str, Any]


class IntegrationUpdatedPayload(_Internal):
    """``integration_updated``: the integration as stored, its credentials masked (never in clear)."""

    integration_id: str
    kind: str
    masked_api_key: str | None
    masked_secret: str | None


class IntegrationDeletedPayload(_Internal):
    """``integration_deleted``."""

    integration_id: str


class SubscriptionDeletedPayload(_Internal):
    """``event_subscription_deleted``."""

    subscription_id: str


class EventsSwitchPayload(_Internal):
    """``events_settings_updated``: the switch for every integration, and when it was set."""

    enabled: bool
    updated_at: str


class ApiKeyRevokedPayload(_Internal):
    """``api_key_revoked``."""

    key_id: str


class ProgramUpdatedPayload(_Internal):
    """``program_updated``: the new version and the settings as the merchant set them."""

    version: int
    settings: dict[str, Any]


class MerchantCreatedPayload(_Internal):
    """``merchant_created``."""

    name: str


class ShopifyConnectedPayload(_Internal):
    """``shopify_connected`` (never the token or the webhook secret)."""

    shop_domain: str
    api_version: str


class ReferralProgramUpdatedPayload(_Internal):
    """``referral_program_updated``: the new version and the settings as the merchant set them."""

    version: int
    settings: dict[str, Any]


class ReferralSharedPayload(_Internal):
    """``referral_shared``: a customer shared their referral link (analytics count it by channel)."""

    channel: str
