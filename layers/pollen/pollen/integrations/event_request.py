"""What every outbound adapter shares: who the event is about, its properties, and skipping."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pollen.domain.integrations import Integration, PrimarySelector
from pollen.events.envelope import OutboxEvent

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")


class Skip(Exception):
    """Nothing is sent: the customer cannot be matched to a profile of the tool."""


def customer_of(event: OutboxEvent) -> dict[str, Any]:
    customer = event.payload.get("customer")
    return customer if isinstance(customer, dict) else {}


def e164(phone: str) -> str | None:
    """The number in E.164 (``+16135551111``), tolerating spaces, dashes, dots and brackets; None if
    it is not one (without a country code we cannot know it)."""
    compact = _PHONE_PUNCTUATION.sub("", phone)
    return compact if _E164.match(compact) else None


def identifier(integration: Integration, event: OutboxEvent) -> tuple[PrimarySelector, str]:
    """The customer's email or E.164 phone, per the integration's primary selector; :class:`Skip`
    when the customer has none."""
    customer = customer_of(event)
    if integration.primary_selector == PrimarySelector.MOBILE:
        phone = customer.get("phone")
        if not phone:
            raise Skip("the customer has no phone number (primary selector: mobile)")
        number = e164(str(phone))
        if number is None:
            raise Skip("the customer's phone number is not in E.164 form (+<country code><number>)")
        return PrimarySelector.MOBILE, number
    email = customer.get("email")
    if not email:
        raise Skip("the customer has no email (primary selector: email)")
    return PrimarySelector.EMAIL, str(email)


def jsonable(value: Any) -> Any:
    """Payloads read back from DynamoDB carry ``Decimal`` numbers: integral ones become ints, others
    decimal strings (money is never a float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def json_number(amount: Any) -> float:
    """A decimal amount as a JSON number, for fields a tool wants numeric (Klaviyo's ``value``).

    Only here, at the wire: ``float`` of a decimal with at most 15 significant digits round-trips,
    and Python writes the shortest repr, so ``Decimal("12.34")`` goes out as the text ``12.34``."""
    return float(Decimal(str(amount)))


def event_properties(event: OutboxEvent) -> dict[str, Any]:
    """The payload flattened for the tools: its fields, minus the customer object (the profile carries
    it), plus the customer id and the event's id and type. Top-level scalars segment in Klaviyo."""
    properties = {k: jsonable(v) for k, v in event.payload.items() if k != "customer"}
    properties["customer_id"] = customer_of(event).get("customer_id", event.customer_id)
    properties["event_id"] = event.event_id
    properties["event_type"] = event.event_type
    return properties
