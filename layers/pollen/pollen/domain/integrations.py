"""Integrations (Klaviyo, Omnisend, signed webhooks), event subscriptions and the rules that check them.

An :class:`Integration` is where events go and with which credentials; a :class:`Subscription` sends
one event of the catalogue to one integration, optionally filtered and with a name prefix. The
merchant's whole set, with the global switch, is an :class:`EventsConfig`, which answers where a
given event goes (:meth:`EventsConfig.routes`).

Credentials are stored in clear in the merchant's config partition (the integrations need them) and
never leave the admin API but masked; a generated webhook secret is shown once, when it is created.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from pollen.domain.errors import FieldError, ValidationFailed
from pollen.domain.event_filters import EventFilters, EventTypes, RoutedEvent, filters_allow
from pollen.domain.strict import Switch
from pollen.domain.values import value
from pollen.model import BaseModel

IntegrationId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
SubscriptionId = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]
NamePrefix = Annotated[str, StringConstraints(max_length=100)]


class IntegrationKind(StrEnum):
    KLAVIYO = "klaviyo"
    OMNISEND = "omnisend"
    WEBHOOK = "webhook"


class OmnisendApi(StrEnum):
    """Which Omnisend events endpoint a key talks to: the dated API (``/api/events`` with an
    ``Omnisend-Version`` header) for new integrations, the legacy ``/v5/events`` for those stored
    before Pollen supported the dated one (their keys keep working unchanged)."""

    V2026_03_15 = "2026-03-15"
    V5 = "v5"


class PrimarySelector(StrEnum):
    """How a Pollen customer maps to the tool's profile: by email or by mobile number."""

    EMAIL = "email"
    MOBILE = "mobile"


# ---- webhook secrets and URLs ------------------------------------------------------------------

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_MIN_BYTES = 24  # the Standard Webhooks spec: secrets of 24 to 64 random bytes
SECRET_MAX_BYTES = 64
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def generate_webhook_secret(nbytes: int = 32) -> str:
    """A fresh signing secret in the Standard Webhooks form: ``whsec_`` + base64 of random bytes."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def webhook_secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for (ValueError when it is not one)."""
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {WEBHOOK_SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from exc
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise ValueError(f"a webhook secret holds {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes")
    return key


def _check_secret(secret: str) -> str:
    webhook_secret_key(secret)
    return secret


def check_webhook_url(url: str) -> str:
    """https, or http for this machine only (local receivers in development). ValueError otherwise."""
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError("the URL must be ASCII with no spaces (percent-encode anything else)")
    parts = urlsplit(url)
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError("the URL's port is not a number from 0 to 65535") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"https", "http"} or not host:
        raise ValueError("the URL must be an absolute https:// URL")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValueError("the URL must use https (http is allowed for localhost and 127.0.0.1 only)")
    if parts.username or parts.password:
        raise ValueError("the URL must not carry credentials; receivers verify the signature instead")
    if parts.fragment:
        raise ValueError("the URL must not have a #fragment")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None  # a name, not an address literal
    if address is not None and address.is_unspecified:
        raise ValueError("the URL's host is not an address one can send to")
    return url


WebhookUrl = Annotated[str, StringConstraints(max_length=2048), AfterValidator(check_webhook_url)]
WebhookSecret = Annotated[str, StringConstraints(max_length=200), AfterValidator(_check_secret)]


def _check_api_key(key: str) -> str:
    if "…" in key:
        raise ValueError(
            "this looks like a masked key; send the key itself, or omit it to keep the stored one"
        )
    if not key.isascii() or not key.isprintable() or any(ch.isspace() for ch in key):
        raise ValueError("an API key is printable ASCII with no spaces")
    return key


# Published formats: a Klaviyo private key is "pk_" and letters/digits; an Omnisend key is groups of
# letters and digits joined by "-". Checked when stored, so a key that can never authenticate (or
# cannot even go in an HTTP header) is a 422 now rather than a dead letter per event later.
API_KEY_FORMATS: dict[str, tuple[str, str]] = {
    "klaviyo": (r"^pk_[A-Za-z0-9_]{8,200}$", "a Klaviyo private API key starts with pk_"),
    "omnisend": (r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$", "an Omnisend API key is letters and digits joined by -"),
}


def check_api_key_format(kind: str, key: str) -> None:
    pattern, message = API_KEY_FORMATS[kind]
    if not re.fullmatch(pattern, key) or len(key) < 10:
        raise ValueError(message)


ApiKeyValue = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=512),
    AfterValidator(_check_api_key),
]


