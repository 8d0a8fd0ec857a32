"""Redeeming coins for coupons, and cancelling unused coupons (coins back).

Without Shopify a redemption is one read and one transaction: the debit, its ledger entry and
event, the coupon (unique code, conditional put), ``coupon_created`` and the receipt.

With Shopify connected the coupon must also exist there, and the rule is: never coins taken
without a usable coupon, never a usable coupon without coins taken. The order is:

1. commit the debit and the coupon marked ``shopify: pending`` (plus a due-index marker);
2. create the discount in Shopify;
3. commit ``shopify: created`` with ``coupon_created`` — or, when Shopify surely did not create
   it, commit the compensation: coins restored to their lots (``refund``), the coupon cancelled,
   the receipt removed so the same Idempotency-Key can try again.

When Shopify's answer is unknown (timeout, 5xx) Pollen asks Shopify for the code: found means
created, absent means compensate. If even that fails the coupon stays pending, unusable in Pollen's
eyes, and is settled by a retry of the request or by the scheduled job that reads the marker.
Cancelling goes the other way round: the Shopify discount is deactivated first, then the coins
are restored, so a coupon is never usable after its coins came back.

By responsibility: :mod:`.views` (what the API shows), :mod:`.events` (what the outbox says),
:mod:`.redeem` (spending coins), :mod:`.shopify_saga` (the discount in Shopify and its
compensation), :mod:`.cancel` (coins back), :mod:`.settling` (the scheduled job's pass). The
coupon's own states and transitions are :class:`pollen.domain.coupons.Coupon`'s. Everything
other modules import is re-exported here.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pollen.services.redemption.cancel import cancel_coupon
    from pollen.services.redemption.events import (
        COUPON_CANCELLED,
        COUPON_CREATED,
        coupon_event,
        coupon_payload,
    )
    from pollen.services.redemption.redeeming import SETTLING, issue_coupon, redeem
    from pollen.services.redemption.settling import PENDING_GRACE, settle_pending
    from pollen.services.redemption.shopify_saga import compensate, confirm_shopify, settle_shopify
    from pollen.services.redemption.views import CouponView, Redeemed, RedeemRequest, list_coupons

# Each re-exported name's module, imported when one of its names is first used (PEP 562): the order,
# tier and referral paths need only the coupon events and do not load the redemption write path, the
# Shopify saga and the unit of work (docs/design.md, "Cold start").
_HOMES = {
    "cancel": ("cancel_coupon",),
    "events": ("COUPON_CANCELLED", "COUPON_CREATED", "coupon_event", "coupon_payload"),
    "redeeming": ("SETTLING", "issue_coupon", "redeem"),
    "settling": ("PENDING_GRACE", "settle_pending"),
    "shopify_saga": ("compensate", "confirm_shopify", "settle_shopify"),
    "views": ("CouponView", "RedeemRequest", "Redeemed", "list_coupons"),
}


if not TYPE_CHECKING:  # mypy sees the imports above; a typo stays a type error

    def __getattr__(name: str) -> object:
        home = next((module for module, names in _HOMES.items() if name in names), None)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        module = import_module(f"{__name__}.{home}")
        # All of the module's names at once. No submodule shares a name it exports: importing a
        # submodule sets the package's attribute of its name (``redeem.py`` once made ``redeem`` the
        # module wherever anything imported it by name, as walking the package does).
        for exported in _HOMES[home]:
            globals()[exported] = getattr(module, exported)
        return globals()[name]


__all__ = [
    "COUPON_CANCELLED",
    "COUPON_CREATED",
    "PENDING_GRACE",
    "SETTLING",
    "CouponView",
    "RedeemRequest",
    "Redeemed",
    "cancel_coupon",
    "compensate",
    "confirm_shopify",
    "coupon_event",
    "coupon_payload",
    "issue_coupon",
    "list_coupons",
    "redeem",
    "settle_pending",
    "settle_shopify",
]
