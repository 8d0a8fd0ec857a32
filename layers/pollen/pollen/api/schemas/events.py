"""Admin API shapes for the event catalogue, integrations, subscriptions and the events switch."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from pollen.domain.integrations import (
    Integration,
    IntegrationKind,
    OmnisendApi,
    PrimarySelector,
    Subscription,
    mask,
)
from pollen.domain.strict import Switch
from pollen.events.catalogue import EventSpec
from pollen.model import BaseModel


class EventTypeView(BaseModel):
    name: str = Field(examples=["wallet_transaction"])
    display_name: str = Field(
        description="The default event (metric) name in the tool; a prefix goes in front."
    )
    description: str
    fields: dict[str, str] = Field(description="Payload field -> what it holds.")
    filters: list[str] = Field(description="Filter keys a subscription to this event may use.")

    @classmethod
    def of(cls, spec: EventSpec) -> EventTypeView:
        return cls(
            name=spec.name,
            display_name=spec.display_name,
            description=spec.description,
            fields=spec.fields,
            filters=list(spec.filters),
        )


class EventTypeList(BaseModel):
    items: list[EventTypeView]


class IntegrationView(BaseModel):
    """An integration as the API shows it: credentials masked, never in full."""

    integration_id: str
    kind: IntegrationKind
    enabled: bool
    primary_selector: PrimarySelector | None = Field(description="klaviyo / omnisend.")
    masked_api_key: str | None = Field(description="klaviyo / omnisend: the key, masked (pk_…abcd).")
    url: str | None = Field(description="webhook.")
    masked_secret: str | None = Field(description="webhook: the signing secret, masked (whsec_…abcd).")
    omnisend_api: OmnisendApi | None = Field(default=None, description="omnisend: 2026-03-15 or v5.")
    profile_property_prefix: str = Field(default="", description="klaviyo / omnisend.")
    key_check: str | None = Field(
        default=None,
        description="klaviyo / omnisend: verified (the service accepted the key when it was saved) or "
        "unverified (the service could not be reached; the key is kept, check the delivery log).",
    )
    key_check_detail: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, integration: Integration) -> IntegrationView:
        return cls(
            integration_id=integration.integration_id,
            kind=integration.kind,
            enabled=integration.enabled,
            primary_selector=integration.primary_selector,
            masked_api_key=mask(integration.api_key) if integration.api_key else None,
            url=integration.url,
            masked_secret=mask(integration.secret) if integration.secret else None,
            omnisend_api=integration.omnisend_endpoint
            if integration.kind == IntegrationKind.OMNISEND
            else None,
            profile_property_prefix=integration.profile_property_prefix,
            key_check=integration.key_check,
            key_check_detail=integration.key_check_detail,
            created_at=integration.created_at,
            updated_at=integration.updated_at,
        )


class WrittenIntegration(IntegrationView):
    secret: str | None = Field(
        default=None,
        description="The webhook signing secret Pollen generated for this request. Shown once: store it "
        "now; afterwards only its masked form is shown. Null when none was generated.",
    )


class IntegrationList(BaseModel):
    items: list[IntegrationView]


class SubscriptionList(BaseModel):
    items: list[Subscription]


class EventsSettingsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: Switch = Field(description="The global switch: off, no event is sent to any integration.")


class EventsSettings(BaseModel):
    enabled: bool
    updated_at: datetime | None = Field(description="When the switch was last set; null if never.")
