"""Bodies of the customer-token routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from pollen.domain.customer_tokens import (
    DEFAULT_GRACE_SECONDS,
    DEFAULT_TTL_SECONDS,
    MAX_GRACE_SECONDS,
    Keyring,
    TtlSeconds,
)
from pollen.domain.customers import CustomerId
from pollen.model import BaseModel


class MintTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId
    ttl_seconds: TtlSeconds = Field(
        default=DEFAULT_TTL_SECONDS, description="How long the token lives: 60 s to 24 h (default 1 h)."
    )


class CustomerToken(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>` beside the app key.")
    expires_at: datetime


class RotateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: Annotated[int, Field(ge=0, le=MAX_GRACE_SECONDS, strict=True)] = Field(
        default=DEFAULT_GRACE_SECONDS,
        description="How long tokens signed by the older secrets keep working (0 revokes them now).",
    )


class SecretView(BaseModel):
    kid: str
    created_at: datetime
    retires_at: datetime | None = Field(description="null for the secret that signs new tokens.")


class KeyringView(BaseModel):
    """The signing keys by id and lifetime; the secrets themselves are never shown."""

    keys: list[SecretView]

    @classmethod
    def of(cls, ring: Keyring) -> KeyringView:
        return cls(
            keys=[
                SecretView(kid=s.kid, created_at=s.created_at, retires_at=s.retires_at) for s in ring.secrets
            ]
        )
