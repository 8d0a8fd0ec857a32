"""Bodies of the admin Shopify connection API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from pollen.domain.merchants import ShopifyConnection
from pollen.model import BaseModel

# The domain's default (held equal to integrations.shopify.versions.DEFAULT_VERSION by a test).
DEFAULT_VERSION: str = ShopifyConnection.model_fields["api_version"].default


class ShopifyConnectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_domain: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")]
    webhook_secret: Annotated[str, Field(pattern=r"^[\x21-\x7e]{8,200}$")] = Field(
        description="Shopify's webhook signing secret: 8-200 printable ASCII characters, no spaces."
    )
    admin_access_token: Annotated[str, Field(pattern=r"^shp[a-z]{2}_[A-Za-z0-9_]{8,200}$")] | None = Field(
        default=None,
        description="Admin API access token as Shopify issues it (shpat_ + letters and digits). Checked "
        "here, before it is stored: a token that cannot go in an HTTP header is refused now, not at "
        "the first redemption.",
    )
    api_version: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")] = Field(
        default=DEFAULT_VERSION,
        description="Admin API version; one Shopify still supports (422 otherwise).",
    )


class ShopifyConnectionView(BaseModel):
    """Secrets are write-only: the view says only whether they are set."""

    shop_domain: str
    api_version: str
    webhook_secret_set: bool
    admin_access_token_set: bool
    currency_check: str | None = Field(
        default=None,
        description="The shop's currency against the program's when connected: matches, adopted (the "
        "program had no history and took the shop's), unverified (Shopify unreachable: saved with a "
        "warning) or skipped (no admin access token).",
    )
    currency_check_detail: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, connection: ShopifyConnection) -> ShopifyConnectionView:
        return cls(
            shop_domain=connection.shop_domain,
            api_version=connection.api_version,
            webhook_secret_set=bool(connection.webhook_secret),
            admin_access_token_set=bool(connection.admin_access_token),
            currency_check=connection.currency_check,
            currency_check_detail=connection.currency_check_detail,
        )
