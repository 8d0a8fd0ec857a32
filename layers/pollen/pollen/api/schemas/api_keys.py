from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from pollen.domain import api_keys as rules
from pollen.domain.api_keys import ApiKey, Scope
from pollen.model import BaseModel

KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]


class CreateApiKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        examples=["Mobile app"]
    )
    scope: Scope


class ApiKeyView(BaseModel):
    key_id: str
    name: str
    scope: Scope
    masked_key: str
    status: Literal["active", "revoked"]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyView:
        return cls(
            key_id=key.key_id,
            name=key.name,
            scope=key.scope,
            masked_key=rules.masked(key.merchant_id, key.key_id, key.hint),
            status="active" if key.active else "revoked",
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class CreatedApiKey(ApiKeyView):
    key: str = Field(description="The key itself. Shown once: store it now, Pollen keeps only its hash.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyView]