def mask(secret: str) -> str:
    """``pk_…abcd``: a short alphabetic prefix (``pk_``, ``whsec_``) and the last four characters."""
    head, sep, _ = secret.partition("_")
    prefix = f"{head}_" if sep and len(head) <= 6 else ""
    tail = secret[-4:] if len(secret) >= 16 else ""
    return f"{prefix}…{tail}"


# ---- stored forms --------------------------------------------------------------------------------


class Integration(BaseModel):
    """Stored form: credentials in clear, never returned by the API (see :func:`mask`)."""

    model_config = ConfigDict(frozen=True)

    integration_id: IntegrationId
    kind: IntegrationKind
    enabled: bool
    api_key: str | None = None  # klaviyo / omnisend
    primary_selector: PrimarySelector | None = None  # klaviyo / omnisend
    url: str | None = None  # webhook
    secret: str | None = None  # webhook: "whsec_" + base64
    omnisend_api: OmnisendApi | None = None  # omnisend; None (stored before the choice) is v5
    profile_property_prefix: str = ""  # klaviyo / omnisend: put in front of each profile property
    key_check: str | None = None  # klaviyo / omnisend: verified | unverified, when the key was saved
    key_check_detail: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def omnisend_endpoint(self) -> OmnisendApi:
        return self.omnisend_api or OmnisendApi.V5

    @model_validator(mode="after")
    def _credentials_fit_the_kind(self) -> Self:
        if self.kind == IntegrationKind.WEBHOOK:
            if not self.url or not self.secret or self.api_key or self.primary_selector:
                raise ValueError("a webhook integration has a url and a secret, and nothing else")
        elif not self.api_key or not self.primary_selector or self.url or self.secret:
            raise ValueError(f"a {self.kind} integration has an api_key and a primary_selector")
        return self


class Subscription(BaseModel):
    """Send ``event`` to ``integration_id``, named ``name_prefix`` + the event's display name."""

    model_config = ConfigDict(frozen=True)

    subscription_id: str
    event: str
    integration_id: str
    name_prefix: str = ""
    filters: EventFilters = Field(default_factory=EventFilters)
    enabled: bool = True
    created_at: datetime
    updated_at: datetime


@value
class EventsConfig:
    enabled: bool  # the global switch (default True)
    integrations: dict[str, Integration]
    subscriptions: list[Subscription]

    def routes(self, event: RoutedEvent, events: EventTypes) -> list[tuple[Subscription, Integration]]:
        """Where ``event`` goes: each enabled subscription to it whose integration exists and is
        enabled and whose filters let it through. Nothing when the switch is off or the event is
        internal (not among ``events``, the catalogue's deliverable events)."""
        supported = events.get(event.event_type)
        if not self.enabled or supported is None:
            return []
        found = []
        for subscription in self.subscriptions:
            if not subscription.enabled or subscription.event != event.event_type:
                continue
            integration = self.integrations.get(subscription.integration_id)
            if integration is None or not integration.enabled:
                continue
            if filters_allow(subscription.filters, supported, event.payload):
                found.append((subscription, integration))
        return found


# ---- admin input ---------------------------------------------------------------------------------


class ToolIntegrationInput(BaseModel):
    """Klaviyo or Omnisend. ``api_key`` may be omitted when replacing an integration of the same
    kind: the stored key is kept (so ``enabled`` can be toggled without re-entering it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal[IntegrationKind.KLAVIYO, IntegrationKind.OMNISEND]
    api_key: ApiKeyValue | None = Field(default=None, description="Private API key; write-only.")
    primary_selector: PrimarySelector = Field(
        default=PrimarySelector.EMAIL,
        description="email or mobile: how a customer maps to the tool's profile. "
        "Customers without that field are skipped.",
    )
    profile_property_prefix: NamePrefix = Field(
        default="",
        description="Put in front of each synced profile property (balance, pending, next_expiry_date...).",
    )
    omnisend_api: OmnisendApi | None = Field(
        default=None,
        description="omnisend only: the dated API (2026-03-15, the default for new integrations) or the "
        "legacy v5 endpoint; omitted keeps what is stored.",
    )
    enabled: Switch = True

    @model_validator(mode="after")
    def _key_fits_the_kind(self) -> Self:
        if self.api_key is not None:
            check_api_key_format(self.kind.value, self.api_key)
        return self


class WebhookIntegrationInput(BaseModel):
    """A signed webhook. Without ``secret`` the stored one is kept, or a new one is generated (shown once)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal[IntegrationKind.WEBHOOK]
    url: WebhookUrl = Field(description="https (http for localhost/127.0.0.1 only).")
    secret: WebhookSecret | None = Field(
        default=None, description="Standard Webhooks signing secret, 'whsec_' + base64 of 24-64 bytes."
    )
    enabled: Switch = True


