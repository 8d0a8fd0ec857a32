"""A merchant: one store running a Pollen program."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from pollen.model import BaseModel

MerchantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class Merchant(BaseModel):
    model_config = ConfigDict(frozen=True)

    merchant_id: MerchantId
    name: str
    created_at: datetime


class ShopifyConnection(BaseModel):
    """How Shopify reaches this merchant. Secrets are write-only: never returned by the API."""

    model_config = ConfigDict(frozen=True)

    shop_domain: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")]
    webhook_secret: str = Field(repr=False)
    admin_access_token: str | None = Field(default=None, repr=False)
    api_version: str = "2026-10"  # = integrations.shopify.versions.DEFAULT_VERSION (a test holds them equal)
    redacted_at: datetime | None = Field(
        default=None, description="Set by Shopify's shop/redact: the shop is gone (access token erased)."
    )
    # the shop's currency when connected: matches | adopted | unverified | skipped (services/shop_currency)
    currency_check: str | None = None
    currency_check_detail: str | None = None
