"""The deliverable event types and the filters each supports, without the catalogue's payload models.

Routing (the event router, every delivery's re-route) needs only these names; the payload models,
descriptions and samples of :mod:`pollen.events.catalogue` load where a payload is parsed or shown
(docs/design.md, "Cold start"). ``tests/unit/test_event_catalogue.py`` holds the two equal: a new
catalogue entry is added here too.
"""

from __future__ import annotations

from pollen.domain.event_filters import EventTypes

WALLET_TRANSACTION = "wallet_transaction"

DELIVERABLE: EventTypes = {
    WALLET_TRANSACTION: ("transaction_types", "operations"),
    "coupon_created": (),
    "coupon_used": (),
    "coins_expiring": (),
    "customer_created": (),
    "profile_updated": (),
    "tier_changed": ("directions", "tiers"),
    "tier_expiring": ("tiers",),
    "referral_invited": (),
    "referral_signed_up": (),
    "referral_completed": ("referral_roles",),
    "referral_rejected": ("referral_reasons",),
    "referral_incomplete": (),
    "review_request": (),
}
