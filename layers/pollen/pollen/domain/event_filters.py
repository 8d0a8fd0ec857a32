"""Event filters: which events of a subscription are sent, matched on the raw payload (no parsing).

Which filters an event supports is the catalogue's knowledge (:mod:`pollen.events.catalogue`); the
domain receives it as :data:`EventTypes` (deliverable event name → the filters it supports).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Protocol

from pydantic import ConfigDict, Field, field_validator

from pollen.domain.ledger_terms import Operation, TxnType
from pollen.model import BaseModel

EventTypes = Mapping[str, tuple[str, ...]]


class RoutedEvent(Protocol):
    """What routing needs of an outbox event: its type and its payload."""

    @property
    def event_type(self) -> str: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


class EventFilters(BaseModel):
    """Restrictions on which events of a subscription are sent. A filter that is absent (or empty)
    does not restrict; a filter only applies to the events that list it in ``EventSpec.filters``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transaction_types: Annotated[
        list[TxnType] | None, Field(description="Send only these wallet transaction types.")
    ] = None
    operations: Annotated[
        list[Operation] | None, Field(description="Send only credits, only debits, or both.")
    ] = None
    directions: Annotated[
        list[Literal["up", "down"]] | None, Field(description="Tier changes: only upgrades or downgrades.")
    ] = None
    tiers: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]] | None,
        Field(description="Tier events: only about these tier ids (the tier reached, or lost)."),
    ] = None

    referral_roles: Annotated[
        list[Literal["referrer", "friend"]] | None, Field(description="referral_completed: only this side.")
    ] = None
    referral_reasons: Annotated[
        list[str] | None, Field(description="referral_rejected: only these reason codes.")
    ] = None

    @field_validator(
        "transaction_types",
        "operations",
        "directions",
        "tiers",
        "referral_roles",
        "referral_reasons",
        mode="after",
    )
    @classmethod
    def _empty_is_no_restriction(cls, value: list[Any] | None) -> list[Any] | None:
        return sorted(set(value)) if value else None

    def used(self) -> dict[str, list[str]]:
        """The filters set: key → allowed values."""
        return {key: [str(v) for v in values] for key, values in self if values is not None}


# Filter key → the payload field it restricts. A new filter is a field above and a line here.
FILTERED_FIELD: dict[str, str] = {
    "transaction_types": "transaction_type",
    "operations": "operation",
    "directions": "direction",
    "tiers": "tier",
    "referral_roles": "role",
    "referral_reasons": "reason",
}


def filters_allow(
    filters: EventFilters, supported: tuple[str, ...] | None, payload: Mapping[str, Any]
) -> bool:
    """True when every filter set allows ``payload``; ``supported`` are the filters the event's type
    supports (None: not a deliverable event)."""
    for key, allowed in filters.used().items():
        if supported is None or key not in supported:
            return False  # validation keeps such subscriptions out; never send on a filter we can't apply
        if str(payload.get(FILTERED_FIELD[key])) not in allowed:
            return False
    return True
