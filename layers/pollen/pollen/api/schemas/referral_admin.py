"""Bodies of the referrals API's admin routes (the program settings, the store's referrals), apart from
the customer-facing ones: the admin router is included on the first admin request (docs/design.md,
"Cold start")."""

from __future__ import annotations

from datetime import datetime

from pollen.api.schemas.referrals import ReferralView
from pollen.domain.referrals import Referral, ReferralSettings, StoredReferralSettings
from pollen.model import BaseModel


class ReferralSettingsView(ReferralSettings):
    version: int
    updated_at: datetime | None

    @classmethod
    def of(cls, stored: StoredReferralSettings) -> ReferralSettingsView:
        return cls.model_validate(stored.model_dump())


class AdminReferralView(ReferralView):
    """What the merchant sees: who referred whom, the order, reminders."""

    referrer_customer_id: str
    friend_customer_id: str | None
    order_id: str | None
    order_total: str | None
    currency: str | None
    reminders_sent: int
    confirm_on: datetime | None

    @classmethod
    def of(cls, r: Referral) -> AdminReferralView:
        base = ReferralView.of(r).model_dump()
        return cls(
            **base,
            referrer_customer_id=r.referrer_id,
            friend_customer_id=r.friend_customer_id,
            order_id=r.order_id,
            order_total=str(r.order_total) if r.order_total is not None else None,
            currency=r.currency,
            reminders_sent=r.reminders_sent,
            confirm_on=r.confirm_on,
        )


class AdminReferralPage(BaseModel):
    items: list[AdminReferralView]
    next_cursor: str | None