IntegrationInput = Annotated[ToolIntegrationInput | WebhookIntegrationInput, Field(discriminator="kind")]


def build_integration(
    integration_id: str,
    body: ToolIntegrationInput | WebhookIntegrationInput,
    existing: Integration | None,
    *,
    now: datetime,
) -> tuple[Integration, str | None]:
    """The integration a PUT stores, and the webhook secret generated for it (None if none was).

    Omitted credentials are kept from an existing integration of the same kind; a Klaviyo/Omnisend
    integration without any key is a 422."""
    same_kind = existing if existing is not None and existing.kind == body.kind else None
    created_at = existing.created_at if existing else now
    if isinstance(body, WebhookIntegrationInput):
        generated = None
        secret = body.secret or (same_kind.secret if same_kind else None)
        if secret is None:
            secret = generated = generate_webhook_secret()
        integration = Integration(
            integration_id=integration_id,
            kind=body.kind,
            enabled=body.enabled,
            url=body.url,
            secret=secret,
            created_at=created_at,
            updated_at=now,
        )
        return integration, generated
    api_key = body.api_key or (same_kind.api_key if same_kind else None)
    if api_key is None:
        message = f"A {body.kind.value} integration needs its api_key."
        raise ValidationFailed(message, errors=[FieldError("api_key", message, "missing")])
    omnisend_api = None
    if body.kind == IntegrationKind.OMNISEND:
        kept = same_kind.omnisend_endpoint if same_kind else OmnisendApi.V2026_03_15
        omnisend_api = body.omnisend_api or kept
    elif body.omnisend_api is not None:
        message = "omnisend_api applies to Omnisend integrations only."
        raise ValidationFailed(message, errors=[FieldError("omnisend_api", message, "not_applicable")])
    integration = Integration(
        integration_id=integration_id,
        kind=body.kind,
        enabled=body.enabled,
        api_key=api_key,
        primary_selector=body.primary_selector,
        omnisend_api=omnisend_api,
        profile_property_prefix=body.profile_property_prefix,
        created_at=created_at,
        updated_at=now,
    )
    return integration, None


class SubscriptionInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="A catalogue event (GET /v1/admin/event-types).", examples=["wallet_transaction"]
    )
    integration_id: IntegrationId
    name_prefix: NamePrefix = Field(default="", description="Put in front of the event's display name.")
    filters: EventFilters = Field(default_factory=EventFilters)
    enabled: Switch = True


def check_subscription(
    body: SubscriptionInput, integrations: dict[str, Integration], events: EventTypes
) -> None:
    """422 for an unknown event (not among ``events``, the catalogue's deliverable events), filters
    the event does not support, or an unknown integration."""
    errors = []
    supported = events.get(body.event)
    if supported is None:
        errors.append(
            FieldError(
                "event",
                f"'{body.event}' is not an event Pollen sends; see GET /v1/admin/event-types.",
                "unknown",
            )
        )
    else:
        for key in body.filters.used():
            if key not in supported:
                errors.append(
                    FieldError(
                        f"filters.{key}",
                        f"The '{body.event}' event cannot be filtered by {key}.",
                        "not_applicable",
                    )
                )
    if body.integration_id not in integrations:
        errors.append(FieldError("integration_id", "No integration with this id.", "unknown"))
    if errors:
        raise ValidationFailed("The subscription is not valid; see `errors`.", errors=errors)


def build_subscription(
    subscription_id: str, body: SubscriptionInput, existing: Subscription | None, *, now: datetime
) -> Subscription:
    return Subscription(
        subscription_id=subscription_id,
        event=body.event,
        integration_id=body.integration_id,
        name_prefix=body.name_prefix,
        filters=body.filters,
        enabled=body.enabled,
        created_at=existing.created_at if existing else now,
        updated_at=now,
    )
