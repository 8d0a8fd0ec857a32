"""The deliverable event types, the filters each supports and what the tools call each, without the
catalogue's payload models.

Routing (the event router, every delivery's re-route) needs only these names, delivery only the
display names; the payload models, descriptions and samples of :mod:`pollen.events.catalogue` load
where a payload is parsed or shown (docs/design.md, "Cold start"). ``tests/unit/test_event_catalogue.py``
holds the two equal: a new catalogue entry is added here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pollen.domain.event_filters import EventTypes

if TYPE_CHECKING:
    from pollen.events.envelope import OutboxEvent

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

# The catalogue's display name of each (what a subscription's prefix goes in front of).
DISPLAY_NAMES: dict[str, str] = {
    WALLET_TRANSACTION: "Wallet Transaction",
    "coupon_created": "Coupon Is Created",
    "coupon_used": "Coupon Is Used",
    "coins_expiring": "Wallet Coins Expiring",
    "customer_created": "Customer Is Created",
    "profile_updated": "Loyalty Profile Updated",
    "tier_changed": "VIP Tier Changed",
    "tier_expiring": "VIP Tier Expiring",
    "referral_invited": "Referral Invited",
    "referral_signed_up": "Referral Signed Up",
    "referral_completed": "Referral Completed",
    "referral_rejected": "Referral Rejected",
    "referral_incomplete": "Referral Incomplete Reminder",
    "review_request": "Review Requested",
}

_WALLET_NAMES = {  # a wallet transaction is named by its transaction type (domain.wallet.TxnType)
    "reward": "Wallet Coins Rewarded",
    "redeem": "Wallet Coins Redeemed",
    "refund": "Wallet Coins Refunded",
    "expire": "Wallet Coins Expired",
    "adjust": "Wallet Coins Adjusted",
    "reversal": "Wallet Coins Reversed",
    "import": "Wallet Coins Imported",
}


def event_display_name(event: OutboxEvent) -> str:
    """The default metric name of this concrete event (the subscription's prefix goes in front).
    ValueError for an event that is not deliverable."""
    name = DISPLAY_NAMES.get(event.event_type)
    if name is None:
        raise ValueError(f"{event.event_type!r} is not a deliverable event")
    if event.event_type == WALLET_TRANSACTION:
        return _WALLET_NAMES.get(str(event.payload.get("transaction_type")), name)
    return name
